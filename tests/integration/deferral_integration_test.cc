// Deferral end to end: a LimaCharlie look-alike POSTs signed webhooks to the
// real gateway (ServerApp), whose request budget is set small in front of
// the HaloPSA simulator (itself rate limited, over loopback TLS). A write the
// budget cannot serve within the gateway's wait bound is answered with a
// continuation; the continuation runs it once; replays of it, and the
// original redelivered, answer the same reply and make no second ticket.
// With the gateway's replies in this process, and in a real redis-server.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "app/server_app.h"
#include "simulator/halo_simulator.h"
#include "tests/testing/child_process.h"
#include "tests/testing/json_matchers.h"
#include "tests/testing/lc_over_http.h"
#include "tests/testing/lc_test_client.h"
#include "tests/testing/loopback_config.h"
#include "tests/testing/loopback_stack.h"
#include "tests/testing/redis_server_process.h"
#include "tests/testing/test_http_client.h"
#include "tests/testing/test_support.h"

namespace halopsa::lc {
namespace {

using halopsa::testing::JsonEq;
using testing::Reply;

constexpr char kSigningSecret[] = "lc-deferral-extension-secret";
constexpr char kClientId[] = "lc-deferral-client";
constexpr char kHaloSecret[] = "halo-deferral-secret";
// One request per window through the service's budget; the gateway waits
// at most a second for it, so the second write in a window is deferred.
constexpr absl::Duration kBudgetWindow = absl::Seconds(3);
constexpr absl::Duration kBudgetWait = absl::Seconds(1);
constexpr char kDeferredTicket[] = R"({"summary":"Deferred by the budget","client_id":12,"site_id":18})";

// Where the gateway keeps its replies: "in_process" or "in_redis".
class DeferralIntegrationTest : public halopsa::testing::LoopbackStackTest<::testing::TestWithParam<std::string>> {
 protected:
  void SetUp() override {
    ASSERT_TRUE(StartSimulator(kClientId, kHaloSecret));
    // HaloPSA's own limit, above the service's budget (the token request
    // counts here too): the budget keeps every request under it.
    ASSERT_TRUE(sim_->SetFaults({.rate_limit_requests = 2, .rate_limit_window = kBudgetWindow}).ok());
    ServerConfig config = halopsa::testing::LoopbackGatewayConfig(log_, kSigningSecret);
    config.admin_listen = "127.0.0.1:0";
    if (GetParam() == "in_redis") {
      auto redis = halopsa::testing::RedisServerProcess::Start();
      ASSERT_TRUE(redis.ok()) << redis.status();
      redis_ = *std::move(redis);
      config.redis_url = redis_->url();
    }
    config.gateway.call_deadline = kBudgetWait;
    config.rate_limit.max_requests = 1;
    config.rate_limit.window = kBudgetWindow;
    ASSERT_TRUE(StartServer(config));
  }

  Reply Request(absl::string_view action, absl::string_view data, absl::string_view key) const {
    const testing::Config config = {
        {"instance_url", sim_->base_url()}, {"client_id", kClientId}, {"client_secret", kHaloSecret}};
    return testing::LimaCharlieAt(app_->gateway_port(), kSigningSecret)
        .Send(testing::RequestEnvelope(org_, action, data, config, key));
  }

  // What LimaCharlie does with a deferral: waits in_delay_sec (its own
  // schedule, not a synchronisation), then calls the continuation's action
  // with its state as data, keyed "<parent key>:<level>".
  Reply Continue(const Reply& deferred, absl::string_view key) const {
    const rapidjson::Value& continuation = deferred.json["continuations"][0];
    absl::SleepFor(absl::Seconds(continuation["in_delay_sec"].GetInt()));
    return Request(continuation["action"].GetString(), testing::Json(continuation["state"]), key);
  }

  int TicketsNamed(absl::string_view summary) const {
    int count = 0;
    for (const auto& ticket : sim_->tickets()) {
      auto field = ticket.fields().find("summary");
      count += field != ticket.fields().end() && field->second.string_value() == summary;
    }
    return count;
  }

  testing::TestOrg org_;
  std::unique_ptr<halopsa::testing::RedisServerProcess> redis_;
};

TEST_P(DeferralIntegrationTest, DeferredThenRunOnceByItsContinuation) {
  Reply filler = Request("create_ticket", R"({"summary":"Takes the window's request","client_id":12})", "filler-1");
  ASSERT_EQ(filler.status, 200) << filler.body;

  Reply deferred = Request("create_ticket", kDeferredTicket, "storm-7");
  ASSERT_EQ(deferred.status, 200) << deferred.body;
  const int delay = deferred.data()["retry_in_sec"].GetInt();
  EXPECT_GE(delay, 1);
  EXPECT_LE(delay, 3);
  EXPECT_THAT(deferred.body,
              JsonEq(absl::StrCat(R"({"version":20221218,"data":{"deferred":true,"retry_in_sec":)", delay,
                                      R"(},"continuations":[{"in_delay_sec":)", delay,
                                      R"(,"action":"run_deferred","state":{"action":"create_ticket","data":)",
                                      kDeferredTicket, R"(,"idempotency_key":"storm-7"}}]})")));
  EXPECT_EQ(TicketsNamed("Deferred by the budget"), 0);

  // The continuation runs it (or defers again, which a busy budget may do).
  Reply ran = Continue(deferred, "storm-7:1");
  for (int level = 2; level <= 4 && ran.status == 200 && ran.data().HasMember("deferred"); ++level) {
    ran = Continue(ran, absl::StrCat("storm-7:", level));
  }
  ASSERT_EQ(ran.status, 200) << ran.body;
  ASSERT_TRUE(ran.data()["id"].IsInt()) << ran.body;
  EXPECT_STREQ(ran.data()["summary"].GetString(), "Deferred by the budget");
  EXPECT_EQ(TicketsNamed("Deferred by the budget"), 1);

  // LimaCharlie delivering the continuation again, and the original again:
  // the same reply, no second ticket.
  EXPECT_EQ(Request("run_deferred", testing::Json(deferred.json["continuations"][0]["state"]), "storm-7:1").body,
            ran.body);
  EXPECT_EQ(Request("create_ticket", kDeferredTicket, "storm-7").body, ran.body);
  EXPECT_EQ(TicketsNamed("Deferred by the budget"), 1);
  EXPECT_EQ(sim_->fault_counters().rate_limited, 0);
  // Continuations count under their own action, not as unknown ones.
  auto metrics = halopsa::testing::Fetch(app_->admin_port(), false, "GET", "/metrics", "", {});
  ASSERT_TRUE(metrics.ok()) << metrics.status();
  EXPECT_THAT(metrics->body,
              ::testing::HasSubstr("halopsa_gateway_requests_total{kind=\"run_deferred\",status=\"200\"}"));
  EXPECT_THAT(metrics->body, ::testing::Not(::testing::HasSubstr("kind=\"unknown\"")));
  EXPECT_THAT(metrics->body, ::testing::HasSubstr("halopsa_gateway_deferrals_total{kind=\"create_ticket\"} 1\n"));
}

INSTANTIATE_TEST_SUITE_P(Replies, DeferralIntegrationTest, ::testing::Values("in_process", "in_redis"),
                         [](const ::testing::TestParamInfo<std::string>& info) { return info.param; });

// A wait past LimaCharlie's ~2-minute webhook timeout would turn every
// deferral into a timeout and a redelivery: the server refuses it.
TEST(GatewayBudgetWaitFlagTest, AWaitBeyondLimaCharliesWindowIsRefusedAtStart) {
  const std::string log = ::testing::TempDir() + "gateway-budget-wait.log";
  auto server = halopsa::testing::ChildProcess::Spawn(
      HALOPSA_SERVER_BINARY, {"--grpc_listen=127.0.0.1:0", "--gateway_listen=127.0.0.1:0", "--admin_listen="},
      {"HALOPSA_GATEWAY_BUDGET_WAIT=3m", "LC_EXTENSION_SECRET=signing-key", "HALOPSA_GRPC_PLAINTEXT=true"}, log);
  ASSERT_TRUE(server.ok()) << server.status();
  absl::StatusOr<int> exit_code = (*server)->WaitForExit(absl::Seconds(20));
  ASSERT_TRUE(exit_code.ok()) << exit_code.status();
  EXPECT_NE(*exit_code, 0);
  EXPECT_THAT(halopsa::testing::ReadFile(log).value_or(""),
              ::testing::HasSubstr("gateway_budget_wait must be more than 0 and at most 1m55s"));
}

}  // namespace
}  // namespace halopsa::lc

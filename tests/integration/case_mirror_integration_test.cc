// The case mirror end to end (issue 15): a LimaCharlie look-alike POSTs
// signed, gzipped mirror_case and pull_ticket_changes webhooks to the real
// gateway (ServerApp), which works against the HaloPSA simulator over
// loopback TLS, all on port 0. A case mirrored and updated several times is
// one ticket, also when copies race on two replicas sharing Redis; a
// technician's status change and note come back exactly once; the
// service's own writes never come back.

#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "server/json_values.h"
#include "simulator/halo_simulator.h"
#include "tests/testing/lc_over_http.h"
#include "tests/testing/lc_test_client.h"
#include "tests/testing/loopback_config.h"
#include "tests/testing/loopback_stack.h"
#include "tests/testing/redis_server_process.h"

namespace halopsa::lc {
namespace {

using testing::Reply;

constexpr char kSigningSecret[] = "lc-case-mirror-extension-secret";
constexpr char kClientId[] = "lc-case-mirror-client";
constexpr char kHaloSecret[] = "halo-case-mirror-secret";
constexpr char kCaseLine[] = "ext-halopsa case LimaCharlie case-4711";
constexpr int kAlice = 1;  // a technician of the simulated tenant

class CaseMirrorIntegrationTest : public halopsa::testing::LoopbackStackTest<> {
 protected:
  void SetUp() override { ASSERT_TRUE(StartSimulator(kClientId, kHaloSecret)); }

  void TearDown() override {
    second_.reset();  // its pooled connections would hold up the simulator's shutdown
    LoopbackStackTest::TearDown();
  }

  ServerConfig GatewayConfig(const std::string& redis_url = "") {
    ServerConfig config = halopsa::testing::LoopbackGatewayConfig(log_, kSigningSecret);
    config.redis_url = redis_url;
    config.rate_limit.max_requests = 0;  // the request budget's pacing is other suites' subject
    return config;
  }

  // One action as LimaCharlie delivers it to the gateway on `port` (0: the
  // first replica's); the answer's data.
  std::string Call(absl::string_view action, absl::string_view data, absl::string_view key, int port = 0) const {
    const testing::Config config = {
        {"instance_url", sim_->base_url()}, {"client_id", kClientId}, {"client_secret", kHaloSecret}};
    // LimaCharlie waits about two minutes for an answer; mirrors of one case wait for each other.
    Reply reply = testing::LimaCharlieAt(port != 0 ? port : app_->gateway_port(), kSigningSecret, absl::Seconds(60))
                      .Send(testing::RequestEnvelope(org_, action, data, config, key));
    EXPECT_EQ(reply.status, 200) << action << ": " << reply.body;
    return testing::Json(reply.data());
  }

  google::protobuf::Struct Mirror(absl::string_view data, absl::string_view key, int port = 0) const {
    absl::StatusOr<google::protobuf::Value> answer = ParseJson(Call("mirror_case", data, key, port));
    EXPECT_TRUE(answer.ok());
    return answer.ok() ? answer->struct_value() : google::protobuf::Struct();
  }

  google::protobuf::Struct Pull(absl::string_view watermark, absl::string_view key) const {
    absl::StatusOr<google::protobuf::Value> answer =
        ParseJson(Call("pull_ticket_changes", absl::StrCat(R"({"watermark": ")", watermark, R"("})"), key));
    EXPECT_TRUE(answer.ok());
    return answer.ok() ? answer->struct_value() : google::protobuf::Struct();
  }

  std::vector<int> CaseTickets(absl::string_view line = kCaseLine) const {
    std::vector<int> ids;
    for (const auto& ticket : sim_->tickets()) {
      if (absl::StrContains(StringField(ticket, "details"), line)) ids.push_back(*IntField(ticket, "id"));
    }
    return ids;
  }

  static const google::protobuf::ListValue& Changes(const google::protobuf::Struct& pulled) {
    return pulled.fields().at("changes").list_value();
  }

  testing::TestOrg org_;
  std::unique_ptr<ServerApp> second_;
};

TEST_F(CaseMirrorIntegrationTest, OneTicketPerCaseAndOnlyATechniciansChangesComeBackOnce) {
  ASSERT_TRUE(StartServer(GatewayConfig()));
  google::protobuf::Struct first = Mirror(
      R"({"case_id": "case-4711", "summary": "Ransomware on host1", "details": "Opened in LimaCharlie",
          "client_id": "12", "site_id": 18, "priority_id": 2})",
      "mirror-1");
  EXPECT_TRUE(first.fields().at("created").bool_value());
  const int ticket = *IntField(first, "ticket_id");
  for (const auto& [key, data] : std::vector<std::pair<std::string, std::string>>{
           {"mirror-2", R"({"case_id": "case-4711", "status_id": 2, "note": "LimaCharlie: isolating host1"})"},
           {"mirror-3", R"json({"case_id": "case-4711", "summary": "Ransomware on host1 (contained)"})json"},
           {"mirror-4", R"({"case_id": "case-4711", "priority_id": 1, "note": "LimaCharlie: host1 isolated"})"}}) {
    google::protobuf::Struct update = Mirror(data, key);
    EXPECT_EQ(IntField(update, "ticket_id"), ticket) << key;
    EXPECT_FALSE(update.fields().at("created").bool_value()) << key;
  }
  EXPECT_THAT(CaseTickets(), ::testing::ElementsAre(ticket));
  EXPECT_EQ(StringField(*sim_->ticket(ticket), "summary"), "Ransomware on host1 (contained)");

  // Only the service wrote so far: nothing comes back.
  google::protobuf::Struct quiet = Pull("", "pull-1");
  EXPECT_TRUE(Changes(quiet).values().empty());
  const std::string watermark = StringField(quiet, "watermark");

  ASSERT_TRUE(sim_->TechnicianAction(kAlice, ticket, "Alice: reimaged host1, closing", 9).has_value());
  google::protobuf::Struct pulled = Pull(watermark, "pull-2");
  ASSERT_EQ(Changes(pulled).values_size(), 1);
  const google::protobuf::Struct& change = Changes(pulled).values(0).struct_value();
  EXPECT_EQ(IntField(change, "ticket_id"), ticket);
  EXPECT_EQ(StringField(change, "case_id"), "case-4711");
  EXPECT_EQ(IntField(change, "status_id"), 9);
  EXPECT_EQ(StringField(change, "case_status"), "closed");
  const google::protobuf::ListValue& actions = change.fields().at("actions").list_value();
  ASSERT_EQ(actions.values_size(), 1);  // the service's two notes are not among them
  EXPECT_EQ(StringField(actions.values(0).struct_value(), "text"), "Alice: reimaged host1, closing");
  EXPECT_EQ(StringField(actions.values(0).struct_value(), "author"), "Alice");

  // The service writes again (same second or later): neither that nor the
  // technician's change comes back a second time.
  Mirror(R"({"case_id": "case-4711", "note": "LimaCharlie: case closed"})", "mirror-5");
  google::protobuf::Struct again = Pull(StringField(pulled, "watermark"), "pull-3");
  EXPECT_TRUE(Changes(again).values().empty());
  EXPECT_THAT(CaseTickets(), ::testing::ElementsAre(ticket));
}

TEST_F(CaseMirrorIntegrationTest, MirrorsOfOneCaseRacingOnTwoReplicasSharingRedisMakeOneTicket) {
  auto redis = halopsa::testing::RedisServerProcess::Start();
  ASSERT_TRUE(redis.ok()) << redis.status();
  // Slow answers: without the case's shared lock both replicas would look,
  // find nothing and create.
  sim::FaultConfig slow;
  slow.latency_min = absl::Milliseconds(50);
  slow.latency_max = absl::Milliseconds(50);
  ASSERT_TRUE(sim_->SetFaults(slow).ok());
  ASSERT_TRUE(StartServer(GatewayConfig((*redis)->url())));
  auto second = ServerApp::Start(GatewayConfig((*redis)->url()));
  ASSERT_TRUE(second.ok()) << second.status();
  second_ = *std::move(second);

  constexpr int kMirrors = 12;
  std::vector<google::protobuf::Struct> answers(kMirrors);
  std::vector<std::thread> senders;
  for (int i = 0; i < kMirrors; ++i) {
    const int port = i % 2 == 0 ? app_->gateway_port() : second_->gateway_port();
    senders.emplace_back([this, i, port, &answers] {
      answers[i] = Mirror(absl::StrCat(R"({"case_id": "case-race", "summary": "race )", i, R"("})"),
                          absl::StrCat("race-", i), port);
    });
  }
  for (std::thread& sender : senders) sender.join();
  const std::vector<int> tickets = CaseTickets("ext-halopsa case LimaCharlie case-race");
  ASSERT_EQ(tickets.size(), 1u);
  int created = 0;
  for (const google::protobuf::Struct& answer : answers) {
    EXPECT_EQ(IntField(answer, "ticket_id"), tickets[0]);
    auto flag = answer.fields().find("created");
    created += flag != answer.fields().end() && flag->second.bool_value();
  }
  EXPECT_EQ(created, 1);
}

}  // namespace
}  // namespace halopsa::lc

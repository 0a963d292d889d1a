// The storm's LimaCharlie look-alike and its tally, against a scripted
// gateway on loopback: what the storm test and benchmark rely on.

#include "tests/testing/limacharlie_client.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <deque>
#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "adapters/limacharlie/gzip.h"
#include "adapters/limacharlie/signature.h"
#include "adapters/net/http_server.h"
#include "tests/testing/storm.h"

namespace halopsa::testing {
namespace {

using ::testing::ElementsAre;

constexpr char kSecret[] = "client-test-secret";

// What the gateway saw of one delivery.
struct Seen {
  std::string idempotency_key;
  std::string action;
  std::string data_json;
  bool signed_right = false;
};

// Answers each delivery with the next scripted reply (status, body); a
// status of 0 answers nothing, so the client's webhook timeout passes.
class ScriptedGateway {
 public:
  explicit ScriptedGateway(std::vector<std::pair<int, std::string>> script) : script_(script.begin(), script.end()) {
    auto server = net::HttpServer::Start({}, [this](net::ServerRequest request, net::Responder respond) {
      Handle(std::move(request), std::move(respond));
    });
    EXPECT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
  }
  ~ScriptedGateway() { server_->Shutdown(absl::Now()); }

  int port() const { return server_->port(); }
  std::vector<Seen> seen() const {
    absl::MutexLock lock(&mu_);
    return seen_;
  }

 private:
  void Handle(net::ServerRequest request, net::Responder respond) {
    absl::StatusOr<std::string> json = lc::Gunzip(request.body, 1 << 20);
    Seen seen;
    if (json.ok()) {
      seen.signed_right = lc::VerifySignature(kSecret, *json, std::string(request.Header("lc-ext-sig")));
      rapidjson::Document envelope;
      envelope.Parse(json->c_str());
      seen.idempotency_key = envelope["idempotency_key"].GetString();
      seen.action = envelope["request"]["action"].GetString();
      seen.data_json = lc::testing::Json(envelope["request"]["data"]);
    }
    absl::MutexLock lock(&mu_);
    seen_.push_back(seen);
    net::ServerResponse response;
    response.status = 500;
    response.body = R"({"error":"script ended"})";
    if (!script_.empty()) std::tie(response.status, response.body) = script_.front();
    if (!script_.empty()) script_.pop_front();
    if (response.status == 0) return held_.push_back(std::move(respond));  // never answered in time
    respond(std::move(response));
  }

  mutable absl::Mutex mu_;
  std::deque<std::pair<int, std::string>> script_ ABSL_GUARDED_BY(mu_);
  std::vector<Seen> seen_ ABSL_GUARDED_BY(mu_);
  std::vector<net::Responder> held_ ABSL_GUARDED_BY(mu_);
  std::unique_ptr<net::HttpServer> server_;
};

LimaCharlieCall Create(const std::string& key) {
  LimaCharlieCall call;
  call.action = "create_ticket";
  call.data_json = R"({"summary":"s"})";
  call.idempotency_key = key;
  return call;
}

CallOutcome Deliver(const ScriptedGateway& gateway, const std::string& key) {
  // Pauses of about 1 ms and a 0.2 s webhook timeout.
  auto client = LimaCharlieClient::Create({.gateway_port = gateway.port(), .signing_secret = kSecret,
                                           .first_backoff = absl::Milliseconds(1),
                                           .max_backoff = absl::Milliseconds(15),
                                           .webhook_timeout = absl::Milliseconds(200)});
  EXPECT_TRUE(client.ok()) << client.status();
  absl::StatusOr<CallOutcome> outcome = CallOnce(**client, Create(key), absl::Seconds(10));
  EXPECT_TRUE(outcome.ok()) << outcome.status();
  return outcome.ok() ? *outcome : CallOutcome();
}

std::vector<std::string> Keys(const std::vector<Seen>& seen) {
  std::vector<std::string> keys;
  for (const Seen& delivery : seen) keys.push_back(delivery.idempotency_key);
  return keys;
}

TEST(LimaCharlieClientTest, FiveHundredsAndTimeoutsAreDeliveredThreeTimesInAllWithTheSameKey) {
  ScriptedGateway gateway({{503, R"({"error":"busy","retriable":true})"}, {0, ""}, {500, R"({"error":"again"})"}});
  const CallOutcome outcome = Deliver(gateway, "k");
  EXPECT_FALSE(outcome.succeeded);
  EXPECT_EQ(outcome.deliveries, 3);
  EXPECT_EQ(outcome.retries, 2);
  EXPECT_EQ(outcome.final_status, 500);
  EXPECT_THAT(Keys(gateway.seen()), ElementsAre("k", "k", "k"));
  for (const Seen& delivery : gateway.seen()) EXPECT_TRUE(delivery.signed_right);
}

TEST(LimaCharlieClientTest, AFourHundredIsNeverRetried) {
  ScriptedGateway gateway({{400, R"({"error":"bad","retriable":false})"}});
  const CallOutcome outcome = Deliver(gateway, "k");
  EXPECT_FALSE(outcome.succeeded);
  EXPECT_EQ(outcome.deliveries, 1);
  EXPECT_EQ(outcome.final_error, "bad");
}

TEST(LimaCharlieClientTest, ContinuationsAreCalledWithTheirActionStateAsDataAndParentKeyColonLevel) {
  const std::string deferred =
      R"({"data":{"deferred":true,"retry_in_sec":0},"continuations":[{"in_delay_sec":0,"action":"run_deferred",)"
      R"("state":{"original":{"summary":"s"},"n":1}}]})";
  const std::string deferred_again =
      R"({"data":{"deferred":true,"retry_in_sec":0},"continuations":[{"in_delay_sec":0,"action":"run_deferred",)"
      R"("state":{"n":2}}]})";
  ScriptedGateway gateway({{200, deferred}, {500, R"({"error":"x"})"}, {200, deferred_again}, {200, R"({"data":{"id":7}})"}});
  const CallOutcome outcome = Deliver(gateway, "k");
  EXPECT_TRUE(outcome.succeeded) << outcome.final_error;
  EXPECT_EQ(outcome.deferrals, 2);
  EXPECT_EQ(outcome.max_level, 2);
  EXPECT_EQ(outcome.retries, 1);  // a continuation's 500 is retried like any call
  EXPECT_EQ(outcome.final_data_json, R"({"id":7})");
  const std::vector<Seen> seen = gateway.seen();
  EXPECT_THAT(Keys(seen), ElementsAre("k", "k:1", "k:1", "k:1:2"));
  ASSERT_EQ(seen.size(), 4u);
  EXPECT_EQ(seen[1].action, "run_deferred");
  EXPECT_EQ(seen[1].data_json, R"({"original":{"summary":"s"},"n":1})");
  EXPECT_EQ(seen[3].data_json, R"({"n":2})");
}

TEST(LimaCharlieClientTest, AContinuationLimaCharlieWouldRefuseLosesTheCall) {
  ScriptedGateway gateway({{200, R"({"data":{},"continuations":[{"in_delay_sec":301,"action":"a","state":{}}]})"}});
  const CallOutcome outcome = Deliver(gateway, "k");
  EXPECT_FALSE(outcome.succeeded);
  EXPECT_THAT(outcome.final_error, ::testing::HasSubstr("301"));
  EXPECT_EQ(gateway.seen().size(), 1u);
}

TEST(StormTallyTest, AMarkerInNoRecordIsLostInTwoIsDuplicatedTheTicketBodyIsNotASecondCopy) {
  std::vector<StormDetection> detections = PlanStorm(
      {.storm_detections = 3, .storm_keys = 1, .storm_length = absl::Seconds(1), .quiet_every = absl::Seconds(2)}, {});
  ASSERT_EQ(detections.size(), 5u);  // A 0..2, B 0, C 0
  std::vector<CallOutcome> outcomes(detections.size());
  for (CallOutcome& outcome : outcomes) outcome.succeeded = true;
  outcomes[0].final_data_json = R"({"id":1,"deduplicated":true})";
  const std::string state = R"({"tickets":[
      {"id":1,"summary":"Ransomware det:A-0000;","details":"det:A-0000;"},
      {"id":2,"summary":"Suspicious login det:B-0000;"}],
    "actions":[
      {"id":1,"ticket_id":1,"note":"det:A-0000;"},
      {"id":2,"ticket_id":1,"note":"det:A-0001; det:A-0002;"},
      {"id":3,"ticket_id":1,"note":"det:A-0002; again"}]})";
  auto tallies = TallyStorm(detections, outcomes, state);
  ASSERT_TRUE(tallies.ok()) << tallies.status();
  const OrgTally& a = (*tallies)["A"];
  EXPECT_EQ(a.fired, 3);
  EXPECT_EQ(a.lost, 0);
  EXPECT_EQ(a.duplicated, 1);  // A-0002, in two notes
  EXPECT_EQ(a.tickets, 1);
  EXPECT_EQ(a.notes, 2);
  EXPECT_EQ(a.deduplicated, 1);
  EXPECT_EQ((*tallies)["B"].lost, 0);
  EXPECT_EQ((*tallies)["C"].lost, 1);
}

TEST(StormTallyTest, PercentileIsTheNearestRank) {
  std::vector<absl::Duration> waits;
  for (int i = 1; i <= 100; ++i) waits.push_back(absl::Seconds(i));
  EXPECT_EQ(Percentile(waits, 0.99), absl::Seconds(99));
  EXPECT_EQ(Percentile(waits, 0.5), absl::Seconds(50));
  EXPECT_EQ(Percentile({absl::Seconds(3)}, 0.99), absl::Seconds(3));
  EXPECT_EQ(Percentile({}, 0.99), absl::ZeroDuration());
}

}  // namespace
}  // namespace halopsa::testing

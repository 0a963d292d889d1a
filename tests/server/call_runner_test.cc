#include "server/call_runner.h"

#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/synchronization/notification.h"
#include "server/error_mapping.h"
#include "server/logger.h"
#include "server/service_metrics.h"
#include "tests/server/mock_halo_api.h"
#include "tests/testing/callback_result.h"
#include "tests/testing/error_details.h"
#include "tests/testing/test_support.h"

namespace halopsa {
namespace {

using ::testing::_;
using ::testing::HasSubstr;

class ConnectionForCallTest : public ::testing::Test {
 protected:
  void Add(const std::string& key, const std::string& value) { metadata_[key] = value; }

  // Reads metadata_ as a call's metadata.
  auto Lookup() {
    return [this](absl::string_view key) -> std::optional<absl::string_view> {
      auto it = metadata_.find(std::string(key));
      if (it == metadata_.end()) return std::nullopt;
      return it->second;
    };
  }

  std::map<std::string, std::string> metadata_;
  std::shared_ptr<const HaloConnection> default_ = std::make_shared<HaloConnection>(
      HaloConnection{.instance_url = "https://default.halopsa.com",
                     .client_id = "default-client",
                     .client_secret = "default-secret"});
};

TEST_F(ConnectionForCallTest, NoMetadataUsesDefault) {
  auto connection = ConnectionForCall(Lookup(), default_);
  ASSERT_TRUE(connection.ok());
  EXPECT_EQ(*connection, default_);
}

TEST_F(ConnectionForCallTest, NoMetadataAndNoDefaultIsFailedPrecondition) {
  auto connection = ConnectionForCall(Lookup(), nullptr);
  EXPECT_EQ(connection.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(testing::ReasonOf(connection.status()), "NO_HALOPSA_CONNECTION");
}

TEST_F(ConnectionForCallTest, MetadataConnectionOverridesDefault) {
  Add("x-halopsa-instance-url", "https://acme.halopsa.com/");
  Add("x-halopsa-client-id", "acme-id");
  Add("x-halopsa-client-secret", "acme-secret");
  Add("x-halopsa-tenant", "acme");
  Add("x-halopsa-org-id", "org-1");
  auto connection = ConnectionForCall(Lookup(), default_);
  ASSERT_TRUE(connection.ok());
  EXPECT_EQ((*connection)->instance_url, "https://acme.halopsa.com");
  EXPECT_EQ((*connection)->client_id, "acme-id");
  EXPECT_EQ((*connection)->client_secret, "acme-secret");
  EXPECT_EQ((*connection)->tenant, "acme");
  EXPECT_EQ((*connection)->scope, "all");
  EXPECT_EQ((*connection)->org_id, "org-1");
}

TEST_F(ConnectionForCallTest, IncompleteMetadataNamesTheMissingKeyWithoutSecrets) {
  Add("x-halopsa-instance-url", "https://acme.halopsa.com");
  Add("x-halopsa-client-id", "acme-id");
  auto connection = ConnectionForCall(Lookup(), default_);
  EXPECT_EQ(connection.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(connection.status().message()), ::testing::HasSubstr("x-halopsa-client-secret"));
  EXPECT_THAT(std::string(connection.status().message()), ::testing::Not(::testing::HasSubstr("default-secret")));
}

TEST_F(ConnectionForCallTest, AuthUrlIsTakenOnlyWithTheCallsOwnConnection) {
  Add("x-halopsa-auth-url", "https://evil.example.com/auth");
  auto unchanged = ConnectionForCall(Lookup(), default_);
  ASSERT_TRUE(unchanged.ok());
  EXPECT_EQ(*unchanged, default_);  // the default's secret never goes where a caller points

  Add("x-halopsa-instance-url", "https://acme.halopsa.com");
  Add("x-halopsa-client-id", "acme-id");
  Add("x-halopsa-client-secret", "acme-secret");
  metadata_["x-halopsa-auth-url"] = "https://auth.haloservicedesk.com/auth/";
  auto connection = ConnectionForCall(Lookup(), default_);
  ASSERT_TRUE(connection.ok());
  EXPECT_EQ((*connection)->auth_url, "https://auth.haloservicedesk.com/auth");
}

TEST_F(ConnectionForCallTest, OutcomeAndMarkerSettingsApplyToTheDefaultConnectionToo) {
  Add("x-halopsa-default-outcome", "Private Note");
  Add("x-halopsa-default-outcome-id", "21");
  Add("x-halopsa-idempotency-marker", "off");
  auto connection = ConnectionForCall(Lookup(), default_);
  ASSERT_TRUE(connection.ok()) << connection.status();
  EXPECT_EQ((*connection)->instance_url, "https://default.halopsa.com");
  EXPECT_EQ((*connection)->default_outcome, "Private Note");
  EXPECT_EQ((*connection)->default_outcome_id, 21);
  EXPECT_FALSE((*connection)->idempotency_marker);
  EXPECT_TRUE(default_->idempotency_marker);  // a copy was changed
}

TEST_F(ConnectionForCallTest, MalformedOutcomeIdOrMarkerIsInvalidArgument) {
  for (const auto& [key, value] : std::vector<std::pair<std::string, std::string>>{
           {"x-halopsa-default-outcome-id", "Note"}, {"x-halopsa-idempotency-marker", "false"}}) {
    metadata_.clear();
    Add(key, value);
    auto connection = ConnectionForCall(Lookup(), default_);
    EXPECT_EQ(connection.status().code(), absl::StatusCode::kInvalidArgument) << key;
    EXPECT_EQ(testing::ErrorMetadataOf(connection.status(), "field"), key);
  }
}

TEST_F(ConnectionForCallTest, TheCaseMirrorsLabelAndStatusMapComeFromMetadata) {
  Add("x-halopsa-case-label", "AcmeSOC");
  Add("x-halopsa-case-status-map", "1:new,8:resolved,9:closed");
  auto connection = ConnectionForCall(Lookup(), default_);
  ASSERT_TRUE(connection.ok()) << connection.status();
  EXPECT_EQ((*connection)->case_label, "AcmeSOC");
  EXPECT_EQ((*connection)->case_status_map, "1:new,8:resolved,9:closed");
  EXPECT_EQ(default_->case_label, "LimaCharlie");
  for (const auto& [key, value] : std::vector<std::pair<std::string, std::string>>{
           {"x-halopsa-case-label", "two words"}, {"x-halopsa-case-status-map", "9:done"}}) {
    metadata_.clear();
    Add(key, value);
    EXPECT_EQ(testing::ErrorMetadataOf(ConnectionForCall(Lookup(), default_).status(), "field"), key);
  }
}

class IdempotencyKeyForCallTest : public ConnectionForCallTest {};

TEST_F(IdempotencyKeyForCallTest, AbsentIsEmpty) {
  auto key = IdempotencyKeyForCall(Lookup());
  ASSERT_TRUE(key.ok());
  EXPECT_EQ(*key, "");
}

TEST_F(IdempotencyKeyForCallTest, UpToTheLimitPrintableBytesAreTheKey) {
  std::string longest(kMaxIdempotencyKeyBytes, 'k');
  Add("x-idempotency-key", longest);
  auto key = IdempotencyKeyForCall(Lookup());
  ASSERT_TRUE(key.ok()) << key.status();
  EXPECT_EQ(*key, longest);
}

TEST_F(IdempotencyKeyForCallTest, OversizedOrUnprintableKeysAreRefusedWithoutEchoingThem) {
  std::string oversized(kMaxIdempotencyKeyBytes + 1, 'k');
  for (const std::string& bad : {oversized, std::string("key\twith tab")}) {
    metadata_.clear();
    Add("x-idempotency-key", bad);
    auto key = IdempotencyKeyForCall(Lookup());
    EXPECT_EQ(key.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(testing::ReasonOf(key.status()), "INVALID_FIELD");
    EXPECT_EQ(testing::ErrorMetadataOf(key.status(), "field"), "x-idempotency-key");
    EXPECT_THAT(std::string(key.status().message()), ::testing::Not(::testing::HasSubstr(bad)));
  }
}

// The runner over mocked HaloPSA; requests of search_tickets are held
// upstream until the test answers them.
class CallRunnerTest : public ::testing::Test {
 protected:
  using Response = v1::SearchTicketsResponse;

  CallRunnerTest() {
    options_.default_connection = std::make_shared<HaloConnection>(
        HaloConnection{.instance_url = "https://default.halopsa.com", .client_id = "id", .client_secret = "secret"});
    options_.default_deadline = absl::Seconds(30);
  }

  // Starts a search_tickets call.
  testing::CallbackResult<absl::StatusOr<Response>> Search(CallRunner& runner, absl::Time caller_deadline) {
    testing::CallbackResult<absl::StatusOr<Response>> result("the search's answer");
    runner.Run<v1::SearchTicketsRequest, Response>(
        "SearchTickets", [](absl::string_view) { return std::optional<absl::string_view>(); }, caller_deadline,
        request_, &HaloPsaOperations::SearchTickets, result.Callback());
    return result;
  }

  ::testing::StrictMock<testing::MockHaloApi> api_;
  HaloPsaOperations actions_{api_};
  ServiceOptions options_;
  v1::SearchTicketsRequest request_;
};

TEST_F(CallRunnerTest, UpstreamWorkIsBoundedByTheEarlierOfTheCallersDeadlineAndTheDefault) {
  CallRunner runner(actions_, options_);
  std::vector<absl::Time> deadlines;
  EXPECT_CALL(api_, Get).Times(2).WillRepeatedly(
      [&deadlines](const CallContext& context, std::string, HaloApi::Query, HaloApi::Callback done) {
        deadlines.push_back(context.deadline);
        done(testing::Json(R"({"record_count": 0, "tickets": []})"));
      });
  const absl::Time before = absl::Now();
  const absl::Time soon = before + absl::Seconds(2);
  auto first = Search(runner, soon);
  auto second = Search(runner, absl::InfiniteFuture());
  const absl::Time after = absl::Now();
  ASSERT_TRUE(first.Await().ok());
  ASSERT_TRUE(second.Await().ok());
  ASSERT_EQ(deadlines.size(), 2u);
  EXPECT_EQ(deadlines[0], soon);
  EXPECT_GE(deadlines[1], before + options_.default_deadline);
  EXPECT_LE(deadlines[1], after + options_.default_deadline);
}

TEST_F(CallRunnerTest, RefusedCallsAnswerAtOnceWithoutGoingUpstreamOrStayingCounted) {
  options_.default_connection = nullptr;
  options_.max_calls_in_flight = 1;
  CallRunner runner(actions_, options_);
  // Were the first still counted in flight, the second would be OVERLOADED.
  for (int i = 0; i < 2; ++i) {
    auto result = Search(runner, absl::InfiniteFuture());
    EXPECT_EQ(result.Await().status().code(), absl::StatusCode::kFailedPrecondition) << i;
  }
}

TEST_F(CallRunnerTest, WaitUntilIdleReturnsOnceTheCallsInFlightHaveEnded) {
  CallRunner runner(actions_, options_);
  HaloApi::Callback held;
  EXPECT_CALL(api_, Get).WillOnce(
      [&held](const CallContext&, std::string, HaloApi::Query, HaloApi::Callback done) { held = std::move(done); });
  auto result = Search(runner, absl::InfiniteFuture());
  absl::Notification idle;
  bool became_idle = false;
  std::thread waiter([&] {
    became_idle = runner.WaitUntilIdle(absl::Now() + testing::kCallbackBound);
    idle.Notify();
  });
  EXPECT_FALSE(idle.WaitForNotificationWithTimeout(absl::Milliseconds(50)));
  held(testing::Json(R"({"record_count": 0, "tickets": []})"));
  waiter.join();
  EXPECT_TRUE(became_idle);
  EXPECT_TRUE(result.Await().ok()) << result.Await().status();
}

// Storm deduplication shows in metrics and the call's log line: which calls
// opened the key's ticket and which were noted on it.
TEST_F(CallRunnerTest, DedupedCreatesAreCountedAndLoggedByOutcome) {
  MetricsRegistry registry;
  ServiceMetrics metrics(registry);
  std::FILE* log = std::tmpfile();
  Logger logger(LogLevel::kInfo, log);
  options_.metrics = &metrics;
  options_.logger = &logger;
  CallRunner runner(actions_, options_);
  EXPECT_CALL(api_, Get(_, "/api/Tickets", _, _))
      .WillOnce(testing::AnswerJson(R"({"record_count": 0, "tickets": []})"));
  EXPECT_CALL(api_, Post(_, "/api/Tickets", _, _)).WillOnce(testing::AnswerJson(R"({"id": 5, "summary": "s"})"));
  EXPECT_CALL(api_, Post(_, "/api/Actions", _, _)).WillOnce(testing::AnswerJson(R"({"id": 9})"));
  v1::CreateTicketRequest request;
  request.set_summary("s");
  request.set_client_id(12);
  request.set_dedupe_key("NEW_PROCESS-host1");
  for (bool expect_deduplicated : {false, true}) {
    testing::CallbackResult<absl::StatusOr<v1::CreateTicketResponse>> result("the create's answer");
    runner.Run<v1::CreateTicketRequest, v1::CreateTicketResponse>(
        "CreateTicket", [](absl::string_view) { return std::optional<absl::string_view>(); },
        absl::InfiniteFuture(), request, &HaloPsaOperations::CreateTicket, result.Callback());
    absl::StatusOr<v1::CreateTicketResponse> created = result.Await();
    ASSERT_TRUE(created.ok()) << created.status();
    EXPECT_EQ(created->deduplicated(), expect_deduplicated);
  }
  const std::string text = registry.Render();
  EXPECT_THAT(text, HasSubstr("halopsa_dedupe_detections_total{outcome=\"opened\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("halopsa_dedupe_detections_total{outcome=\"noted\"} 1\n"));
  const std::string lines = testing::ReadCapturedLog(log);
  std::fclose(log);
  EXPECT_THAT(lines, HasSubstr(R"("dedupe":"opened")"));
  EXPECT_THAT(lines, HasSubstr(R"("dedupe":"noted")"));
}

}  // namespace
}  // namespace halopsa

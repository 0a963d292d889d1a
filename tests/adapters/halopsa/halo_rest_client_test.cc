#include "adapters/halopsa/halo_rest_client.h"
#include "adapters/halopsa/fair_budget.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "server/error_mapping.h"
#include "server/json_values.h"
#include "tests/adapters/halopsa/fake_scheduler.h"
#include "tests/adapters/halopsa/mock_halo_request_sender.h"
#include "tests/adapters/halopsa/mock_http_transport.h"

namespace halopsa {
namespace {

using ::testing::_;
using ::testing::Contains;
using ::testing::Pair;
using ::testing::StrictMock;
using testing::FakeScheduler;
using testing::MockHttpTransport;
using testing::MockRequestBudget;
using testing::RequestTo;
using testing::Respond;

class HaloRestClientTest : public ::testing::Test {
 protected:
  HaloRestClientTest() {
    connection_->instance_url = "https://acme.halopsa.com";
    // A configured authorisation server: no discovery request in these tests
    // (auth_discovery_test covers it).
    connection_->auth_url = "https://acme.halopsa.com/auth";
    connection_->client_id = "c";
    connection_->client_secret = "s";
  }

  absl::StatusOr<google::protobuf::Value> Result(std::function<void(HaloApi::Callback)> start) {
    std::optional<absl::StatusOr<google::protobuf::Value>> result;
    start([&](absl::StatusOr<google::protobuf::Value> answer) { result = std::move(answer); });
    EXPECT_TRUE(result.has_value());
    return result.value_or(absl::InternalError("no answer"));
  }

  void ExpectToken(const std::string& token) {
    EXPECT_CALL(transport_, Send(RequestTo("POST", "https://acme.halopsa.com/auth/token"), _, _))
        .WillOnce(Respond(200, absl::StrCat(R"({"access_token":")", token, R"(","expires_in":3600})")))
        .RetiresOnSaturation();
  }

  // Answers every Send with `status` and counts the sends.
  auto Answer(int status, int* sends, std::string body = "") {
    return [status, sends, body](net::HttpRequest, absl::Time, net::HttpTransport::Callback done) {
      ++*sends;
      done(net::HttpResponse{status, "application/json", body});
    };
  }

  StrictMock<MockHttpTransport> transport_;
  AuthDiscovery discovery_{transport_, AuthDiscoveryOptions()};
  TokenCache tokens_{transport_, discovery_, TokenCacheOptions()};
  FakeScheduler scheduler_;
  TenantRateLimiter limiter_{RateLimitOptions{.max_requests = 0}};
  FairRequestBudget budget_{limiter_, scheduler_, RateLimitOptions{.max_requests = 0}};
  HaloRestClient client_{{transport_, tokens_, scheduler_, budget_}, RetryOptions()};
  std::shared_ptr<HaloConnection> connection_ = std::make_shared<HaloConnection>();
  CallContext context_{connection_, absl::Now() + absl::Seconds(10), nullptr, ""};
};

TEST_F(HaloRestClientTest, GetSendsBearerAndQueryWithinTheDeadline) {
  ExpectToken("tok");
  EXPECT_CALL(transport_, Send(RequestTo("GET", "https://acme.halopsa.com/api/Client?search=a%20b&page_no=1"),
                               context_.deadline, _))
      .WillOnce([](net::HttpRequest request, absl::Time, net::HttpTransport::Callback done) {
        EXPECT_THAT(request.headers, Contains(Pair("Authorization", "Bearer tok")));
        done(net::HttpResponse{200, "application/json", R"({"record_count":0,"clients":[]})"});
      });
  auto answer = Result([&](auto done) {
    client_.Get(context_, "/api/Client", {{"search", "a b"}, {"page_no", "1"}}, std::move(done));
  });
  ASSERT_TRUE(answer.ok()) << answer.status();
  EXPECT_EQ(answer->struct_value().fields().at("record_count").number_value(), 0);
}

TEST_F(HaloRestClientTest, PostSendsJson) {
  ExpectToken("tok");
  EXPECT_CALL(transport_, Send(RequestTo("POST", "https://acme.halopsa.com/api/Tickets"), _, _))
      .WillOnce([](net::HttpRequest request, absl::Time, net::HttpTransport::Callback done) {
        EXPECT_EQ(request.body, R"([{"summary":"s"}])");
        EXPECT_THAT(request.headers, Contains(Pair("Content-Type", "application/json")));
        done(net::HttpResponse{201, "application/json", R"({"id":9})"});
      });
  auto answer = Result([&](auto done) {
    client_.Post(context_, "/api/Tickets", *ParseJson(R"([{"summary":"s"}])"), std::move(done));
  });
  ASSERT_TRUE(answer.ok()) << answer.status();
}

TEST_F(HaloRestClientTest, On401DropsTokenFetchesNewAndRetriesOnce) {
  ::testing::InSequence in_order;
  ExpectToken("expired");
  EXPECT_CALL(transport_, Send(RequestTo("GET", "https://acme.halopsa.com/api/Tickets/1"), _, _))
      .WillOnce(Respond(401, ""));
  ExpectToken("fresh");
  EXPECT_CALL(transport_, Send(RequestTo("GET", "https://acme.halopsa.com/api/Tickets/1"), _, _))
      .WillOnce([](net::HttpRequest request, absl::Time, net::HttpTransport::Callback done) {
        EXPECT_THAT(request.headers, Contains(Pair("Authorization", "Bearer fresh")));
        done(net::HttpResponse{200, "", R"({"id":1})"});
      });
  EXPECT_TRUE(Result([&](auto done) { client_.Get(context_, "/api/Tickets/1", {}, std::move(done)); }).ok());
}

TEST_F(HaloRestClientTest, A401ForEveryFreshTokenEndsUnauthenticatedWithinTheAttemptBudget) {
  HaloRestClient client({transport_, tokens_, scheduler_, budget_}, RetryOptions{.max_attempts = 3});
  ExpectToken("a");
  ExpectToken("b");
  ExpectToken("c");
  EXPECT_CALL(transport_, Send(RequestTo("GET", "https://acme.halopsa.com/api/Tickets/1"), _, _))
      .Times(3)
      .WillRepeatedly(Respond(401, "Unauthorized"));
  auto answer = Result([&](auto done) { client.Get(context_, "/api/Tickets/1", {}, std::move(done)); });
  EXPECT_EQ(answer.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(GetErrorInfo(answer.status())->metadata().at("endpoint"), "/api/Tickets/1");
}

// Only a 401 means "fresh token, once more": a 400 or 403 with the same
// token is a final answer, and no second token is requested.
TEST_F(HaloRestClientTest, OnlyA401RefreshesTheToken) {
  for (int status : {400, 403}) {
    tokens_.Invalidate(*connection_, "t");
    ExpectToken("t");
    int sends = 0;
    EXPECT_CALL(transport_, Send(RequestTo("GET", "https://acme.halopsa.com/api/Tickets/1"), _, _))
        .WillOnce(Answer(status, &sends, R"({"error": "refused"})"))
        .RetiresOnSaturation();
    auto answer = Result([&](auto done) { client_.Get(context_, "/api/Tickets/1", {}, std::move(done)); });
    EXPECT_FALSE(answer.ok());
    EXPECT_EQ(sends, 1) << status;
  }
  EXPECT_EQ(tokens_.token_requests(), 2);  // one per call, none for a retry
}

TEST_F(HaloRestClientTest, A403NamingAPermissionSaysTheApplicationLacksIt) {
  ExpectToken("t");
  EXPECT_CALL(transport_, Send(RequestTo("POST", "https://acme.halopsa.com/api/Asset"), _, _))
      .WillOnce(Respond(403, R"({"error":"The API application does not have the permission edit:assets"})"));
  auto answer = Result([&](auto done) {
    client_.Post(context_, "/api/Asset", *ParseJson(R"([{"inventory_number":"h"}])"), std::move(done));
  });
  EXPECT_EQ(answer.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(std::string(answer.status().message()),
              ::testing::HasSubstr("the API application lacks the permission edit:assets"));
  EXPECT_EQ(GetErrorInfo(answer.status())->metadata().at("missing_permission"), "edit:assets");
}

TEST_F(HaloRestClientTest, ErrorStatusesMapWithHalosText) {
  ExpectToken("t");
  EXPECT_CALL(transport_, Send(RequestTo("POST", "https://acme.halopsa.com/api/Actions"), _, _))
      .WillOnce(Respond(400, R"({"errors":["An Outcome must be entered for this Action"]})"));
  auto answer = Result([&](auto done) {
    client_.Post(context_, "/api/Actions", *ParseJson("[{}]"), std::move(done));
  });
  EXPECT_EQ(answer.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(answer.status().message(),
            "HaloPSA /api/Actions answered HTTP 400: An Outcome must be entered for this Action");
}

TEST_F(HaloRestClientTest, MalformedJsonIsUnavailable) {
  ExpectToken("t");
  EXPECT_CALL(transport_, Send(RequestTo("GET", "https://acme.halopsa.com/api/Site"), _, _))
      .WillOnce(Respond(200, "<html>maintenance</html>"));
  auto answer = Result([&](auto done) { client_.Get(context_, "/api/Site", {}, std::move(done)); });
  EXPECT_EQ(answer.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(GetErrorInfo(answer.status())->reason(), "UPSTREAM_BAD_RESPONSE");
}

TEST_F(HaloRestClientTest, CreateAnsweredSuccessWithAnUnreadableBodyHasAnUnknownOutcome) {
  ExpectToken("t");
  EXPECT_CALL(transport_, Send(RequestTo("POST", "https://acme.halopsa.com/api/Tickets"), _, _))
      .WillOnce(Respond(201, ""));
  auto answer = Result([&](auto done) {
    client_.Post(context_, "/api/Tickets", *ParseJson(R"([{"summary":"s"}])"), std::move(done));
  });
  EXPECT_EQ(answer.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(GetErrorInfo(answer.status())->reason(), kReasonUpstreamOutcomeUnknown);
  EXPECT_EQ(scheduler_.waiting(), 0u);
}

TEST_F(HaloRestClientTest, TransportTimeoutAtTheCallsDeadlineIsDeadlineExceeded) {
  ExpectToken("t");
  context_.deadline = absl::Now() + absl::Milliseconds(100);  // no room for a retry
  EXPECT_CALL(transport_, Send(RequestTo("GET", "https://acme.halopsa.com/api/Site"), _, _))
      .WillOnce([](net::HttpRequest, absl::Time, net::HttpTransport::Callback done) {
        done(absl::DeadlineExceededError("waiting for response from acme.halopsa.com:443"));
      });
  auto answer = Result([&](auto done) { client_.Get(context_, "/api/Site", {}, std::move(done)); });
  EXPECT_EQ(scheduler_.waiting(), 0u);
  EXPECT_EQ(answer.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(GetErrorInfo(answer.status())->reason(), "UPSTREAM_TIMEOUT");
}

// ---------------------------------------------------------------------------
// Retries.

constexpr char kTickets[] = "https://acme.halopsa.com/api/Tickets";

TEST_F(HaloRestClientTest, ReadIsRetriedAfter5xxWithAShortJitteredBackoff) {
  ExpectToken("t");
  int sends = 0;
  EXPECT_CALL(transport_, Send(RequestTo("GET", kTickets), _, _))
      .WillOnce(Answer(502, &sends))
      .WillOnce(Answer(200, &sends, "{}"));
  std::optional<absl::StatusOr<google::protobuf::Value>> result;
  const absl::Time before = absl::Now();
  client_.Get(context_, "/api/Tickets", {}, [&](auto answer) { result = std::move(answer); });
  ASSERT_FALSE(result.has_value()) << "a retry waits instead of answering";

  const std::vector<absl::Time> waits = scheduler_.RunScheduled();

  ASSERT_EQ(waits.size(), 1u);
  EXPECT_GE(waits[0] - before, absl::Milliseconds(125));
  EXPECT_LE(waits[0] - before, absl::Milliseconds(250) + (absl::Now() - before));
  ASSERT_TRUE(result.has_value());
  EXPECT_TRUE(result->ok()) << result->status();
  EXPECT_EQ(sends, 2);
}

TEST_F(HaloRestClientTest, CreateIsNotResentAfterA500ItsOutcomeIsUnknown) {
  ExpectToken("t");
  int sends = 0;
  EXPECT_CALL(transport_, Send(RequestTo("POST", kTickets), _, _)).WillOnce(Answer(500, &sends));

  auto answer = Result([&](auto done) {
    client_.Post(context_, "/api/Tickets", *ParseJson(R"([{"summary":"s"}])"), std::move(done));
  });

  EXPECT_EQ(answer.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(GetErrorInfo(answer.status())->reason(), kReasonUpstreamOutcomeUnknown);
  EXPECT_THAT(answer.status().message(), ::testing::HasSubstr("may have processed"));
  EXPECT_EQ(scheduler_.waiting(), 0u);
  EXPECT_EQ(sends, 1);
}

TEST_F(HaloRestClientTest, CreateIsNotResentAfterTheConnectionBrokeOnceWritten) {
  ExpectToken("t");
  EXPECT_CALL(transport_, Send(RequestTo("POST", kTickets), _, _))
      .WillOnce([](net::HttpRequest request, absl::Time, net::HttpTransport::Callback done) {
        EXPECT_FALSE(request.idempotent);
        done(absl::UnavailableError("waiting for response from acme.halopsa.com:443 failed: end of stream"));
      });

  auto answer = Result([&](auto done) {
    client_.Post(context_, "/api/Tickets", *ParseJson(R"([{"summary":"s"}])"), std::move(done));
  });

  EXPECT_EQ(GetErrorInfo(answer.status())->reason(), kReasonUpstreamOutcomeUnknown);
  EXPECT_EQ(scheduler_.waiting(), 0u);
}

TEST_F(HaloRestClientTest, CreateIsResentWhenItCertainlyWasNotSent) {
  ExpectToken("t");
  int sends = 0;
  EXPECT_CALL(transport_, Send(RequestTo("POST", kTickets), _, _))
      .WillOnce([&](net::HttpRequest, absl::Time, net::HttpTransport::Callback done) {
        ++sends;
        done(net::MarkNotSent(absl::UnavailableError("connect to acme.halopsa.com:443 failed: refused")));
      })
      .WillOnce(Answer(201, &sends, R"({"id":5})"));
  std::optional<absl::StatusOr<google::protobuf::Value>> result;
  client_.Post(context_, "/api/Tickets", *ParseJson(R"([{"summary":"s"}])"),
               [&](auto answer) { result = std::move(answer); });

  scheduler_.RunScheduled();

  ASSERT_TRUE(result.has_value());
  EXPECT_TRUE(result->ok()) << result->status();
  EXPECT_EQ(sends, 2);
}

TEST_F(HaloRestClientTest, CreateIsResentAfter429WithALongBackoffThatHoldsTheTenantBack) {
  const RateLimitOptions options{.max_requests = 1000};
  TenantRateLimiter limiter(options);
  FairRequestBudget budget(limiter, scheduler_, options);
  HaloRestClient client({transport_, tokens_, scheduler_, budget}, RetryOptions());
  ExpectToken("t");
  int sends = 0;
  EXPECT_CALL(transport_, Send(RequestTo("POST", kTickets), _, _))
      .WillOnce(Answer(429, &sends, "Rate Limit Reached - 300 Requests per rolling 5 minute window"))
      .WillOnce(Answer(201, &sends, R"({"id":5})"));
  std::optional<absl::StatusOr<google::protobuf::Value>> result;
  const absl::Time before = absl::Now();
  client.Post(context_, "/api/Tickets", *ParseJson(R"([{"summary":"s"}])"),
              [&](auto answer) { result = std::move(answer); });

  // Meanwhile no other request of this tenant gets a slot before the retry.
  const absl::StatusOr<SlotAnswer> other =
      limiter.TryReserveNow(RateLimitKey(connection_->instance_url, connection_->client_id), "another-org",
                            absl::InfiniteFuture());
  // The backoff, then the wait for the paused tenant's slot (the fake
  // scheduler runs tasks early).
  std::vector<absl::Time> waits = scheduler_.RunScheduled();
  while (scheduler_.waiting() > 0) scheduler_.RunScheduled();

  ASSERT_EQ(waits.size(), 1u);
  EXPECT_GE(waits[0] - before, absl::Seconds(1));
  ASSERT_TRUE(other.ok());
  EXPECT_GE(other->at, waits[0]);
  ASSERT_TRUE(result.has_value());
  EXPECT_TRUE(result->ok()) << result->status();
  EXPECT_EQ(sends, 2);
}

TEST_F(HaloRestClientTest, UpdateIsRepeatableAndResentAfter500) {
  ExpectToken("t");
  int sends = 0;
  EXPECT_CALL(transport_, Send(RequestTo("POST", kTickets), _, _))
      .WillOnce([&](net::HttpRequest request, absl::Time, net::HttpTransport::Callback done) {
        ++sends;
        EXPECT_TRUE(request.idempotent);
        done(net::HttpResponse{500, "", ""});
      })
      .WillOnce(Answer(200, &sends, R"({"id":7})"));
  std::optional<absl::StatusOr<google::protobuf::Value>> result;
  client_.Post(context_, "/api/Tickets", *ParseJson(R"([{"id":7,"status_id":9}])"),
               [&](auto answer) { result = std::move(answer); });

  scheduler_.RunScheduled();

  ASSERT_TRUE(result.has_value());
  EXPECT_TRUE(result->ok()) << result->status();
  EXPECT_EQ(sends, 2);
}

TEST_F(HaloRestClientTest, RateLimitedUntilTheDeadlineIsUnavailableWithRetryInfo) {
  ExpectToken("t");
  int sends = 0;
  EXPECT_CALL(transport_, Send(RequestTo("GET", kTickets), _, _)).WillOnce(Answer(429, &sends, "Rate Limit Reached"));
  CallContext soon = context_;
  soon.deadline = absl::Now() + absl::Milliseconds(500);  // shorter than the least 429 backoff (1 s)

  auto answer = Result([&](auto done) { client_.Get(soon, "/api/Tickets", {}, std::move(done)); });

  EXPECT_EQ(answer.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(GetErrorInfo(answer.status())->reason(), kReasonUpstreamRateLimited);
  const std::optional<absl::Duration> retry_delay = GetRetryDelay(answer.status());
  ASSERT_TRUE(retry_delay.has_value());
  EXPECT_GE(*retry_delay, absl::Seconds(1));
  EXPECT_EQ(sends, 1);
}

TEST_F(HaloRestClientTest, AttemptsAreBounded) {
  HaloRestClient client({transport_, tokens_, scheduler_, budget_}, RetryOptions{.max_attempts = 3});
  ExpectToken("t");
  int sends = 0;
  EXPECT_CALL(transport_, Send(RequestTo("GET", kTickets), _, _)).WillRepeatedly(Answer(503, &sends));
  std::optional<absl::StatusOr<google::protobuf::Value>> result;
  client.Get(context_, "/api/Tickets", {}, [&](auto answer) { result = std::move(answer); });

  while (scheduler_.waiting() > 0) scheduler_.RunScheduled();

  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(result->status().code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(GetRetryDelay(result->status()).has_value());
  EXPECT_EQ(sends, 3);
}

TEST_F(HaloRestClientTest, FinalErrorsAreNotRetried) {
  ExpectToken("t");
  int sends = 0;
  EXPECT_CALL(transport_, Send(RequestTo("GET", kTickets), _, _)).WillOnce(Answer(404, &sends));

  auto answer = Result([&](auto done) { client_.Get(context_, "/api/Tickets", {}, std::move(done)); });

  EXPECT_EQ(answer.status().code(), absl::StatusCode::kNotFound);
  EXPECT_FALSE(GetRetryDelay(answer.status()).has_value());
  EXPECT_EQ(sends, 1);
}

TEST_F(HaloRestClientTest, TokenEndpointOutageIsRetried) {
  EXPECT_CALL(transport_, Send(RequestTo("POST", "https://acme.halopsa.com/auth/token"), _, _))
      .WillOnce(Respond(503, "down"))
      .WillOnce(Respond(200, R"({"access_token":"t","expires_in":3600})"));
  EXPECT_CALL(transport_, Send(RequestTo("GET", kTickets), _, _)).WillOnce(Respond(200, "{}"));
  std::optional<absl::StatusOr<google::protobuf::Value>> result;
  client_.Get(context_, "/api/Tickets", {}, [&](auto answer) { result = std::move(answer); });

  scheduler_.RunScheduled();

  ASSERT_TRUE(result.has_value());
  EXPECT_TRUE(result->ok()) << result->status();
}

TEST_F(HaloRestClientTest, BurstBeyondTheTenantsAllowanceWaitsForItsPacedSlot) {
  const RateLimitOptions options{.max_requests = 40, .window = absl::Seconds(5)};  // 2 at once, then paced
  TenantRateLimiter limiter(options);
  FairRequestBudget budget(limiter, scheduler_, options);
  HaloRestClient client({transport_, tokens_, scheduler_, budget}, RetryOptions());
  ExpectToken("t");
  int sends = 0;
  EXPECT_CALL(transport_, Send(RequestTo("GET", kTickets), _, _)).WillRepeatedly(Answer(200, &sends, "{}"));
  int answered = 0;
  const absl::Time before = absl::Now();
  for (int i = 0; i < 3; ++i) {
    client.Get(context_, "/api/Tickets", {}, [&](auto answer) { answered += answer.ok() ? 1 : 0; });
  }
  EXPECT_EQ(sends, 2);

  const std::vector<absl::Time> waits = scheduler_.RunScheduled();

  ASSERT_EQ(waits.size(), 1u);
  EXPECT_GE(waits[0] - before, SpacingOf(options) - (absl::Now() - before));
  EXPECT_EQ(sends, 3);
  EXPECT_EQ(answered, 3);
}

TEST_F(HaloRestClientTest, BurstThatCannotFitBeforeTheDeadlineFailsWithoutSending) {
  const RateLimitOptions options{.max_requests = 1, .window = absl::Minutes(5)};
  TenantRateLimiter limiter(options);
  FairRequestBudget budget(limiter, scheduler_, options);
  HaloRestClient client({transport_, tokens_, scheduler_, budget}, RetryOptions());
  ExpectToken("t");
  int sends = 0;
  EXPECT_CALL(transport_, Send(RequestTo("GET", kTickets), _, _)).WillOnce(Answer(200, &sends, "{}"));
  ASSERT_TRUE(Result([&](auto done) { client.Get(context_, "/api/Tickets", {}, std::move(done)); }).ok());

  auto answer = Result([&](auto done) { client.Get(context_, "/api/Tickets", {}, std::move(done)); });

  EXPECT_EQ(answer.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(GetErrorInfo(answer.status())->reason(), kReasonUpstreamRateLimited);
  EXPECT_TRUE(GetRetryDelay(answer.status()).has_value());
  EXPECT_EQ(sends, 1);
}

TEST_F(HaloRestClientTest, OutOfAttemptsOnA401AfterOtherFailuresIsRetriable) {
  HaloRestClient client({transport_, tokens_, scheduler_, budget_}, RetryOptions{.max_attempts = 2});
  ::testing::InSequence in_order;
  int sends = 0;
  ExpectToken("a");
  EXPECT_CALL(transport_, Send(RequestTo("GET", kTickets), _, _)).WillOnce(Answer(503, &sends));
  ExpectToken("b");
  EXPECT_CALL(transport_, Send(RequestTo("GET", kTickets), _, _)).WillOnce(Answer(401, &sends));
  std::optional<absl::StatusOr<google::protobuf::Value>> result;
  client.Get(context_, "/api/Tickets", {}, [&](auto answer) { result = std::move(answer); });
  tokens_.Invalidate(*connection_, "a");  // revoked while the call waited

  scheduler_.RunScheduled();

  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(result->status().code(), absl::StatusCode::kUnavailable) << result->status();
  EXPECT_TRUE(GetRetryDelay(result->status()).has_value());
  EXPECT_EQ(sends, 2);
}

TEST_F(HaloRestClientTest, StopWaitingEndsCallsWaitingForARetryWithoutSendingThem) {
  ExpectToken("t");
  int sends = 0;
  EXPECT_CALL(transport_, Send(RequestTo("GET", kTickets), _, _)).WillOnce(Answer(503, &sends));
  std::optional<absl::StatusOr<google::protobuf::Value>> result;
  client_.Get(context_, "/api/Tickets", {}, [&](auto answer) { result = std::move(answer); });
  ASSERT_EQ(scheduler_.waiting(), 1u);

  client_.StopWaiting();
  scheduler_.RunScheduled();

  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(result->status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(GetErrorInfo(result->status())->reason(), kReasonShuttingDown);
  EXPECT_EQ(sends, 1);
}

TEST(IsRepeatableWriteTest, OnlyUpdatesOfObjectsWithIdsRepeat) {
  EXPECT_TRUE(IsRepeatableWrite(*ParseJson(R"([{"id":1,"summary":"s"}])")));
  EXPECT_TRUE(IsRepeatableWrite(*ParseJson(R"([{"id":1},{"id":2}])")));
  EXPECT_FALSE(IsRepeatableWrite(*ParseJson(R"([{"summary":"s"}])")));
  EXPECT_FALSE(IsRepeatableWrite(*ParseJson(R"([{"id":1},{"summary":"s"}])")));
  EXPECT_FALSE(IsRepeatableWrite(*ParseJson("[]")));
  EXPECT_FALSE(IsRepeatableWrite(*ParseJson(R"({"id":1})")));
}

}  // namespace
}  // namespace halopsa

namespace halopsa {
namespace {

TEST_F(HaloRestClientTest, TheRequestWaitsForTheBudgetsAnswerWithoutBlocking) {
  StrictMock<MockRequestBudget> budget;
  HaloRestClient client({transport_, tokens_, scheduler_, budget}, RetryOptions());
  context_.org = "org-1";  // the budget shares the tenant out between orgs
  RequestBudget::Reserved reserved;
  EXPECT_CALL(budget, Reserve(RateLimitKey("https://acme.halopsa.com", "c"), "org-1", context_.deadline, _))
      .WillOnce([&](const std::string&, const std::string&, absl::Time, RequestBudget::Reserved done) { reserved = std::move(done); });
  ExpectToken("t");
  std::optional<absl::StatusOr<google::protobuf::Value>> result;
  client.Get(context_, "/api/Client", {}, [&](auto answer) { result = std::move(answer); });
  ASSERT_TRUE(reserved) << "the budget was asked";
  EXPECT_FALSE(result.has_value()) << "nothing is sent before the budget answers";
  EXPECT_CALL(transport_, Send(RequestTo("GET", "https://acme.halopsa.com/api/Client"), _, _))
      .WillOnce(Respond(200, R"({"record_count":0,"clients":[]})"));
  reserved(absl::Now());
  ASSERT_TRUE(result.has_value());
  EXPECT_TRUE(result->ok()) << result->status();
}

TEST_F(HaloRestClientTest, ARefusalOfTheBudgetIsTheCallsAnswerAndNothingIsSent) {
  StrictMock<MockRequestBudget> budget;
  HaloRestClient client({transport_, tokens_, scheduler_, budget}, RetryOptions());
  absl::Status refused = NoSlotBeforeDeadline(RateLimitOptions(), absl::Seconds(30));
  EXPECT_CALL(budget, Reserve(_, _, _, _)).WillOnce([&](const std::string&, const std::string&, absl::Time, RequestBudget::Reserved done) {
    done(refused);
  });
  ExpectToken("t");
  auto answer = Result([&](auto done) { client.Get(context_, "/api/Client", {}, std::move(done)); });
  EXPECT_EQ(answer.status(), refused);
}

}  // namespace
}  // namespace halopsa

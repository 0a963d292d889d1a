#include "adapters/halopsa/retrying_sender.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <optional>
#include <vector>

#include "adapters/halopsa/rate_limiter.h"
#include "server/error_mapping.h"
#include "server/metrics.h"
#include "tests/adapters/halopsa/fake_scheduler.h"
#include "tests/adapters/halopsa/mock_halo_request_sender.h"

namespace halopsa {
namespace {

using ::testing::_;
using ::testing::HasSubstr;
using ::testing::InSequence;
using ::testing::SaveArg;
using ::testing::StrictMock;
using testing::AcmeContext;
using testing::AnswerFailure;
using testing::AnswerHttp;
using testing::FakeScheduler;
using testing::HaloRequestTo;
using testing::MockHaloRequestSender;
using testing::MockRequestBudget;

constexpr char kTickets[] = "https://acme.halopsa.com/api/Tickets";

class RetryingSenderTest : public ::testing::Test {
 protected:
  HaloRequest Read() { return {.method = "GET", .url = kTickets, .endpoint = "/api/Tickets"}; }
  HaloRequest Create() {
    return {.method = "POST", .url = kTickets, .endpoint = "/api/Tickets", .body = "[{}]", .repeatable = false};
  }

  void Send(RetryingSender& sender, HaloRequest request) {
    sender.Send(context_, std::move(request), [&](HaloAnswer got) { answer_ = std::move(got); });
  }
  void Send(HaloRequest request) { Send(sender_, std::move(request)); }

  // Runs every retry, and the retries they schedule.
  std::vector<absl::Time> RunAllScheduled() {
    std::vector<absl::Time> waits;
    while (scheduler_.waiting() > 0) {
      for (absl::Time when : scheduler_.RunScheduled()) waits.push_back(when);
    }
    return waits;
  }

  StrictMock<MockHaloRequestSender> next_;
  StrictMock<MockRequestBudget> budget_;
  FakeScheduler scheduler_;
  MetricsRegistry registry_;
  ServiceMetrics metrics_{registry_};
  RetryingSender sender_{next_, budget_, scheduler_, RetryOptions(), &metrics_};
  CallContext context_ = AcmeContext(absl::Now() + absl::Seconds(10));
  std::optional<HaloAnswer> answer_;
};

TEST_F(RetryingSenderTest, ASuccessGoesUpAsItIs) {
  EXPECT_CALL(next_, Send(_, HaloRequestTo("GET", kTickets), _)).WillOnce(AnswerHttp(201, R"({"id":1})"));
  Send(Read());
  ASSERT_TRUE(answer_.has_value());
  EXPECT_EQ(answer_->response->body, R"({"id":1})");
}

TEST_F(RetryingSenderTest, A401IsSentAgainAtOnceAndCountedAsUnauthorized) {
  EXPECT_CALL(next_, Send(_, HaloRequestTo("GET", kTickets), _)).WillOnce(AnswerHttp(401)).WillOnce(AnswerHttp(200));
  Send(Read());
  ASSERT_TRUE(answer_.has_value()) << "no wait before the resend";
  EXPECT_EQ(answer_->response->status, 200);
  EXPECT_EQ(scheduler_.waiting(), 0u);
  EXPECT_THAT(registry_.Render(), HasSubstr("halopsa_upstream_retries_total{reason=\"unauthorized\"} 1\n"));
}

TEST_F(RetryingSenderTest, A401OnEveryAttemptIsUnauthenticatedNamingTheEndpoint) {
  RetryingSender sender(next_, budget_, scheduler_, RetryOptions{.max_attempts = 3}, &metrics_);
  EXPECT_CALL(next_, Send(_, _, _)).Times(3).WillRepeatedly(AnswerHttp(401, "Unauthorized"));
  Send(sender, Read());
  ASSERT_TRUE(answer_.has_value());
  EXPECT_EQ(answer_->response.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(GetErrorInfo(answer_->response.status())->metadata().at("endpoint"), "/api/Tickets");
}

TEST_F(RetryingSenderTest, OutOfAttemptsOnA401AfterAnotherFailureIsUnavailableWithRetryInfo) {
  RetryingSender sender(next_, budget_, scheduler_, RetryOptions{.max_attempts = 2}, &metrics_);
  EXPECT_CALL(next_, Send(_, _, _)).WillOnce(AnswerHttp(502)).WillOnce(AnswerHttp(401));
  Send(sender, Read());
  RunAllScheduled();
  ASSERT_TRUE(answer_.has_value());
  EXPECT_EQ(answer_->response.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(GetRetryDelay(answer_->response.status()).has_value());
}

TEST_F(RetryingSenderTest, ATransientFailureIsSentAgainAfterAJitteredBackoff) {
  InSequence in_order;
  EXPECT_CALL(next_, Send(_, HaloRequestTo("GET", kTickets), _)).WillOnce(AnswerHttp(502));
  EXPECT_CALL(next_, Send(_, HaloRequestTo("GET", kTickets), _)).WillOnce(AnswerHttp(200, "{}"));
  const absl::Time before = absl::Now();
  Send(Read());
  EXPECT_FALSE(answer_.has_value());
  const std::vector<absl::Time> waits = RunAllScheduled();
  ASSERT_EQ(waits.size(), 1u);
  EXPECT_GE(waits[0] - before, absl::Milliseconds(125));
  EXPECT_LE(waits[0] - before, absl::Milliseconds(250) + (absl::Now() - before));
  ASSERT_TRUE(answer_.has_value());
  EXPECT_TRUE(answer_->response.ok());
  EXPECT_THAT(registry_.Render(), HasSubstr("halopsa_upstream_retries_total{reason=\"transient\"} 1\n"));
}

TEST_F(RetryingSenderTest, ARateLimitedAnswerHoldsTheWholeTenantBackUntilTheRetry) {
  absl::Time paused_until;
  EXPECT_CALL(budget_, PauseUntil(RateLimitKey("https://acme.halopsa.com", "c"), _))
      .WillOnce(SaveArg<1>(&paused_until));
  EXPECT_CALL(next_, Send(_, _, _)).WillOnce(AnswerHttp(429)).WillOnce(AnswerHttp(201, "{}"));
  const absl::Time before = absl::Now();
  Send(Create());  // a 429 was not processed: even a create is resent
  const std::vector<absl::Time> waits = RunAllScheduled();
  ASSERT_EQ(waits.size(), 1u);
  EXPECT_EQ(paused_until, waits[0]);
  EXPECT_GE(waits[0] - before, absl::Seconds(1));
  ASSERT_TRUE(answer_.has_value());
  EXPECT_TRUE(answer_->response.ok());
  EXPECT_THAT(registry_.Render(), HasSubstr("halopsa_upstream_retries_total{reason=\"rate_limited\"} 1\n"));
}

TEST_F(RetryingSenderTest, ACreateThatMayHaveBeenDoneIsNeverResent) {
  EXPECT_CALL(next_, Send(_, _, _)).WillOnce(AnswerFailure(absl::UnavailableError("end of stream")));
  Send(Create());
  ASSERT_TRUE(answer_.has_value());
  EXPECT_EQ(GetErrorInfo(answer_->response.status())->reason(), kReasonUpstreamOutcomeUnknown);
  EXPECT_THAT(answer_->response.status().message(), HasSubstr("may have processed"));
  EXPECT_EQ(scheduler_.waiting(), 0u);
}

TEST_F(RetryingSenderTest, ALayersOwnDecisionOverridesTheTable) {
  const absl::Status refused = absl::UnavailableError("no slot before the deadline");
  EXPECT_CALL(next_, Send(_, _, _)).WillOnce(AnswerFailure(refused, AttemptFailure::kFinal));
  Send(Read());  // the table would retry an UNAVAILABLE read
  ASSERT_TRUE(answer_.has_value());
  EXPECT_EQ(answer_->response.status(), refused) << "answered as it is";
  EXPECT_EQ(scheduler_.waiting(), 0u);

  answer_.reset();
  EXPECT_CALL(next_, Send(_, _, _))
      .WillOnce(AnswerFailure(absl::UnavailableError("token endpoint down"), AttemptFailure::kTransient))
      .WillOnce(AnswerHttp(201, "{}"));
  Send(Create());  // the table would not resend a create after UNAVAILABLE
  RunAllScheduled();
  ASSERT_TRUE(answer_.has_value());
  EXPECT_TRUE(answer_->response.ok());
}

TEST_F(RetryingSenderTest, OutOfTimeTheLastErrorCarriesWhenToTryAgain) {
  context_.deadline = absl::Now() + absl::Milliseconds(500);  // shorter than the least 429 backoff (1 s)
  EXPECT_CALL(budget_, PauseUntil(_, _));
  EXPECT_CALL(next_, Send(_, _, _)).WillOnce(AnswerHttp(429, "Rate Limit Reached"));
  Send(Read());
  ASSERT_TRUE(answer_.has_value());
  EXPECT_EQ(GetErrorInfo(answer_->response.status())->reason(), kReasonUpstreamRateLimited);
  const std::optional<absl::Duration> retry_delay = GetRetryDelay(answer_->response.status());
  ASSERT_TRUE(retry_delay.has_value());
  EXPECT_GE(*retry_delay, absl::Seconds(1));
}

TEST_F(RetryingSenderTest, AfterStopWaitingNothingWaitsForARetry) {
  EXPECT_CALL(next_, Send(_, _, _)).WillOnce(AnswerHttp(502));
  Send(Read());
  ASSERT_EQ(scheduler_.waiting(), 1u);
  sender_.StopWaiting();
  scheduler_.RunScheduled();
  ASSERT_TRUE(answer_.has_value());
  EXPECT_EQ(GetErrorInfo(answer_->response.status())->reason(), kReasonShuttingDown);

  answer_.reset();
  EXPECT_CALL(next_, Send(_, _, _)).WillOnce(AnswerHttp(502));
  Send(Read());
  ASSERT_TRUE(answer_.has_value()) << "answered at once instead of waiting";
  EXPECT_TRUE(GetRetryDelay(answer_->response.status()).has_value());
  EXPECT_EQ(scheduler_.waiting(), 0u);
}

}  // namespace
}  // namespace halopsa

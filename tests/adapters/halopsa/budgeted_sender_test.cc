#include "adapters/halopsa/budgeted_sender.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <optional>

#include "adapters/halopsa/rate_limiter.h"
#include "server/error_mapping.h"
#include "server/metrics.h"
#include "tests/adapters/halopsa/fake_scheduler.h"
#include "tests/adapters/halopsa/mock_halo_request_sender.h"

namespace halopsa {
namespace {

using ::testing::_;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StrictMock;
using testing::AcmeContext;
using testing::AnswerHttp;
using testing::FakeScheduler;
using testing::HaloRequestTo;
using testing::MockHaloRequestSender;
using testing::MockRequestBudget;

class BudgetedSenderTest : public ::testing::Test {
 protected:
  BudgetedSenderTest() { context_.org = "org-1"; }

  // Sends a GET; the budget answers the reservation with `slot`.
  void Send(absl::StatusOr<absl::Time> slot) {
    EXPECT_CALL(budget_, Reserve(RateLimitKey("https://acme.halopsa.com", "c"), "org-1", context_.deadline, _))
        .WillOnce([slot](const std::string&, const std::string&, absl::Time, RequestBudget::Reserved done) {
          done(slot);
        });
    sender_.Send(context_, HaloRequest{.method = "GET", .url = "https://acme.halopsa.com/api/Site"},
                 [&](HaloAnswer got) { answer_ = std::move(got); });
  }

  StrictMock<MockHaloRequestSender> next_;
  StrictMock<MockRequestBudget> budget_;
  FakeScheduler scheduler_;
  MetricsRegistry registry_;
  ServiceMetrics metrics_{registry_};
  BudgetedSender sender_{next_, budget_, scheduler_, &metrics_};
  CallContext context_ = AcmeContext(absl::Now() + absl::Seconds(10));
  std::optional<HaloAnswer> answer_;
};

TEST_F(BudgetedSenderTest, ASlotDueNowSendsAtOnce) {
  EXPECT_CALL(next_, Send(_, HaloRequestTo("GET", "https://acme.halopsa.com/api/Site"), _))
      .WillOnce(AnswerHttp(200, "{}"));
  Send(absl::Now());
  ASSERT_TRUE(answer_.has_value());
  EXPECT_EQ(answer_->response->status, 200);
  EXPECT_EQ(scheduler_.waiting(), 0u);
  EXPECT_THAT(registry_.Render(), Not(HasSubstr("halopsa_rate_limit_waits_total 1")));
}

TEST_F(BudgetedSenderTest, ALaterSlotWaitsOnTheSchedulerAndIsCounted) {
  const absl::Time slot = absl::Now() + absl::Seconds(3);
  Send(slot);
  EXPECT_FALSE(answer_.has_value()) << "nothing is sent before the slot";
  EXPECT_THAT(registry_.Render(), HasSubstr("halopsa_rate_limit_waits_total 1\n"));
  EXPECT_CALL(next_, Send(_, _, _)).WillOnce(AnswerHttp(200, "{}"));
  EXPECT_EQ(scheduler_.RunScheduled(), std::vector<absl::Time>{slot});
  ASSERT_TRUE(answer_.has_value());
  EXPECT_TRUE(answer_->response.ok());
}

TEST_F(BudgetedSenderTest, TheBudgetsRefusalIsAFinalAnswerAndNothingIsSent) {
  const absl::Status refused = NoSlotBeforeDeadline(RateLimitOptions(), absl::Seconds(30));
  Send(refused);
  ASSERT_TRUE(answer_.has_value());
  EXPECT_EQ(answer_->response.status(), refused);
  EXPECT_EQ(answer_->unsent, AttemptFailure::kFinal) << "a retry would only wait longer";
}

TEST_F(BudgetedSenderTest, AfterStopWaitingARequestWaitingForItsSlotIsNotSent) {
  Send(absl::Now() + absl::Seconds(3));
  sender_.StopWaiting();
  scheduler_.RunScheduled();
  ASSERT_TRUE(answer_.has_value());
  EXPECT_EQ(GetErrorInfo(answer_->response.status())->reason(), kReasonShuttingDown);
  EXPECT_EQ(answer_->unsent, AttemptFailure::kFinal);
}

}  // namespace
}  // namespace halopsa

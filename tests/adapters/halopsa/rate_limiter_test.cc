#include "adapters/halopsa/rate_limiter.h"

#include <gtest/gtest.h>

#include "server/error_mapping.h"

namespace halopsa {
namespace {

class TenantRateLimiterTest : public ::testing::Test {
 protected:
  RateLimitOptions Options(int max_requests, absl::Duration window) {
    RateLimitOptions options;
    options.max_requests = max_requests;
    options.window = window;
    options.clock = [this] { return now_; };
    return options;
  }

  absl::Time now_ = absl::FromUnixSeconds(1'800'000'000);
  const absl::Time far_ = absl::InfiniteFuture();
};

TEST_F(TenantRateLimiterTest, RequestsWithinTheLimitGoNowAndTheNextWaitsForTheWindow) {
  TenantRateLimiter limiter(Options(3, absl::Seconds(10)));
  for (int i = 0; i < 3; ++i) EXPECT_EQ(*limiter.ReserveNow("a", far_), now_);
  now_ += absl::Seconds(4);

  EXPECT_EQ(*limiter.ReserveNow("a", far_), now_ - absl::Seconds(4) + absl::Seconds(10));
  EXPECT_EQ(*limiter.ReserveNow("a", far_), now_ - absl::Seconds(4) + absl::Seconds(10));
}

TEST_F(TenantRateLimiterTest, SlotsStayFirstComeFirstServedAcrossWindows) {
  TenantRateLimiter limiter(Options(1, absl::Seconds(10)));
  const absl::Time start = now_;
  EXPECT_EQ(*limiter.ReserveNow("a", far_), start);
  EXPECT_EQ(*limiter.ReserveNow("a", far_), start + absl::Seconds(10));
  EXPECT_EQ(*limiter.ReserveNow("a", far_), start + absl::Seconds(20));
}

TEST_F(TenantRateLimiterTest, TenantsAreLimitedSeparately) {
  TenantRateLimiter limiter(Options(1, absl::Seconds(10)));
  EXPECT_EQ(*limiter.ReserveNow(RateLimitKey("https://a.example", "c"), far_), now_);
  EXPECT_EQ(*limiter.ReserveNow(RateLimitKey("https://a.example", "d"), far_), now_);
  EXPECT_EQ(*limiter.ReserveNow(RateLimitKey("https://b.example", "c"), far_), now_);
  EXPECT_GT(*limiter.ReserveNow(RateLimitKey("https://a.example", "c"), far_), now_);
}

TEST_F(TenantRateLimiterTest, ASlotAfterTheDeadlineIsRefusedWithRetryInfoAndNotTaken) {
  TenantRateLimiter limiter(Options(1, absl::Seconds(10)));
  ASSERT_TRUE(limiter.ReserveNow("a", far_).ok());

  absl::StatusOr<absl::Time> refused = limiter.ReserveNow("a", now_ + absl::Seconds(5));

  EXPECT_EQ(refused.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(GetErrorInfo(refused.status())->reason(), kReasonUpstreamRateLimited);
  EXPECT_EQ(GetRetryDelay(refused.status()), absl::Seconds(10));
  // The refused call did not push later callers back.
  EXPECT_EQ(*limiter.ReserveNow("a", far_), now_ + absl::Seconds(10));
}

TEST_F(TenantRateLimiterTest, WaitingCallsAreBounded) {
  RateLimitOptions options = Options(1, absl::Seconds(1));
  options.max_waiting = 2;
  TenantRateLimiter limiter(options);
  ASSERT_TRUE(limiter.ReserveNow("a", far_).ok());  // now
  ASSERT_TRUE(limiter.ReserveNow("a", far_).ok());  // waits
  ASSERT_TRUE(limiter.ReserveNow("a", far_).ok());  // waits

  absl::StatusOr<absl::Time> shed = limiter.ReserveNow("a", far_);

  EXPECT_EQ(shed.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(GetErrorInfo(shed.status())->reason(), kReasonOverloaded);
  now_ += absl::Seconds(1);  // one waiter's slot came
  EXPECT_TRUE(limiter.ReserveNow("a", far_).ok());
}

TEST_F(TenantRateLimiterTest, PauseHoldsEveryRequestOfTheTenantBack) {
  TenantRateLimiter limiter(Options(100, absl::Seconds(10)));
  limiter.PauseUntil("a", now_ + absl::Seconds(3));
  limiter.PauseUntil("a", now_ + absl::Seconds(1));  // an earlier pause does not shorten it

  EXPECT_EQ(*limiter.ReserveNow("a", far_), now_ + absl::Seconds(3));
  EXPECT_EQ(*limiter.ReserveNow("b", far_), now_);
}

TEST_F(TenantRateLimiterTest, ZeroTurnsTheLimiterOff) {
  TenantRateLimiter limiter(Options(0, absl::Seconds(10)));
  limiter.PauseUntil("a", now_ + absl::Hours(1));
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(*limiter.ReserveNow("a", far_), now_);
  EXPECT_EQ(limiter.tenants(), 0u);
}

TEST_F(TenantRateLimiterTest, TrackedTenantsAreBoundedIdleOnesGoFirst) {
  RateLimitOptions options = Options(1, absl::Seconds(10));
  options.max_tenants = 2;
  TenantRateLimiter limiter(options);
  ASSERT_TRUE(limiter.ReserveNow("idle", far_).ok());
  now_ += absl::Seconds(5);
  ASSERT_TRUE(limiter.ReserveNow("busy", far_).ok());

  ASSERT_TRUE(limiter.ReserveNow("new", far_).ok());

  EXPECT_EQ(limiter.tenants(), 2u);
  EXPECT_GT(*limiter.ReserveNow("busy", far_), now_) << "the busy tenant's window was kept";
}

}  // namespace
}  // namespace halopsa

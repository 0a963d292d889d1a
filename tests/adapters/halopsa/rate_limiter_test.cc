#include "adapters/halopsa/rate_limiter.h"

#include <algorithm>
#include <vector>

#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
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

  // A slot for `org` that must be granted.
  absl::Time Slot(TenantRateLimiter& limiter, const std::string& tenant, const std::string& org = "o") {
    absl::StatusOr<SlotAnswer> answer = limiter.TryReserveNow(tenant, org, far_);
    EXPECT_TRUE(answer.ok()) << answer.status();
    if (!answer.ok()) return absl::InfinitePast();
    EXPECT_EQ(answer->kind, SlotAnswer::Kind::kReserved);
    return answer->at;
  }

  absl::Time now_ = absl::FromUnixSeconds(1'800'000'000);
  const absl::Time far_ = absl::InfiniteFuture();
};

TEST_F(TenantRateLimiterTest, ABurstOfATwentiethGoesNowThenSlotsArePaced) {
  RateLimitOptions options = Options(40, absl::Seconds(10));
  TenantRateLimiter limiter(options);
  ASSERT_EQ(BurstOf(options), 2);
  const absl::Duration spacing = SpacingOf(options);
  EXPECT_EQ(spacing, absl::Ceil(absl::Seconds(10) / 38, absl::Microseconds(1)));
  EXPECT_EQ(Slot(limiter, "a", "o1"), now_);
  EXPECT_EQ(Slot(limiter, "a", "o2"), now_);
  EXPECT_EQ(Slot(limiter, "a", "o3"), now_ + spacing);
  EXPECT_EQ(Slot(limiter, "a", "o4"), now_ + 2 * spacing);
}

// One slot per window stays free: HaloPSA counts a request when it arrives,
// a little after its slot.
TEST_F(TenantRateLimiterTest, NoRollingWindowEverHoldsTheWholeLimit) {
  RateLimitOptions options = Options(60, absl::Seconds(60));
  options.max_waiting = 100000;
  TenantRateLimiter limiter(options);
  std::vector<absl::Time> slots;
  // Bursts of 100 requests 10 ms apart from as many orgs, each after a quiet
  // two minutes that gives the burst allowance back.
  for (int step = 0; step < 2000; ++step) {
    now_ += step % 100 == 0 ? absl::Minutes(2) : absl::Milliseconds(10);
    absl::StatusOr<SlotAnswer> answer = limiter.TryReserveNow("t", absl::StrCat("org", step), far_);
    ASSERT_TRUE(answer.ok());
    ASSERT_EQ(answer->kind, SlotAnswer::Kind::kReserved);
    slots.push_back(answer->at);
  }
  std::sort(slots.begin(), slots.end());
  size_t fullest = 0;
  for (size_t first = 0, last = 0; last < slots.size(); ++last) {
    while (slots[last] - slots[first] >= options.window) ++first;
    fullest = std::max(fullest, last - first + 1);
  }
  EXPECT_LE(fullest, 59u) << "slots in one rolling window";
  EXPECT_GE(fullest, 55u) << "the pace uses most of the window";
}

TEST_F(TenantRateLimiterTest, AnOrgHoldingItsShareOfFutureSlotsIsToldWhenItsTurnComes) {
  RateLimitOptions options = Options(20, absl::Seconds(20));  // a burst of 1, then a slot per second
  TenantRateLimiter limiter(options);
  const absl::Duration spacing = SpacingOf(options);
  EXPECT_EQ(Slot(limiter, "t", "storm"), now_);
  EXPECT_EQ(Slot(limiter, "t", "storm"), now_ + spacing);
  EXPECT_EQ(Slot(limiter, "t", "other"), now_ + 2 * spacing);

  absl::StatusOr<SlotAnswer> full = limiter.TryReserveNow("t", "storm", far_);

  ASSERT_TRUE(full.ok());
  EXPECT_EQ(full->kind, SlotAnswer::Kind::kOrgFull);
  EXPECT_EQ(full->at, now_ + spacing) << "its earliest future slot";
  EXPECT_EQ(full->next_free, now_ + 3 * spacing);
  EXPECT_EQ(full->active_orgs, 2);
  now_ += spacing;  // its slot is due: its turn again
  EXPECT_EQ(Slot(limiter, "t", "storm"), now_ + 2 * spacing);
}

TEST_F(TenantRateLimiterTest, TenantsAreLimitedSeparately) {
  TenantRateLimiter limiter(Options(1, absl::Seconds(10)));
  EXPECT_EQ(Slot(limiter, RateLimitKey("https://a.example", "c")), now_);
  EXPECT_EQ(Slot(limiter, RateLimitKey("https://a.example", "d")), now_);
  EXPECT_EQ(Slot(limiter, RateLimitKey("https://b.example", "c")), now_);
  EXPECT_GT(Slot(limiter, RateLimitKey("https://a.example", "c")), now_);
}

TEST_F(TenantRateLimiterTest, ASlotAfterTheDeadlineIsRefusedWithRetryInfoAndNotTaken) {
  TenantRateLimiter limiter(Options(1, absl::Seconds(10)));
  ASSERT_EQ(Slot(limiter, "a"), now_);

  absl::StatusOr<SlotAnswer> refused = limiter.TryReserveNow("a", "o", now_ + absl::Seconds(5));

  EXPECT_EQ(refused.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(GetErrorInfo(refused.status())->reason(), kReasonUpstreamRateLimited);
  EXPECT_EQ(GetRetryDelay(refused.status()), absl::Seconds(10));
  // The refused call did not push later callers back.
  EXPECT_EQ(Slot(limiter, "a"), now_ + absl::Seconds(10));
}

TEST_F(TenantRateLimiterTest, WaitingRequestsAreBoundedPerTenant) {
  RateLimitOptions options = Options(1, absl::Seconds(1));
  options.max_waiting = 2;
  TenantRateLimiter limiter(options);
  ASSERT_EQ(Slot(limiter, "a", "o1"), now_);
  ASSERT_GT(Slot(limiter, "a", "o2"), now_);  // waits
  ASSERT_GT(Slot(limiter, "a", "o3"), now_);  // waits

  absl::StatusOr<SlotAnswer> shed = limiter.TryReserveNow("a", "o4", far_);

  EXPECT_EQ(shed.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(GetErrorInfo(shed.status())->reason(), kReasonOverloaded);
  now_ += absl::Seconds(1);  // one waiter's slot came
  EXPECT_TRUE(limiter.TryReserveNow("a", "o4", far_).ok());
}

TEST_F(TenantRateLimiterTest, PauseHoldsEveryRequestOfTheTenantBack) {
  TenantRateLimiter limiter(Options(100, absl::Seconds(10)));
  limiter.PauseUntil("a", now_ + absl::Seconds(3));
  limiter.PauseUntil("a", now_ + absl::Seconds(1));  // an earlier pause does not shorten it

  EXPECT_EQ(Slot(limiter, "a"), now_ + absl::Seconds(3));
  EXPECT_EQ(Slot(limiter, "b"), now_);
}

TEST_F(TenantRateLimiterTest, ZeroTurnsTheLimiterOff) {
  TenantRateLimiter limiter(Options(0, absl::Seconds(10)));
  limiter.PauseUntil("a", now_ + absl::Hours(1));
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(Slot(limiter, "a"), now_);
  EXPECT_EQ(limiter.tenants(), 0u);
}

TEST_F(TenantRateLimiterTest, TrackedTenantsAreBoundedIdleOnesGoFirst) {
  RateLimitOptions options = Options(1, absl::Seconds(10));
  options.max_tenants = 2;
  TenantRateLimiter limiter(options);
  ASSERT_EQ(Slot(limiter, "idle"), now_);
  now_ += absl::Seconds(5);
  ASSERT_EQ(Slot(limiter, "busy"), now_);

  ASSERT_EQ(Slot(limiter, "new"), now_);

  EXPECT_EQ(limiter.tenants(), 2u);
  EXPECT_GT(Slot(limiter, "busy"), now_) << "the busy tenant's pace was kept";
}

TEST(TenantLabelTest, IsTheInstanceUrlWithoutTheClientId) {
  EXPECT_EQ(TenantLabel(RateLimitKey("https://acme.halopsa.com", "secret-ish-id")), "https://acme.halopsa.com");
}

}  // namespace
}  // namespace halopsa

#include "adapters/limacharlie/failure_throttle.h"

#include <gtest/gtest.h>

namespace halopsa::lc {
namespace {

TEST(FailureThrottleTest, RefillsOverTimeAndForgetsSourcesBeyondItsBound) {
  absl::Time now = absl::FromUnixSeconds(1'800'000'000);
  FailureThrottle throttle(FailureThrottleOptions{.burst = 2, .refill_per_second = 1, .max_sources = 2},
                           [&now] { return now; });
  throttle.RecordFailure("a");
  throttle.RecordFailure("a");
  EXPECT_FALSE(throttle.Allows("a"));
  now += absl::Seconds(1);
  EXPECT_TRUE(throttle.Allows("a"));
  throttle.RecordFailure("b");
  throttle.RecordFailure("c");  // beyond max_sources: the full buckets go, then everything
  EXPECT_TRUE(throttle.Allows("b"));
}

}  // namespace
}  // namespace halopsa::lc

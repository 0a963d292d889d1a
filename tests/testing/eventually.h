#ifndef HALOPSA_TESTS_TESTING_EVENTUALLY_H_
#define HALOPSA_TESTS_TESTING_EVENTUALLY_H_

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace halopsa::testing {

// Waits until `condition` holds, within `bound`; false when it never did.
// For states another process or thread reaches (Redis up again, /readyz
// 503): polls, never sleeps as synchronization.
template <typename Condition>
bool Eventually(Condition condition, absl::Duration bound = absl::Seconds(15)) {
  const absl::Time end = absl::Now() + bound;
  while (!condition()) {
    if (absl::Now() > end) return false;
    absl::SleepFor(absl::Milliseconds(2));
  }
  return true;
}

}  // namespace halopsa::testing

#endif  // HALOPSA_TESTS_TESTING_EVENTUALLY_H_

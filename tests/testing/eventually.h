#ifndef HALOPSA_TESTS_TESTING_EVENTUALLY_H_
#define HALOPSA_TESTS_TESTING_EVENTUALLY_H_

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace halopsa::testing {

// Waits until `condition` holds, within `bound`; false when it never did.
// For states another process or thread reaches (Redis up again, /readyz
// 503): polls every `poll`, never sleeps as synchronization. A condition
// that asks another process over the network polls less often.
template <typename Condition>
bool Eventually(Condition condition, absl::Duration bound = absl::Seconds(15),
                absl::Duration poll = absl::Milliseconds(2)) {
  const absl::Time end = absl::Now() + bound;
  while (!condition()) {
    if (absl::Now() > end) return false;
    absl::SleepFor(poll);
  }
  return true;
}

}  // namespace halopsa::testing

#endif  // HALOPSA_TESTS_TESTING_EVENTUALLY_H_

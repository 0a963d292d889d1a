#ifndef HALOPSA_ADAPTERS_NET_STEADY_TIME_H_
#define HALOPSA_ADAPTERS_NET_STEADY_TIME_H_

#include <algorithm>
#include <chrono>

#include "absl/time/time.h"

namespace halopsa::net {

using SteadyTime = std::chrono::steady_clock::time_point;

// The steady-clock time `d` from now, for Asio timers and Beast's stream
// expiry; saturates instead of overflowing for infinite deadlines.
inline SteadyTime SteadyAfter(absl::Duration d) {
  const SteadyTime now = std::chrono::steady_clock::now();
  const std::chrono::nanoseconds delta = absl::ToChronoNanoseconds(std::max(d, absl::ZeroDuration()));
  if (delta >= SteadyTime::max() - now) return SteadyTime::max();
  return now + std::chrono::duration_cast<SteadyTime::duration>(delta);
}

}  // namespace halopsa::net

#endif  // HALOPSA_ADAPTERS_NET_STEADY_TIME_H_

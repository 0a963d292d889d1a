#ifndef HALOPSA_ADAPTERS_LIMACHARLIE_FAILURE_THROTTLE_H_
#define HALOPSA_ADAPTERS_LIMACHARLIE_FAILURE_THROTTLE_H_

#include <cstddef>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/functional/any_invocable.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace halopsa::lc {

struct FailureThrottleOptions {
  double burst = 20;                 // failures a source may have in a row
  double refill_per_second = 2;      // and then this many per second
  size_t max_sources = 10000;        // sources remembered at most
};

// A budget of signature failures per source address (a token bucket): a
// source that spent it is refused before its body is inflated or hashed,
// so unsigned senders cannot spend the CPU signed callbacks need.
// Thread-safe.
class FailureThrottle {
 public:
  using Clock = absl::AnyInvocable<absl::Time()>;

  explicit FailureThrottle(FailureThrottleOptions options = {}, Clock clock = &absl::Now)
      : options_(options), clock_(std::move(clock)) {}

  // False while `source` has no failures left to spend.
  bool Allows(const std::string& source);
  void RecordFailure(const std::string& source);

 private:
  struct Bucket {
    double tokens;
    absl::Time updated;
  };

  // `bucket` refilled up to now.
  void Refill(Bucket& bucket, absl::Time now) const;
  // Forgets the sources with a full budget; all of them if that is not enough.
  void MakeRoom(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const FailureThrottleOptions options_;
  absl::Mutex mu_;
  Clock clock_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, Bucket> buckets_ ABSL_GUARDED_BY(mu_);
};

}  // namespace halopsa::lc

#endif  // HALOPSA_ADAPTERS_LIMACHARLIE_FAILURE_THROTTLE_H_

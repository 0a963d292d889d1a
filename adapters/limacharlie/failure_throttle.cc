#include "adapters/limacharlie/failure_throttle.h"

#include <algorithm>

namespace halopsa::lc {

void FailureThrottle::Refill(Bucket& bucket, absl::Time now) const {
  const double earned = absl::ToDoubleSeconds(now - bucket.updated) * options_.refill_per_second;
  bucket.tokens = std::min(options_.burst, bucket.tokens + std::max(0.0, earned));
  bucket.updated = now;
}

bool FailureThrottle::Allows(const std::string& source) {
  absl::MutexLock lock(&mu_);
  auto it = buckets_.find(source);
  if (it == buckets_.end()) return true;
  Refill(it->second, clock_());
  return it->second.tokens >= 1;
}

void FailureThrottle::RecordFailure(const std::string& source) {
  absl::MutexLock lock(&mu_);
  const absl::Time now = clock_();
  auto it = buckets_.find(source);
  if (it == buckets_.end()) {
    if (buckets_.size() >= options_.max_sources) MakeRoom(now);
    it = buckets_.emplace(source, Bucket{options_.burst, now}).first;
  }
  Refill(it->second, now);
  it->second.tokens = std::max(0.0, it->second.tokens - 1);
}

void FailureThrottle::MakeRoom(absl::Time now) {
  absl::erase_if(buckets_, [&](auto& entry) {
    Refill(entry.second, now);
    return entry.second.tokens >= options_.burst;
  });
  if (buckets_.size() >= options_.max_sources) buckets_.clear();
}

}  // namespace halopsa::lc

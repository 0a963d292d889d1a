#include "server/link_locks.h"

#include <utility>

#include "absl/time/clock.h"

namespace halopsa {

void LocalLinkLocks::Acquire(const std::string& key, absl::Time deadline, Acquired acquired) {
  serializer_.Run(key, [deadline, acquired = std::move(acquired)](KeyedSerializer::Release release) mutable {
    // The holders ahead were slow: a lock that comes too late is given back
    // at once, so the call does not work past its deadline.
    if (absl::Now() >= deadline) {
      release();
      return acquired(absl::DeadlineExceededError("the deadline passed while waiting for the lock"));
    }
    acquired(Release(std::move(release)));
  });
}

}  // namespace halopsa

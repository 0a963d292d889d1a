#ifndef HALOPSA_SERVER_LINK_LOCKS_H_
#define HALOPSA_SERVER_LINK_LOCKS_H_

#include <string>

#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/keyed_serializer.h"

namespace halopsa {

// Locks that keep two links from interleaving their read-modify-write of
// one ticket's asset list, or their lookup-or-create of one hostname's
// asset. Held in this process (LocalLinkLocks) or by every replica together
// (Redis leases with an owner token).
class LinkLocks {
 public:
  // Call exactly once, when the critical section is over.
  using Release = absl::AnyInvocable<void()>;
  using Acquired = absl::AnyInvocable<void(absl::StatusOr<Release>)>;

  virtual ~LinkLocks() = default;

  // Runs `acquired` with the Release once `key` is held, or with why it
  // cannot be: DEADLINE_EXCEEDED when `deadline` passed first, UNAVAILABLE
  // (SHARED_STATE_UNAVAILABLE) when the shared locks cannot be reached. Never
  // blocks a thread while waiting; `acquired` may run before Acquire returns.
  virtual void Acquire(const std::string& key, absl::Time deadline, Acquired acquired) = 0;
};

// Locks of this process: waiters queue per key, first come, first served.
class LocalLinkLocks final : public LinkLocks {
 public:
  void Acquire(const std::string& key, absl::Time deadline, Acquired acquired) override;

  size_t active_keys() const { return serializer_.active_keys(); }

 private:
  KeyedSerializer serializer_;
};

}  // namespace halopsa

#endif  // HALOPSA_SERVER_LINK_LOCKS_H_

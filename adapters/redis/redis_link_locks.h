#ifndef HALOPSA_ADAPTERS_REDIS_REDIS_LINK_LOCKS_H_
#define HALOPSA_ADAPTERS_REDIS_REDIS_LINK_LOCKS_H_

#include <memory>
#include <string>

#include "absl/time/time.h"
#include "adapters/redis/redis_client.h"
#include "server/link_locks.h"

namespace halopsa::redis {

struct RedisLockOptions {
  // A lease outlives its holder's deadline by this much, so a live holder
  // never loses it; a holder that died frees it this long after its deadline.
  absl::Duration lease_margin = absl::Seconds(2);
  absl::Duration max_lease = absl::Minutes(5);
  // Waiting for a held lock polls Redis, from first_poll doubling to max_poll.
  absl::Duration first_poll = absl::Milliseconds(5);
  absl::Duration max_poll = absl::Milliseconds(100);
};

// Link locks for every replica: each a Redis lease (SET NX PX) holding a
// random owner token, released by compare-and-delete (one Lua script), so a
// holder whose lease ran out can never release another's lock. Waiters of
// this replica queue in-process first, so one of them at a time polls Redis.
class RedisLinkLocks final : public LinkLocks {
 public:
  explicit RedisLinkLocks(RedisClient& redis, RedisLockOptions options = {})
      : redis_(redis), options_(options), local_(std::make_shared<LocalLinkLocks>()) {}

  void Acquire(const std::string& key, absl::Time deadline, Acquired acquired) override;

 private:
  struct Attempt;
  void TryLock(std::shared_ptr<Attempt> attempt);
  Release ReleaseOf(std::shared_ptr<Attempt> attempt);

  RedisClient& redis_;
  const RedisLockOptions options_;
  // Shared with the releases in flight, which may end after this object.
  std::shared_ptr<LocalLinkLocks> local_;
};

}  // namespace halopsa::redis

#endif  // HALOPSA_ADAPTERS_REDIS_REDIS_LINK_LOCKS_H_

#include "adapters/redis/redis_link_locks.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace halopsa::redis {
namespace {

// KEYS: the lock. ARGV: the owner token. Deletes the lock only if it is
// still this owner's.
const RedisScript kRelease(R"lua(
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
)lua");

// A release is sent whatever the call's deadline; it still gets a bound.
constexpr absl::Duration kReleaseBound = absl::Seconds(5);

}  // namespace

struct RedisLinkLocks::Attempt {
  std::string key;  // the Redis key
  absl::Time deadline;
  Acquired acquired;
  std::shared_ptr<LocalLinkLocks> local_locks;  // keeps what `local` releases alive
  Release local;  // this replica's queue for the key, held while polling and holding
  std::string token = NewOwnerToken();
  absl::Duration next_poll;

  // Answers the waiter once; what it holds (the call) is dropped with it.
  void Answer(absl::StatusOr<Release> result) { std::exchange(acquired, nullptr)(std::move(result)); }
  // Gives up: this replica's next waiter may try.
  void Fail(absl::Status why) {
    std::exchange(local, nullptr)();
    Answer(std::move(why));
  }
};

void RedisLinkLocks::Acquire(const std::string& key, absl::Time deadline, Acquired acquired) {
  auto attempt = std::make_shared<Attempt>();
  attempt->key = SharedKey("lock", key);
  attempt->deadline = deadline;
  attempt->acquired = std::move(acquired);
  attempt->next_poll = options_.first_poll;
  attempt->local_locks = local_;
  local_->Acquire(key, deadline, [this, attempt](absl::StatusOr<Release> local) mutable {
    if (!local.ok()) return attempt->Answer(local.status());
    attempt->local = *std::move(local);
    TryLock(std::move(attempt));
  });
}

void RedisLinkLocks::TryLock(std::shared_ptr<Attempt> attempt) {
  const absl::Duration lease =
      std::min(std::max(attempt->deadline - absl::Now(), absl::ZeroDuration()) + options_.lease_margin,
               options_.max_lease);
  redis_.Command(
      {"SET", attempt->key, attempt->token, "NX", "PX", absl::StrCat(std::max<int64_t>(1, absl::ToInt64Milliseconds(lease)))},
      attempt->deadline, [this, attempt](absl::StatusOr<RedisReply> reply) mutable {
        if (!reply.ok()) return attempt->Fail(reply.status());
        if (reply->type != RedisReply::Type::kNil) return attempt->Answer(ReleaseOf(attempt));
        // Held by another replica: poll again while the deadline allows.
        const absl::Duration wait = attempt->next_poll;
        attempt->next_poll = std::min(wait * 2, options_.max_poll);
        if (absl::Now() + wait >= attempt->deadline) {
          return attempt->Fail(absl::DeadlineExceededError("the deadline passed while waiting for the lock"));
        }
        redis_.RunAfter(wait, [this, attempt]() mutable { TryLock(std::move(attempt)); });
      });
}

LinkLocks::Release RedisLinkLocks::ReleaseOf(std::shared_ptr<Attempt> attempt) {
  return [this, attempt = std::move(attempt)]() mutable {
    redis_.Eval(kRelease, {attempt->key}, {attempt->token}, absl::Now() + kReleaseBound,
                [attempt](absl::StatusOr<RedisReply>) {
                  // Failed or not, the lease expires anyway; this replica's
                  // next waiter may go on polling.
                  std::exchange(attempt->local, nullptr)();
                });
  };
}

}  // namespace halopsa::redis

#ifndef HALOPSA_ADAPTERS_REDIS_REDIS_REPLY_CACHE_H_
#define HALOPSA_ADAPTERS_REDIS_REDIS_REPLY_CACHE_H_

#include <cstddef>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "adapters/limacharlie/reply_cache.h"
#include "adapters/redis/redis_client.h"

namespace halopsa::redis {

struct RedisReplyOptions {
  absl::Duration ttl = absl::Hours(24);  // how long a final reply is kept
  size_t max_reply_bytes = 1 << 20;      // larger replies are not kept (the retry runs again)
  // A claim outlives its holder's deadline by this much, so a live holder
  // never loses it; the claim of a replica that died goes this long after
  // its deadline.
  absl::Duration lease_margin = absl::Seconds(5);
  // A duplicate waiting for a running attempt polls Redis, from first_poll
  // doubling to max_poll.
  absl::Duration first_poll = absl::Milliseconds(10);
  absl::Duration max_poll = absl::Milliseconds(200);
};

// The gateway's replies shared by every replica. Join is one Lua script
// that either finds the final reply, or finds a running attempt's claim, or
// claims the key with a lease and an owner token; Finish is one script that
// stores the reply (or drops the claim) only if the claim is still this
// attempt's. A duplicate on any replica polls until the reply is there or
// its deadline passes. When a replica dies mid-call its claim expires, and
// the next attempt runs: the shared unknown-outcome journal then makes a
// keyed create look for what the dead attempt made before writing.
class RedisReplyCache final : public lc::ReplyCache {
 public:
  explicit RedisReplyCache(RedisClient& redis, RedisReplyOptions options = {}) : redis_(redis), options_(options) {}

  void Join(const Key& key, absl::Time deadline, Waiter waiter, Run run) override;
  void Finish(const Key& key, const net::ServerResponse& reply, bool remember) override;

 private:
  struct Attempt;
  void Claim(std::shared_ptr<Attempt> attempt);
  void OnClaim(std::shared_ptr<Attempt> attempt, absl::StatusOr<RedisReply> reply);

  RedisClient& redis_;
  const RedisReplyOptions options_;
  absl::Mutex mu_;
  // Attempts of this replica that hold their key's claim.
  std::map<Key, std::shared_ptr<Attempt>> running_ ABSL_GUARDED_BY(mu_);
};

// A reply as one binary-safe string, and back (nullopt when malformed).
std::string EncodeReply(const net::ServerResponse& reply);
std::optional<net::ServerResponse> DecodeReply(absl::string_view encoded);

}  // namespace halopsa::redis

#endif  // HALOPSA_ADAPTERS_REDIS_REDIS_REPLY_CACHE_H_

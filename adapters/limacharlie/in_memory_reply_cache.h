#ifndef HALOPSA_ADAPTERS_LIMACHARLIE_IN_MEMORY_REPLY_CACHE_H_
#define HALOPSA_ADAPTERS_LIMACHARLIE_IN_MEMORY_REPLY_CACHE_H_

#include <cstddef>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/functional/any_invocable.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "adapters/limacharlie/reply_cache.h"
#include "adapters/net/http_server.h"
#include "server/bounded_ttl_map.h"

namespace halopsa::lc {

struct ReplyCacheOptions {
  size_t max_entries = 100000;           // completed replies kept
  size_t max_bytes = 256 << 20;          // their bodies, in total
  absl::Duration ttl = absl::Hours(24);  // how long a completed reply is kept
  std::function<absl::Time()> clock = absl::Now;
};

// The ReplyCache of one process: completed replies in memory, the least
// recently used out first when a bound is reached. Requests in flight are
// not counted: the HTTP server's connection limit bounds them. A duplicate
// waits for the first attempt however long it runs (it always ends).
// Thread-safe; waiters are called without the lock held.
class InMemoryReplyCache final : public ReplyCache {
 public:
  using Waiter = absl::AnyInvocable<void(net::ServerResponse)>;

  explicit InMemoryReplyCache(ReplyCacheOptions options);

  void Join(const Key& key, absl::Time deadline, ReplyCache::Waiter waiter, Run run) override;

  // Registers `waiter` for the reply under `key`. Returns true when this is
  // the first attempt: the caller runs it and calls Finish(key, ...) once.
  // Otherwise `waiter` already got the stored reply (inline) or gets the
  // first attempt's reply when it finishes, marked with kReplayHeader.
  bool Join(const Key& key, Waiter waiter);

  // Answers every waiter of `key` (the first attempt's included) with
  // `reply`, and keeps it for later retries when `remember`.
  void Finish(const Key& key, const net::ServerResponse& reply, bool remember) override;

  size_t completed() const;  // replies kept right now

 private:
  const ReplyCacheOptions options_;
  mutable absl::Mutex mu_;
  // Waiters of the attempts under way, the first attempt's first.
  absl::flat_hash_map<Key, std::vector<Waiter>> running_ ABSL_GUARDED_BY(mu_);
  // Completed replies, weighed by their bodies' bytes.
  BoundedTtlMap<Key, net::ServerResponse> completed_ ABSL_GUARDED_BY(mu_);
};

}  // namespace halopsa::lc

#endif  // HALOPSA_ADAPTERS_LIMACHARLIE_IN_MEMORY_REPLY_CACHE_H_

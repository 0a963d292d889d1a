#include "adapters/limacharlie/in_memory_reply_cache.h"

namespace halopsa::lc {

InMemoryReplyCache::InMemoryReplyCache(ReplyCacheOptions options)
    : options_(std::move(options)),
      completed_({.max_entries = options_.max_entries, .max_weight = options_.max_bytes}) {}

void InMemoryReplyCache::Join(const Key& key, absl::Time /*deadline*/, ReplyCache::Waiter waiter, Run run) {
  if (Join(key, [waiter = std::move(waiter)](net::ServerResponse reply) mutable { waiter(std::move(reply)); })) {
    run();
  }
}

bool InMemoryReplyCache::Join(const Key& key, Waiter waiter) {
  net::ServerResponse stored;
  {
    absl::MutexLock lock(&mu_);
    const absl::Time now = options_.clock();
    completed_.EraseExpired(now);
    const net::ServerResponse* reply = completed_.Find(key, now);
    if (reply == nullptr) {
      std::vector<Waiter>& waiters = running_[key];
      waiters.push_back(std::move(waiter));
      return waiters.size() == 1;
    }
    stored = *reply;
  }
  waiter(AsReplay(std::move(stored)));
  return false;
}

void InMemoryReplyCache::Finish(const Key& key, const net::ServerResponse& reply, bool remember) {
  std::vector<Waiter> waiters;
  {
    absl::MutexLock lock(&mu_);
    auto it = running_.find(key);
    if (it == running_.end()) return;
    waiters = std::move(it->second);
    running_.erase(it);
    // A reply larger than max_bytes, or a zero max_entries, is not kept.
    if (remember) completed_.Put(key, reply, options_.clock(), options_.ttl, reply.body.size());
  }
  // The first waiter is the attempt that ran; the rest are duplicates.
  for (size_t i = 0; i < waiters.size(); ++i) waiters[i](i == 0 ? reply : AsReplay(reply));
}

size_t InMemoryReplyCache::completed() const {
  absl::MutexLock lock(&mu_);
  return completed_.size();
}

}  // namespace halopsa::lc

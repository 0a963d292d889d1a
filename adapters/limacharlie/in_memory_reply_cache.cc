#include "adapters/limacharlie/in_memory_reply_cache.h"

namespace halopsa::lc {

InMemoryReplyCache::InMemoryReplyCache(ReplyCacheOptions options) : options_(std::move(options)) {}

void InMemoryReplyCache::Join(const Key& key, absl::Time /*deadline*/, ReplyCache::Waiter waiter, Run run) {
  if (Join(key, [waiter = std::move(waiter)](net::ServerResponse reply) mutable { waiter(std::move(reply)); })) {
    run();
  }
}

bool InMemoryReplyCache::Join(const Key& key, Waiter waiter) {
  net::ServerResponse stored;
  {
    absl::MutexLock lock(&mu_);
    EvictExpired(options_.clock());
    auto [it, inserted] = entries_.try_emplace(key);
    Entry& entry = it->second;
    if (inserted || !entry.done) {
      entry.waiters.push_back(std::move(waiter));
      return inserted;
    }
    stored = entry.reply;
  }
  waiter(AsReplay(std::move(stored)));
  return false;
}

void InMemoryReplyCache::Finish(const Key& key, const net::ServerResponse& reply, bool remember) {
  std::vector<Waiter> waiters;
  {
    absl::MutexLock lock(&mu_);
    auto it = entries_.find(key);
    if (it == entries_.end()) return;
    waiters = std::move(it->second.waiters);
    const bool fits = options_.max_entries > 0 && reply.body.size() <= options_.max_bytes;
    if (!remember || !fits) {
      entries_.erase(it);
    } else {
      it->second = Entry{true, reply, options_.clock() + options_.ttl, {}};
      completion_order_.push_back(key);
      completed_bytes_ += reply.body.size();
      while (completion_order_.size() > options_.max_entries || completed_bytes_ > options_.max_bytes) {
        EvictOldest();
      }
    }
  }
  // The first waiter is the attempt that ran; the rest are duplicates.
  for (size_t i = 0; i < waiters.size(); ++i) waiters[i](i == 0 ? reply : AsReplay(reply));
}

size_t InMemoryReplyCache::completed() const {
  absl::MutexLock lock(&mu_);
  return completion_order_.size();
}

void InMemoryReplyCache::EvictExpired(absl::Time now) {
  while (!completion_order_.empty() && entries_.find(completion_order_.front())->second.expires <= now) {
    EvictOldest();
  }
}

void InMemoryReplyCache::EvictOldest() {
  auto it = entries_.find(completion_order_.front());
  completed_bytes_ -= it->second.reply.body.size();
  entries_.erase(it);
  completion_order_.pop_front();
}

}  // namespace halopsa::lc

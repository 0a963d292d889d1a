#ifndef HALOPSA_SERVER_BOUNDED_TTL_MAP_H_
#define HALOPSA_SERVER_BOUNDED_TTL_MAP_H_

#include <cstddef>
#include <iterator>
#include <limits>
#include <list>
#include <map>
#include <utility>

#include "absl/container/node_hash_map.h"
#include "absl/time/time.h"

namespace halopsa {

// A map whose entries expire and whose size is bounded: the one cache
// mechanism of the service (tokens, hive secrets, gateway replies, the
// unknown-outcome journal).
//
// Expiry: each entry lives while now < (its Put's now + ttl). Expired entries
// are never found; Put and EraseExpired drop all of them (an expiry index
// keeps that cheap), Find drops the one it meets.
// Bounds: at most `max_entries` entries and `max_weight` total weight (e.g.
// bytes of a reply). Put first drops expired entries, then the least
// recently used, so a bound never costs a live entry while an expired one is
// kept. Least recently used rather than oldest-first: a cache read on every
// call (hive secrets) must keep what it reads, and for the others, which
// re-Put on use or are read only by a retry, the two orders coincide or the
// entry just read is the one worth keeping.
//
// Time is an argument, never read from a clock, so owners keep their
// injectable clocks and tests need no sleeps. Thread-compatible: the owner
// guards it with its own mutex.
template <typename Key, typename Value>
class BoundedTtlMap {
 public:
  struct Bounds {
    size_t max_entries = 0;  // 0: nothing is kept
    size_t max_weight = std::numeric_limits<size_t>::max();
  };

  explicit BoundedTtlMap(Bounds bounds) : bounds_(bounds) {}
  BoundedTtlMap(const BoundedTtlMap&) = delete;
  BoundedTtlMap& operator=(const BoundedTtlMap&) = delete;

  // Keeps `value` under `key` until now + ttl (absl::InfiniteDuration():
  // until evicted) as the most recently used entry, replacing any earlier
  // one, and evicts until both bounds hold. Returns false and keeps nothing
  // (the earlier entry is gone too) when the entry alone breaks a bound or
  // has already expired.
  bool Put(const Key& key, Value value, absl::Time now, absl::Duration ttl, size_t weight = 0) {
    Erase(key);
    EraseExpired(now);
    const absl::Time expires = now + ttl;
    if (bounds_.max_entries == 0 || weight > bounds_.max_weight || expires <= now) return false;
    while (entries_.size() >= bounds_.max_entries || weight > bounds_.max_weight - weight_) {
      Erase(*recency_.back());
    }
    auto [it, inserted] = entries_.try_emplace(key);
    Entry& entry = it->second;
    entry.value = std::move(value);
    entry.weight = weight;
    recency_.push_front(&it->first);
    entry.recency = recency_.begin();
    entry.expiry = by_expiry_.emplace(expires, &it->first);
    weight_ += weight;
    return true;
  }

  // The value under `key` while it lives at `now`, made the most recently
  // used; nullptr otherwise. The pointer is valid until the next change.
  Value* Find(const Key& key, absl::Time now) {
    auto it = entries_.find(key);
    if (it == entries_.end()) return nullptr;
    if (it->second.expiry->first <= now) {
      EraseEntry(it);
      return nullptr;
    }
    recency_.splice(recency_.begin(), recency_, it->second.recency);
    return &it->second.value;
  }

  // Returns whether there was an entry (live or expired) under `key`.
  bool Erase(const Key& key) {
    auto it = entries_.find(key);
    if (it == entries_.end()) return false;
    EraseEntry(it);
    return true;
  }

  void EraseExpired(absl::Time now) {
    while (!by_expiry_.empty() && by_expiry_.begin()->first <= now) Erase(*by_expiry_.begin()->second);
  }

  // Entries kept, expired ones not yet dropped included.
  size_t size() const { return entries_.size(); }
  size_t weight() const { return weight_; }

 private:
  // Both indexes point at the key inside the node map, whose nodes never
  // move, so each key is stored once.
  using Recency = std::list<const Key*>;  // most recently used first
  using ByExpiry = std::multimap<absl::Time, const Key*>;
  struct Entry {
    Value value{};
    size_t weight = 0;
    typename Recency::iterator recency;
    typename ByExpiry::iterator expiry;
  };
  using Entries = absl::node_hash_map<Key, Entry>;

  void EraseEntry(typename Entries::iterator it) {
    recency_.erase(it->second.recency);
    by_expiry_.erase(it->second.expiry);
    weight_ -= it->second.weight;
    entries_.erase(it);  // last: the indexes pointed at its key
  }

  const Bounds bounds_;
  Entries entries_;
  Recency recency_;
  ByExpiry by_expiry_;
  size_t weight_ = 0;
};

}  // namespace halopsa

#endif  // HALOPSA_SERVER_BOUNDED_TTL_MAP_H_

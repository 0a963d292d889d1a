#ifndef HALOPSA_ADAPTERS_NET_CONNECTION_SLOTS_H_
#define HALOPSA_ADAPTERS_NET_CONNECTION_SLOTS_H_

#include <cstddef>
#include <list>
#include <string>

#include "absl/container/flat_hash_map.h"

namespace halopsa::net {

// Which connections a server keeps when they are scarce: at most
// `max_total` open, at most `max_per_source` from one peer address, and
// when full, a connection idle between requests (or before its first) is
// given up for a newcomer, oldest idle first, so that a flood of idle
// connections cannot lock out callers that send requests. Not thread-safe;
// the server calls it under its lock.
class ConnectionSlots {
 public:
  using Id = const void*;

  ConnectionSlots(size_t max_total, size_t max_per_source)
      : max_total_(max_total), max_per_source_(max_per_source) {}

  struct Admission {
    bool admitted = false;
    Id shed = nullptr;  // an idle connection to close to make room; null = none
  };
  // Decides for a new connection `id` from `source`; when admitted it holds
  // a slot (idle until it starts a request) until Release.
  Admission Admit(Id id, const std::string& source);
  // A connection waits for a request (true) or is working on one (false).
  void SetIdle(Id id, bool idle);
  void Release(Id id);

  size_t open() const { return sources_.size(); }

 private:
  struct Slot {
    std::string source;
    bool shedding = false;  // chosen to make room; still open until Release
    std::list<Id>::iterator idle;  // idle_.end() while working
  };

  Id TakeOldestIdle();

  const size_t max_total_;
  const size_t max_per_source_;
  absl::flat_hash_map<Id, Slot> sources_;
  absl::flat_hash_map<std::string, size_t> per_source_;
  std::list<Id> idle_;  // oldest first
  size_t shedding_ = 0;
};

}  // namespace halopsa::net

#endif  // HALOPSA_ADAPTERS_NET_CONNECTION_SLOTS_H_

#ifndef HALOPSA_SERVER_IDEMPOTENT_CREATE_H_
#define HALOPSA_SERVER_IDEMPOTENT_CREATE_H_

// Creates that a retry cannot duplicate. HaloPSA has no idempotency key, so a
// create carrying the caller's key also carries a marker derived from it (an
// invisible HTML comment in the ticket's details or the action's note).
// When a create's outcome is unknown (its answer was lost), the key is
// journaled and HaloPSA is searched for the marker, right away and again
// before the retry writes anything: the object found is answered as the
// create's own answer would have been.

#include <cstddef>
#include <list>
#include <string>

#include <google/protobuf/struct.pb.h>

#include "absl/container/flat_hash_map.h"
#include "absl/functional/any_invocable.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "server/halo_api.h"

namespace halopsa {

// "exthalopsa" and the first 32 hex digits of SHA-256(idempotency_key): one
// word, so that HaloPSA's search finds it whole.
std::string IdempotencyToken(absl::string_view idempotency_key);

struct JournalLimits {
  size_t max_keys = 10000;
  // LimaCharlie stops retrying well within a day.
  absl::Duration ttl = absl::Hours(24);
};

// Keys of creates whose outcome is unknown, so that their retry looks for
// the earlier object before writing. Bounded in count (the oldest go first)
// and in age; thread-safe.
class UnknownOutcomeJournal {
 public:
  using Clock = absl::AnyInvocable<absl::Time()>;

  explicit UnknownOutcomeJournal(JournalLimits limits = {}, Clock clock = &absl::Now);

  // Adds `key`, or makes it the newest again.
  void Add(const std::string& key);
  bool Contains(const std::string& key);
  void Remove(const std::string& key);
  size_t size() const;

 private:
  struct Entry {
    std::string key;
    absl::Time added;
  };

  void Erase(std::list<Entry>::iterator entry) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  void DropExpired(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);

  const JournalLimits limits_;
  mutable absl::Mutex mutex_;
  Clock clock_ ABSL_GUARDED_BY(mutex_);
  std::list<Entry> oldest_first_ ABSL_GUARDED_BY(mutex_);
  // Views into the entries' keys; list nodes never move.
  absl::flat_hash_map<absl::string_view, std::list<Entry>::iterator> by_key_ ABSL_GUARDED_BY(mutex_);
};

struct CreateKind;  // what differs between a ticket and an action (in the .cc)

// POST /api/Tickets and POST /api/Actions of one object. Without an
// idempotency key in the context: exactly that one POST. With one: the
// object carries the key's marker and the create follows the journal above;
// `done` gets the create's answer or, when an earlier attempt's object was
// found, that object as HaloPSA answers it (so the caller cannot tell them
// apart). Only a journaled key or an unknown outcome costs lookups.
class IdempotentCreates {
 public:
  explicit IdempotentCreates(HaloApi& api) : api_(api) {}

  void CreateTicket(const CallContext& context, google::protobuf::Struct ticket, HaloApi::Callback done);
  void AddAction(const CallContext& context, google::protobuf::Struct action, HaloApi::Callback done);

 private:
  void Create(const CreateKind& kind, const CallContext& context, google::protobuf::Struct object,
              HaloApi::Callback done);

  HaloApi& api_;
  UnknownOutcomeJournal journal_;
};

}  // namespace halopsa

#endif  // HALOPSA_SERVER_IDEMPOTENT_CREATE_H_

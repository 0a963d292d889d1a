#ifndef HALOPSA_SERVER_IDEMPOTENT_CREATE_H_
#define HALOPSA_SERVER_IDEMPOTENT_CREATE_H_

// Creates that a retry cannot duplicate. HaloPSA has no idempotency key, so a
// create carrying the caller's key also carries a marker derived from it: a
// short visible line "ext-halopsa ref <hex>" at the end of the ticket's
// details_html or the action's note_html, the HTML HaloPSA keeps as given
// and derives the plain details/note from (an HTML comment would not
// survive that derivation, or would show as literal text).
// When a create's outcome is unknown (its answer was lost), the key is
// journaled and HaloPSA is searched for the marker, right away and again
// before the retry writes anything: the object found is answered as the
// create's own answer would have been.

#include <cstddef>
#include <string>

#include <google/protobuf/struct.pb.h>

#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "server/bounded_ttl_map.h"
#include "server/halo_api.h"

namespace halopsa {

// The first 32 hex digits of SHA-256(text): collisions are out of reach,
// and a line carrying them stays short.
std::string ShortDigest(absl::string_view text);

// "ext-halopsa ref " and ShortDigest(idempotency_key): technicians can read
// where the ticket came from, and the plain text that HaloPSA derives from
// the HTML keeps it as it is.
std::string IdempotencyReference(absl::string_view idempotency_key);

// Ends the object's HTML field with `line` on its own line. Without that
// field, the plain text field becomes it (escaped, line breaks kept) and is
// dropped, so HaloPSA has one source to keep and derive the text from.
void AppendVisibleLine(google::protobuf::Struct& object, absl::string_view text_field, absl::string_view html_field,
                       absl::string_view line);

// Keys of keyed creates that may have written without their caller
// learning of it: attempts whose outcome was unknown, attempts under way
// (whose process may die before it knows), and attempts that succeeded
// (whose answer may be lost on its way to the caller). The next attempt with such a key
// looks for the earlier object before it writes. Kept in this process
// (InMemoryOutcomeJournal) or shared by every replica (Redis).
class UnknownOutcomeJournal {
 public:
  using Checked = absl::AnyInvocable<void(absl::StatusOr<bool>)>;

  virtual ~UnknownOutcomeJournal() = default;

  // Before a keyed create writes: marks `key` as under way and tells `done`
  // whether an earlier attempt may already have written. Fails (reason
  // SHARED_STATE_UNAVAILABLE) when that cannot be told: the create must then
  // not write. `done` runs exactly once, maybe before Begin returns.
  virtual void Begin(const std::string& key, absl::Time deadline, Checked done) = 0;
  // The attempt's outcome is unknown: keeps `key` (as the newest).
  virtual void Add(const std::string& key) = 0;
  // The attempt surely wrote nothing: forgets `key`. (A key whose attempt
  // succeeded stays, so that a retry with it finds that object.)
  virtual void Remove(const std::string& key) = 0;
};

struct JournalLimits {
  size_t max_keys = 10000;
  // LimaCharlie stops retrying well within a day.
  absl::Duration ttl = absl::Hours(24);
};

// The journal of one process, bounded in count (the oldest go first) and in
// age; thread-safe.
class InMemoryOutcomeJournal final : public UnknownOutcomeJournal {
 public:
  using Clock = absl::AnyInvocable<absl::Time()>;

  explicit InMemoryOutcomeJournal(JournalLimits limits = {}, Clock clock = &absl::Now);

  void Begin(const std::string& key, absl::Time deadline, Checked done) override;
  void Add(const std::string& key) override;
  void Remove(const std::string& key) override;
  bool Contains(const std::string& key);
  size_t size() const;

 private:
  struct Marked {};  // a key's presence is the whole record

  const absl::Duration ttl_;
  mutable absl::Mutex mutex_;
  Clock clock_ ABSL_GUARDED_BY(mutex_);
  // Every use re-adds its key, so the least recently used is the oldest.
  BoundedTtlMap<std::string, Marked> keys_ ABSL_GUARDED_BY(mutex_);
};

struct CreateKind;  // what differs between a ticket and an action (in the .cc)

// POST /api/Tickets and POST /api/Actions of one object. Without an
// idempotency key in the context, or with the connection's
// idempotency_marker off: exactly that one POST. With one: the object
// carries the key's reference line and the create follows `journal`;
// `done` gets the create's answer or, when an earlier attempt's object was
// found, that object as HaloPSA answers it (so the caller cannot tell them
// apart). Only a journaled key or an unknown outcome costs lookups.
class IdempotentCreates {
 public:
  IdempotentCreates(HaloApi& api, UnknownOutcomeJournal& journal) : api_(api), journal_(journal) {}

  void CreateTicket(const CallContext& context, google::protobuf::Struct ticket, HaloApi::Callback done);
  void AddAction(const CallContext& context, google::protobuf::Struct action, HaloApi::Callback done);

 private:
  void Create(const CreateKind& kind, const CallContext& context, google::protobuf::Struct object,
              HaloApi::Callback done);

  HaloApi& api_;
  UnknownOutcomeJournal& journal_;
};

}  // namespace halopsa

#endif  // HALOPSA_SERVER_IDEMPOTENT_CREATE_H_

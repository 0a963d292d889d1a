#ifndef HALOPSA_SERVER_STORM_DEDUPE_H_
#define HALOPSA_SERVER_STORM_DEDUPE_H_

// create_ticket with a dedupe_key: one ticket per key and client while it is
// open and young, the other detections of a storm as private notes on it.
//
// HaloPSA is the source of truth. A deduplicating ticket's body ends with
// DedupeLine(); the ticket is found again (also after a restart, on any
// replica) by GET /api/Tickets?search_details=<marker>&open_only=true
// [&client_id=N], newest first, and its age is read from that line. The
// ticket last found is remembered for DedupeOptions::recheck_after only, to
// spare a list request per note during a storm.
//
// Calls of one key run as group commits: one batch at a time per key holds
// the key's lock (LinkLocks: in this process, or a Redis lease shared by
// every replica) while it lists, creates or notes, and the detections that
// arrive meanwhile wait and then go together into the next batch: one note
// of at most max_note_bytes. The shorter HaloPSA's request budget, the
// longer a batch waits for it and the more detections the next one merges,
// so a storm of N detections on K keys costs about K creates and a few
// notes per key, not N requests.

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "halopsa/v1/halopsa.pb.h"
#include "server/halo_api.h"
#include "server/idempotent_create.h"
#include "server/link_locks.h"
#include "server/reply.h"

namespace halopsa {

struct DedupeOptions {
  // A merged note's HTML at most; one detection longer than that is cut.
  size_t max_note_bytes = 32 * 1024;
  // Detections waiting for one key at once; more are refused (OVERLOADED).
  size_t max_waiting_per_key = 1000;
  // Keys remembered; idle ones are forgotten first, then new keys are refused.
  size_t max_keys = 10000;
  // How long a ticket HaloPSA listed as open (or that was just created) is
  // noted on without listing it again.
  absl::Duration recheck_after = absl::Seconds(30);
};

class StormDedupe {
 public:
  using Clock = std::function<absl::Time()>;

  StormDedupe(HaloApi& api, LinkLocks& locks, IdempotentCreates& creates, DedupeOptions options = {},
              Clock clock = &absl::Now);
  ~StormDedupe();

  // For a validated request with a non-empty dedupe_key. Answers the created
  // ticket, or (deduplicated) the open ticket the detection was noted on;
  // every caller whose detection went into a merged note gets that answer.
  void CreateTicket(const CallContext& context, const v1::CreateTicketRequest& request,
                    Reply<v1::CreateTicketResponse> done);

  // Keys remembered right now.
  size_t keys() const;

 private:
  struct Lane;
  struct Detection;
  struct KnownTicket;
  class Batch;

  std::shared_ptr<Lane> LaneFor(const std::string& lane_key, const std::string& marker, const CallContext& context,
                                const v1::CreateTicketRequest& request) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  bool ForgetIdleKeys() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  void StartBatch(std::shared_ptr<Lane> lane);
  void BatchDone(std::shared_ptr<Lane> lane);
  std::optional<KnownTicket> Known(const Lane& lane);
  void Remember(Lane& lane, KnownTicket known);
  void Forget(Lane& lane);

  HaloApi& api_;
  LinkLocks& locks_;
  IdempotentCreates& creates_;
  const DedupeOptions options_;
  const Clock clock_;
  mutable absl::Mutex mutex_;
  absl::flat_hash_map<std::string, std::shared_ptr<Lane>> lanes_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace halopsa

#endif  // HALOPSA_SERVER_STORM_DEDUPE_H_

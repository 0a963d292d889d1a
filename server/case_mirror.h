#ifndef HALOPSA_SERVER_CASE_MIRROR_H_
#define HALOPSA_SERVER_CASE_MIRROR_H_

// mirror_case: one HaloPSA ticket per LimaCharlie case, created once and
// updated by every later call. The case id lives in the ticket's body as
// the case line (server/case_line.h); the ticket is found again with
// GET /api/Tickets?search_details=<line>, so the mapping is HaloPSA's, the
// same on every replica and after restarts.
//
// Calls of one case run one at a time under the case's lock (the LinkLocks
// interface: in the process, or a Redis lease shared by every replica), and
// the lock covers the lookup and the create or update, so concurrent
// mirrors of one case make one ticket. The create is an IdempotentCreates
// one: with an idempotency key, a create whose answer was lost is found by
// its reference line before anything is written again. The note and the
// host link come after the lock is released.

#include "halopsa/v1/halopsa.pb.h"
#include "server/halo_api.h"
#include "server/idempotent_create.h"
#include "server/link_locks.h"
#include "server/reply.h"

namespace halopsa {

class CaseMirror {
 public:
  CaseMirror(HaloApi& api, LinkLocks& locks, IdempotentCreates& creates)
      : api_(api), locks_(locks), creates_(creates) {}

  // For a validated request.
  void Mirror(const CallContext& context, const v1::MirrorCaseRequest& request, Reply<v1::MirrorCaseResponse> done);

 private:
  class Run;

  HaloApi& api_;
  LinkLocks& locks_;
  IdempotentCreates& creates_;
};

}  // namespace halopsa

#endif  // HALOPSA_SERVER_CASE_MIRROR_H_

#ifndef HALOPSA_SERVER_TICKET_CHANGES_H_
#define HALOPSA_SERVER_TICKET_CHANGES_H_

// pull_ticket_changes: the mirrored tickets (those carrying the label's case
// line) with actions that someone other than this service's own API agent
// wrote at or after a watermark. Stateless: the state is in HaloPSA and in
// the watermark and cursor the caller passes back.
//
// Upstream: GET /api/Agent/me once per credential (the agent the API
// application logs on as; remembered for an hour), then
// GET /api/Tickets?search_details=<the label's line prefix>&datesearch=lastupdate&startdate=<watermark - 1 s>
// &order=id (ascending, so tickets that change while a pull pages through
// only move later), and per listed ticket
// GET /api/Actions?ticket_id=N&startdate=<watermark - 1 s>. HaloPSA's date
// filters only narrow what is read: every time is checked again here
// against the watermark (its delivered boundary actions left out), since
// whether HaloPSA's startdate is inclusive, and whether datesearch takes
// a last-update column, is unconfirmed.

#include <string>

#include "absl/synchronization/mutex.h"
#include "halopsa/v1/halopsa.pb.h"
#include "server/bounded_ttl_map.h"
#include "server/halo_api.h"
#include "server/reply.h"

namespace halopsa {

class TicketChanges {
 public:
  explicit TicketChanges(HaloApi& api) : api_(api), agents_({.max_entries = 10000}) {}

  // For a validated request.
  void Pull(const CallContext& context, const v1::PullTicketChangesRequest& request,
            Reply<v1::PullTicketChangesResponse> done);

 private:
  class Run;

  // The API application's agent id, asked of HaloPSA once per credential.
  void OwnAgent(const CallContext& context, absl::AnyInvocable<void(absl::StatusOr<int>)> done);

  HaloApi& api_;
  absl::Mutex mutex_;
  BoundedTtlMap<std::string, int> agents_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace halopsa

#endif  // HALOPSA_SERVER_TICKET_CHANGES_H_

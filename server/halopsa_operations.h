#ifndef HALOPSA_SERVER_HALOPSA_OPERATIONS_H_
#define HALOPSA_SERVER_HALOPSA_OPERATIONS_H_

#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "halopsa/v1/halopsa.pb.h"
#include "server/case_mirror.h"
#include "server/halo_api.h"
#include "server/idempotent_create.h"
#include "server/link_locks.h"
#include "server/reply.h"
#include "server/storm_dedupe.h"
#include "server/ticket_changes.h"

namespace halopsa {

// The six actions of the product page and the two of the case mirror over
// the HaloPSA REST API. Each
// validates its request first (INVALID_ARGUMENT before anything goes
// upstream), then runs asynchronously; `done` runs exactly once, possibly
// before the method returns when the request is rejected.
// Where the state that keeps calls from being done twice lives. Null
// members: in this process (one replica); the composition root passes the
// Redis ones when several replicas share it.
struct SharedState {
  UnknownOutcomeJournal* journal = nullptr;
  LinkLocks* link_locks = nullptr;
};

class HaloPsaOperations {
 public:
  explicit HaloPsaOperations(HaloApi& api, SharedState shared = {})
      : api_(api),
        journal_(shared.journal != nullptr ? *shared.journal : own_journal_),
        link_locks_(shared.link_locks != nullptr ? *shared.link_locks : own_link_locks_),
        creates_(api, journal_),
        dedupe_(api, link_locks_, creates_),
        mirror_(api, link_locks_, creates_),
        changes_(api) {}

  void CreateTicket(const CallContext& context, const v1::CreateTicketRequest& request,
                    Reply<v1::CreateTicketResponse> done);
  void UpdateTicket(const CallContext& context, const v1::UpdateTicketRequest& request,
                    Reply<v1::UpdateTicketResponse> done);
  void SearchTickets(const CallContext& context, const v1::SearchTicketsRequest& request,
                     Reply<v1::SearchTicketsResponse> done);
  void AddAction(const CallContext& context, const v1::AddActionRequest& request,
                 Reply<v1::AddActionResponse> done);
  void LinkAssetToTicket(const CallContext& context, const v1::LinkAssetToTicketRequest& request,
                         Reply<v1::LinkAssetToTicketResponse> done);
  void LookupClientSite(const CallContext& context, const v1::LookupClientSiteRequest& request,
                        Reply<v1::LookupClientSiteResponse> done);
  void MirrorCase(const CallContext& context, const v1::MirrorCaseRequest& request,
                  Reply<v1::MirrorCaseResponse> done);
  void PullTicketChanges(const CallContext& context, const v1::PullTicketChangesRequest& request,
                         Reply<v1::PullTicketChangesResponse> done);

 private:
  HaloApi& api_;
  InMemoryOutcomeJournal own_journal_;
  LocalLinkLocks own_link_locks_;
  UnknownOutcomeJournal& journal_;
  LinkLocks& link_locks_;
  IdempotentCreates creates_;  // create_ticket and add_action
  StormDedupe dedupe_;         // create_ticket with a dedupe_key
  CaseMirror mirror_;
  TicketChanges changes_;
};

}  // namespace halopsa

#endif  // HALOPSA_SERVER_HALOPSA_OPERATIONS_H_

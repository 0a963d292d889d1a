#ifndef HALOPSA_SERVER_HALOPSA_ACTIONS_H_
#define HALOPSA_SERVER_HALOPSA_ACTIONS_H_

#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "halopsa/v1/halopsa.pb.h"
#include "server/halo_api.h"
#include "server/idempotent_create.h"
#include "server/keyed_serializer.h"

namespace halopsa {

template <typename Response>
using Reply = absl::AnyInvocable<void(absl::StatusOr<Response>)>;

// The six actions of the product page over the HaloPSA REST API. Each
// validates its request first (INVALID_ARGUMENT before anything goes
// upstream), then runs asynchronously; `done` runs exactly once, possibly
// before the method returns when the request is rejected.
class HaloPsaActions {
 public:
  explicit HaloPsaActions(HaloApi& api) : api_(api), creates_(api) {}

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

 private:
  HaloApi& api_;
  IdempotentCreates creates_;  // create_ticket and add_action
  KeyedSerializer link_locks_;
};

}  // namespace halopsa

#endif  // HALOPSA_SERVER_HALOPSA_ACTIONS_H_

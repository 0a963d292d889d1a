#ifndef HALOPSA_SERVER_HALO_PAYLOADS_H_
#define HALOPSA_SERVER_HALO_PAYLOADS_H_

// Translation of validated requests into the objects and query parameters
// HaloPSA expects, and of HaloPSA's objects back into typed fields.

#include <string>

#include <google/protobuf/struct.pb.h>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

#include "halopsa/v1/halopsa.pb.h"
#include "server/halo_api.h"

namespace halopsa {

// The ticket object of POST /api/Tickets for a create: the request's fields,
// `assets: [{"id": N}]`, `customfields: [{"id", "value"}]`, then `extra`
// merged last.
google::protobuf::Struct NewTicket(const v1::CreateTicketRequest& request);

// The ticket object of POST /api/Tickets for an update: `id` plus only the
// fields the request sets, then `extra`.
google::protobuf::Struct TicketChanges(const v1::UpdateTicketRequest& request);

// The ticket fields a mirror_case request sets (`extra` merged last), for
// a create and for comparing with the case's existing ticket; no summary
// when the request has none.
google::protobuf::Struct MirroredTicket(const v1::MirrorCaseRequest& request);

// The action object of POST /api/Actions, private (hiddenfromuser true)
// unless told otherwise. Its outcome: the request's (outcome, outcome_id,
// or the same keys in extra), else the connection's default_outcome_id,
// else its default_outcome, else "Note".
google::protobuf::Struct NewAction(const v1::AddActionRequest& request, const HaloConnection& connection);

// HaloPSA's 400 to an action whose outcome it does not take ("An Outcome
// must be entered for this Action"), rewritten to name what to fix: the
// request's outcome, or the default_outcome(_id) setting that supplied it.
// Other failures come back unchanged.
absl::Status ExplainOutcomeRefusal(absl::Status failure, const v1::AddActionRequest& request,
                                   const HaloConnection& connection);

// Plain text as the HTML HaloPSA keeps: &, <, >, " escaped, line breaks as
// <br>.
std::string PlainTextAsHtml(absl::string_view text);

// Filters of GET /api/Tickets (paging is added by FetchPage); tickettype_id
// becomes Halo's requesttype_id and status_ids its status_id.
HaloApi::Query TicketFilters(const v1::SearchTicketsRequest& request);

// The asset object of POST /api/Asset for a host that has no asset yet.
google::protobuf::Struct NewAsset(const v1::LinkAssetToTicketRequest& request);

// The object HaloPSA answered to a create or update: Halo answers a
// one-element array with the bare object; a one-element array is accepted
// too. `what` names the object in the error when the shape is wrong.
absl::StatusOr<google::protobuf::Struct> SingleObject(google::protobuf::Value answer, absl::string_view what);

// HaloPSA's create and update take a JSON array of objects.
google::protobuf::Value ArrayOf(google::protobuf::Struct object);

}  // namespace halopsa

#endif  // HALOPSA_SERVER_HALO_PAYLOADS_H_

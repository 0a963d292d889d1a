#include "server/halopsa_operations.h"

#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "server/asset_linker.h"
#include "server/error_mapping.h"
#include "server/halo_payloads.h"
#include "server/json_values.h"
#include "server/paged_list.h"
#include "server/request_validation.h"

namespace halopsa {
namespace {

using google::protobuf::Struct;
using google::protobuf::Value;

// The answer to a single-object create or update, with its id read out.
struct CreatedObject {
  int id;
  Struct object;
};

absl::StatusOr<CreatedObject> ReadCreated(absl::StatusOr<Value> answer, absl::string_view what) {
  if (!answer.ok()) return answer.status();
  absl::StatusOr<Struct> object = SingleObject(*std::move(answer), what);
  if (!object.ok()) return object.status();
  std::optional<int> id = IntField(*object, "id");
  if (!id) {
    return WithErrorInfo(absl::UnavailableError(absl::StrCat("HaloPSA answered a ", what, " without an id")),
                         kReasonUpstreamBadResponse);
  }
  return CreatedObject{*id, *std::move(object)};
}

// Create and update both answer the ticket; their responses share a shape.
template <typename Response>
HaloApi::Callback TicketReply(Reply<Response> done) {
  return [done = std::move(done)](absl::StatusOr<Value> answer) mutable {
    absl::StatusOr<CreatedObject> ticket = ReadCreated(std::move(answer), "ticket");
    if (!ticket.ok()) return done(ticket.status());
    Response response;
    response.set_id(ticket->id);
    *response.mutable_ticket() = std::move(ticket->object);
    done(std::move(response));
  };
}

template <typename Repeated>
void MoveItems(std::vector<Struct>& items, Repeated* target) {
  target->Reserve(static_cast<int>(items.size()));
  for (Struct& item : items) *target->Add() = std::move(item);
}

}  // namespace

void HaloPsaOperations::CreateTicket(const CallContext& context, const v1::CreateTicketRequest& request,
                                  Reply<v1::CreateTicketResponse> done) {
  if (absl::Status invalid = Validate(request); !invalid.ok()) return done(invalid);
  if (!request.dedupe_key().empty()) {
    return dedupe_.CreateTicket(context, request,
                                [stats = context.stats, done = std::move(done)](
                                    absl::StatusOr<v1::CreateTicketResponse> answer) mutable {
                                  if (answer.ok() && stats != nullptr) {
                                    stats->dedupe = answer->deduplicated() ? DedupeOutcome::kNoted
                                                                           : DedupeOutcome::kOpened;
                                  }
                                  done(std::move(answer));
                                });
  }
  creates_.CreateTicket(context, NewTicket(request), TicketReply(std::move(done)));
}

void HaloPsaOperations::UpdateTicket(const CallContext& context, const v1::UpdateTicketRequest& request,
                                  Reply<v1::UpdateTicketResponse> done) {
  if (absl::Status invalid = Validate(request); !invalid.ok()) return done(invalid);
  api_.Post(context, "/api/Tickets", ArrayOf(TicketChanges(request)), TicketReply(std::move(done)));
}

void HaloPsaOperations::SearchTickets(const CallContext& context, const v1::SearchTicketsRequest& request,
                                   Reply<v1::SearchTicketsResponse> done) {
  if (absl::Status invalid = Validate(request); !invalid.ok()) return done(invalid);
  PageRequest page{"/api/Tickets", TicketFilters(request), "tickets",
                   request.has_page_size() ? request.page_size() : kDefaultPageSize,
                   request.has_page_no() ? request.page_no() : 1};
  FetchPage(api_, context, std::move(page), [done = std::move(done)](absl::StatusOr<Page> page) mutable {
    if (!page.ok()) return done(page.status());
    v1::SearchTicketsResponse response;
    response.set_record_count(page->record_count);
    MoveItems(page->items, response.mutable_tickets());
    done(std::move(response));
  });
}

void HaloPsaOperations::AddAction(const CallContext& context, const v1::AddActionRequest& request,
                               Reply<v1::AddActionResponse> done) {
  if (absl::Status invalid = Validate(request); !invalid.ok()) return done(invalid);
  creates_.AddAction(context, NewAction(request, *context.connection),
                     [done = std::move(done), request, connection = context.connection](
                         absl::StatusOr<Value> answer) mutable {
                       absl::StatusOr<CreatedObject> created = ReadCreated(std::move(answer), "action");
                       if (!created.ok()) return done(ExplainOutcomeRefusal(created.status(), request, *connection));
                       const int ticket_id = request.ticket_id();
                       v1::AddActionResponse response;
                       response.set_id(created->id);
                       response.set_ticket_id(IntField(created->object, "ticket_id").value_or(ticket_id));
                       *response.mutable_action() = std::move(created->object);
                       done(std::move(response));
                     });
}

void HaloPsaOperations::LinkAssetToTicket(const CallContext& context, const v1::LinkAssetToTicketRequest& request,
                                       Reply<v1::LinkAssetToTicketResponse> done) {
  if (absl::Status invalid = Validate(request); !invalid.ok()) return done(invalid);
  LinkAsset(api_, link_locks_, context, request, std::move(done));
}

void HaloPsaOperations::LookupClientSite(const CallContext& context, const v1::LookupClientSiteRequest& request,
                                      Reply<v1::LookupClientSiteResponse> done) {
  if (absl::Status invalid = Validate(request); !invalid.ok()) return done(invalid);
  bool sites = request.type() == v1::LookupClientSiteRequest::site;
  HaloApi::Query filters;
  if (request.has_search() && !request.search().empty()) filters.emplace_back("search", request.search());
  if (request.has_client_id()) filters.emplace_back("client_id", absl::StrCat(request.client_id()));
  PageRequest page{sites ? "/api/Site" : "/api/Client", std::move(filters), sites ? "sites" : "clients",
                   request.has_page_size() ? request.page_size() : kDefaultPageSize,
                   request.has_page_no() ? request.page_no() : 1};
  FetchPage(api_, context, std::move(page), [done = std::move(done), sites](absl::StatusOr<Page> page) mutable {
    if (!page.ok()) return done(page.status());
    v1::LookupClientSiteResponse response;
    response.set_record_count(page->record_count);
    MoveItems(page->items, sites ? response.mutable_sites() : response.mutable_clients());
    done(std::move(response));
  });
}

void HaloPsaOperations::MirrorCase(const CallContext& context, const v1::MirrorCaseRequest& request,
                                   Reply<v1::MirrorCaseResponse> done) {
  if (absl::Status invalid = Validate(request); !invalid.ok()) return done(invalid);
  mirror_.Mirror(context, request, std::move(done));
}

void HaloPsaOperations::PullTicketChanges(const CallContext& context, const v1::PullTicketChangesRequest& request,
                                          Reply<v1::PullTicketChangesResponse> done) {
  if (absl::Status invalid = Validate(request); !invalid.ok()) return done(invalid);
  changes_.Pull(context, request, std::move(done));
}

}  // namespace halopsa

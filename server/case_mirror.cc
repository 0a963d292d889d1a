#include "server/case_mirror.h"

#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "google/protobuf/util/message_differencer.h"
#include "server/asset_linker.h"
#include "server/case_line.h"
#include "server/error_mapping.h"
#include "server/halo_payloads.h"
#include "server/json_values.h"
#include "server/paged_list.h"

namespace halopsa {

using google::protobuf::Struct;
using google::protobuf::Value;
using google::protobuf::util::MessageDifferencer;

namespace {

// The oldest ticket carrying the line decides; a few more rows in case
// HaloPSA's substring search also matches cases whose ids start the same.
constexpr int kListedTickets = 10;

// The request's name for a ticket field: the body travels as details_html.
std::string RequestFieldName(const std::string& ticket_field) {
  return ticket_field == "details_html" ? "details" : ticket_field;
}

}  // namespace

// One mirror_case call, from the case's lock to the answer.
class CaseMirror::Run : public std::enable_shared_from_this<Run> {
 public:
  Run(CaseMirror& owner, CallContext context, v1::MirrorCaseRequest request, Reply<v1::MirrorCaseResponse> done)
      : owner_(owner),
        context_(std::move(context)),
        request_(std::move(request)),
        line_(CaseLine(context_.connection->case_label, request_.case_id())),
        done_(std::move(done)) {
    desired_ = MirroredTicket(request_);
    // A body from details or from extra: either way it must keep the line.
    if (desired_.fields().contains("details") || desired_.fields().contains("details_html")) {
      AppendVisibleLine(desired_, "details", "details_html", line_);
    }
  }

  void Start() {
    const std::string key = absl::StrCat("case\n", context_.connection->instance_url, "\n", line_);
    owner_.locks_.Acquire(key, context_.deadline, [self = shared_from_this()](absl::StatusOr<LinkLocks::Release> lock) {
      if (!lock.ok()) return self->done_(lock.status());
      self->release_ = *std::move(lock);
      self->Find();
    });
  }

 private:
  void Find() {
    HaloApi::Query filters = {{"search_details", line_}, {"order", "id"}, {"orderdesc", "false"}};
    FetchPage(owner_.api_, context_, PageRequest{"/api/Tickets", std::move(filters), "tickets", kListedTickets, 1},
              [self = shared_from_this()](absl::StatusOr<Page> page) { self->OnListed(std::move(page)); });
  }

  void OnListed(absl::StatusOr<Page> page) {
    if (!page.ok()) return Fail(page.status());
    const std::string& label = context_.connection->case_label;
    for (const Struct& row : page->items) {
      std::optional<std::string> case_id = CaseIdOfTicket(row, label);
      std::optional<int> id = IntField(row, "id");
      if (case_id == request_.case_id() && id) return Update(*id, row);
    }
    Create();
  }

  void Create() {
    Struct ticket = desired_;
    if (!ticket.fields().contains("summary")) {
      (*ticket.mutable_fields())["summary"] = JsonString(absl::StrCat("LimaCharlie case ", request_.case_id()));
    }
    if (!ticket.fields().contains("details_html")) AppendVisibleLine(ticket, "details", "details_html", line_);
    for (const auto& [field, value] : ticket.fields()) response_.add_updated_fields(RequestFieldName(field));
    response_.set_created(true);
    owner_.creates_.CreateTicket(context_, std::move(ticket),
                                 [self = shared_from_this()](absl::StatusOr<Value> answer) {
                                   self->OnWritten(std::move(answer));
                                 });
  }

  // Sends only what differs from the ticket as HaloPSA listed it.
  void Update(int ticket_id, const Struct& row) {
    Struct changes;
    for (const auto& [field, value] : desired_.fields()) {
      auto current = row.fields().find(field);
      if (current != row.fields().end() && MessageDifferencer::Equals(current->second, value)) continue;
      (*changes.mutable_fields())[field] = value;
      response_.add_updated_fields(RequestFieldName(field));
    }
    response_.set_ticket_id(ticket_id);
    if (changes.fields().empty()) {
      Unlock();
      return AddNote();
    }
    (*changes.mutable_fields())["id"] = JsonNumber(ticket_id);
    owner_.api_.Post(context_, "/api/Tickets", ArrayOf(std::move(changes)),
                     [self = shared_from_this()](absl::StatusOr<Value> answer) { self->OnWritten(std::move(answer)); });
  }

  void OnWritten(absl::StatusOr<Value> answer) {
    absl::StatusOr<Struct> ticket = answer.ok() ? SingleObject(*std::move(answer), "ticket") : answer.status();
    if (!ticket.ok()) return Fail(ticket.status());
    std::optional<int> id = IntField(*ticket, "id");
    if (!id) {
      return Fail(WithErrorInfo(absl::UnavailableError("HaloPSA answered a ticket without an id"),
                                kReasonUpstreamBadResponse, {{"endpoint", "/api/Tickets"}}));
    }
    response_.set_ticket_id(*id);
    Unlock();
    AddNote();
  }

  void AddNote() {
    if (!request_.has_note()) return LinkHost();
    v1::AddActionRequest note;
    note.set_ticket_id(response_.ticket_id());
    note.set_note(request_.note());
    CallContext note_context = context_;
    // The ticket carries the call's own reference line already: the note's
    // must differ, or its lookup would take the ticket's body for the note.
    if (!context_.idempotency_key.empty()) note_context.idempotency_key = absl::StrCat(context_.idempotency_key, "\nnote");
    owner_.creates_.AddAction(note_context, NewAction(note, *context_.connection),
                              [self = shared_from_this(), note](absl::StatusOr<Value> answer) {
                                if (!answer.ok()) {
                                  return self->done_(
                                      ExplainOutcomeRefusal(answer.status(), note, *self->context_.connection));
                                }
                                self->response_.add_updated_fields("note");
                                self->LinkHost();
                              });
  }

  void LinkHost() {
    if (!request_.has_hostname()) return done_(std::move(response_));
    v1::LinkAssetToTicketRequest link;
    link.set_ticket_id(response_.ticket_id());
    link.set_hostname(request_.hostname());
    if (request_.has_client_id()) link.set_client_id(request_.client_id());
    if (request_.has_site_id()) link.set_site_id(request_.site_id());
    if (request_.has_asset_type_id()) link.set_asset_type_id(request_.asset_type_id());
    // A host the CMDB does not have is created only when the request says how.
    link.set_create_if_missing(request_.has_asset_type_id() && request_.has_client_id());
    LinkAsset(owner_.api_, owner_.locks_, context_, link,
              [self = shared_from_this(), may_create = link.create_if_missing()](
                  absl::StatusOr<v1::LinkAssetToTicketResponse> linked) {
                if (linked.ok()) {
                  self->response_.add_updated_fields("hostname");
                } else if (may_create || linked.status().code() != absl::StatusCode::kNotFound) {
                  return self->done_(linked.status());
                }
                self->done_(std::move(self->response_));
              });
  }

  void Unlock() {
    if (release_) std::exchange(release_, nullptr)();
  }

  void Fail(const absl::Status& status) {
    Unlock();
    done_(status);
  }

  CaseMirror& owner_;
  const CallContext context_;
  const v1::MirrorCaseRequest request_;
  const std::string line_;
  Reply<v1::MirrorCaseResponse> done_;
  Struct desired_;  // the ticket fields the request sets, the body with its case line
  LinkLocks::Release release_;
  v1::MirrorCaseResponse response_;
};

void CaseMirror::Mirror(const CallContext& context, const v1::MirrorCaseRequest& request,
                        Reply<v1::MirrorCaseResponse> done) {
  std::make_shared<Run>(*this, context, request, std::move(done))->Start();
}

}  // namespace halopsa

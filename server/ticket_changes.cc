#include "server/ticket_changes.h"

#include <map>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "server/case_line.h"
#include "server/change_watermark.h"
#include "server/error_mapping.h"
#include "server/json_values.h"
#include "server/paged_list.h"
#include "server/request_validation.h"

namespace halopsa {

using google::protobuf::Struct;
using google::protobuf::Value;

namespace {

// The agent behind a credential changes only when the API application is
// reconfigured.
constexpr absl::Duration kAgentTtl = absl::Hours(1);
// New actions of one ticket read at most (HaloPSA pages of 100 joined).
constexpr int kMaxActionsPerTicket = 1000;

absl::Status BadResponse(absl::string_view message, absl::string_view endpoint) {
  return WithErrorInfo(absl::UnavailableError(message), kReasonUpstreamBadResponse,
                       {{"endpoint", std::string(endpoint)}});
}

// HaloPSA's date filters, one second early: whether startdate is inclusive
// is unconfirmed, and every time is checked here anyway.
void AddSince(HaloApi::Query& query, const Watermark& from) {
  if (!from.IsBeginning()) query.emplace_back("startdate", FormatHaloTime(from.time - absl::Seconds(1)));
}

bool WrittenBy(const Struct& action, int agent_id) {
  return IntField(action, "who_agentid") == agent_id || IntField(action, "actionby_agent_id") == agent_id;
}

}  // namespace

// One pull (one answer), from the agent lookup to the watermark or cursor.
class TicketChanges::Run : public std::enable_shared_from_this<Run> {
 public:
  Run(TicketChanges& owner, CallContext context, PullCursor cursor, int limit, std::map<int, std::string> statuses,
      Reply<v1::PullTicketChangesResponse> done)
      : owner_(owner),
        context_(std::move(context)),
        cursor_(std::move(cursor)),
        limit_(limit),
        statuses_(std::move(statuses)),
        done_(std::move(done)) {}

  void Start() {
    owner_.OwnAgent(context_, [self = shared_from_this()](absl::StatusOr<int> agent) {
      if (!agent.ok()) return self->done_(agent.status());
      self->own_agent_ = *agent;
      self->ListTickets();
    });
  }

 private:
  void ListTickets() {
    HaloApi::Query filters = {{"search_details", CaseLinePrefix(context_.connection->case_label)},
                              {"order", "id"},
                              {"orderdesc", "false"}};
    if (!cursor_.from.IsBeginning()) filters.emplace_back("datesearch", "lastupdate");
    AddSince(filters, cursor_.from);
    FetchPage(owner_.api_, context_,
              PageRequest{"/api/Tickets", std::move(filters), "tickets", kHaloMaxPageSize, cursor_.page_no},
              [self = shared_from_this()](absl::StatusOr<Page> page) {
                if (!page.ok()) return self->done_(page.status());
                self->page_ = *std::move(page);
                self->NextTicket(0);
              });
  }

  // Looks at the page's tickets from `index` on, one at a time.
  void NextTicket(size_t index) {
    for (; index < page_.items.size(); ++index) {
      const Struct& row = page_.items[index];
      std::optional<int> id = IntField(row, "id");
      if (!id || *id <= cursor_.last_ticket) continue;  // done on an earlier answer, or moved here since
      std::optional<std::string> case_id = CaseIdOfTicket(row, context_.connection->case_label);
      std::optional<absl::Time> updated = ParseHaloTime(StringField(row, "last_update"));
      if (!case_id || (updated && *updated < cursor_.from.time)) {
        cursor_.last_ticket = *id;
        continue;
      }
      return ReadActions(index, *id, *std::move(case_id));
    }
    const bool more_pages = static_cast<int64_t>(cursor_.page_no) * kHaloMaxPageSize < page_.record_count;
    if (!more_pages) return Finish();
    ++cursor_.page_no;
    ListTickets();
  }

  void ReadActions(size_t index, int ticket_id, std::string case_id) {
    HaloApi::Query filters = {{"ticket_id", absl::StrCat(ticket_id)}};
    AddSince(filters, cursor_.from);
    FetchPage(owner_.api_, context_, PageRequest{"/api/Actions", std::move(filters), "actions", kMaxActionsPerTicket, 1},
              [self = shared_from_this(), index, ticket_id, case_id = std::move(case_id)](
                  absl::StatusOr<Page> actions) mutable {
                if (!actions.ok()) return self->done_(actions.status());
                if (actions->record_count > kMaxActionsPerTicket) {
                  return self->done_(BadResponse(
                      absl::StrCat("ticket ", ticket_id, " has more than ", kMaxActionsPerTicket, " new actions"),
                      "/api/Actions"));
                }
                self->OnActions(index, ticket_id, std::move(case_id), std::move(actions->items));
              });
  }

  void OnActions(size_t index, int ticket_id, std::string case_id, std::vector<Struct> actions) {
    v1::TicketChange change;
    for (const Struct& action : actions) {
      std::optional<absl::Time> at = ParseHaloTime(StringField(action, "datetime"));
      std::optional<int> id = IntField(action, "id");
      if (!at || !id || WrittenBy(action, own_agent_)) continue;
      const std::string key = ActionKey(ticket_id, *id);
      if (!cursor_.from.Admits(*at, key)) continue;
      cursor_.next.Advance(*at, key);
      v1::TicketChangeAction& out = *change.add_actions();
      out.set_id(*id);
      out.set_text(StringField(action, "note"));
      out.set_time(StringField(action, "datetime"));
      out.set_author(StringField(action, "who"));
    }
    cursor_.last_ticket = ticket_id;
    if (change.actions().empty()) return NextTicket(index + 1);
    const Struct& ticket = page_.items[index];
    change.set_ticket_id(ticket_id);
    change.set_case_id(std::move(case_id));
    change.set_status_id(IntField(ticket, "status_id").value_or(0));
    change.set_status(StringField(ticket, "status_name"));
    change.set_case_status(CaseStatusOf(statuses_, change.status_id()));
    change.set_agent_id(IntField(ticket, "agent_id").value_or(0));
    change.set_agent(StringField(ticket, "agent_name"));
    *response_.add_changes() = std::move(change);
    if (response_.changes_size() < limit_ || !MoreRemain(index)) return NextTicket(index + 1);
    response_.set_cursor(EncodeCursor(cursor_));
    done_(std::move(response_));
  }

  bool MoreRemain(size_t index) const {
    return index + 1 < page_.items.size() ||
           static_cast<int64_t>(cursor_.page_no) * kHaloMaxPageSize < page_.record_count;
  }

  void Finish() {
    // Nothing new: the caller keeps its watermark.
    response_.set_watermark(FormatWatermark(cursor_.next.IsBeginning() ? cursor_.from : cursor_.next));
    done_(std::move(response_));
  }

  TicketChanges& owner_;
  const CallContext context_;
  PullCursor cursor_;
  const int limit_;
  const std::map<int, std::string> statuses_;
  Reply<v1::PullTicketChangesResponse> done_;
  int own_agent_ = 0;
  Page page_;
  v1::PullTicketChangesResponse response_;
};

void TicketChanges::Pull(const CallContext& context, const v1::PullTicketChangesRequest& request,
                         Reply<v1::PullTicketChangesResponse> done) {
  absl::StatusOr<std::map<int, std::string>> statuses = ParseCaseStatusMap(context.connection->case_status_map);
  if (!statuses.ok()) return done(InvalidField("case_status_map", statuses.status().message()));
  PullCursor cursor;
  if (request.has_cursor() && !request.cursor().empty()) {
    absl::StatusOr<PullCursor> decoded = DecodeCursor(request.cursor());
    if (!decoded.ok()) return done(decoded.status());
    cursor = *std::move(decoded);
  } else {
    absl::StatusOr<Watermark> from = ParseWatermark(request.watermark());
    if (!from.ok()) return done(from.status());
    cursor.from = *from;
    cursor.next = *std::move(from);
  }
  const int limit = request.has_limit() ? request.limit() : kDefaultChangesLimit;
  std::make_shared<Run>(*this, context, std::move(cursor), limit, *std::move(statuses), std::move(done))->Start();
}

void TicketChanges::OwnAgent(const CallContext& context, absl::AnyInvocable<void(absl::StatusOr<int>)> done) {
  const std::string key = absl::StrCat(context.connection->instance_url, "\n", context.connection->client_id);
  std::optional<int> known;
  {
    absl::MutexLock lock(&mutex_);
    if (const int* agent = agents_.Find(key, absl::Now())) known = *agent;
  }
  if (known) return done(*known);
  api_.Get(context, "/api/Agent/me", {},
           [this, key, done = std::move(done)](absl::StatusOr<Value> answer) mutable {
             if (!answer.ok()) return done(answer.status());
             std::optional<int> id =
                 answer->has_struct_value() ? IntField(answer->struct_value(), "id") : std::nullopt;
             if (!id) {
               return done(BadResponse(
                   "HaloPSA's /api/Agent/me named no agent: the API application must log on as an agent (Login "
                   "Type Agent) so that the service can leave its own changes out",
                   "/api/Agent/me"));
             }
             {
               absl::MutexLock lock(&mutex_);
               agents_.Put(key, *id, absl::Now(), kAgentTtl);
             }
             done(*id);
           });
}

}  // namespace halopsa

#include "server/storm_dedupe.h"

#include <algorithm>
#include <deque>
#include <optional>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "server/dedupe_note.h"
#include "server/error_mapping.h"
#include "server/halo_payloads.h"
#include "server/json_values.h"
#include "server/paged_list.h"
#include "server/request_validation.h"

namespace halopsa {

using google::protobuf::Struct;
using google::protobuf::Value;

namespace {

// Newest first, so the first row carrying the marker decides; a few more
// in case HaloPSA's search matches text that only resembles it.
constexpr int kListedTickets = 10;
constexpr absl::string_view kPartSeparator = "<br><br>";

// What a deduplicated answer says of the existing ticket: enough to find
// and judge it, bounded whatever the ticket's body holds.
constexpr absl::string_view kAnsweredFields[] = {"id",          "summary",       "client_id",    "client_name",
                                                 "site_id",     "site_name",     "status_id",    "tickettype_id",
                                                 "priority_id", "agent_id",      "dateoccurred"};

Struct AnsweredSubset(const Struct& ticket) {
  Struct subset;
  for (absl::string_view field : kAnsweredFields) {
    auto it = ticket.fields().find(std::string(field));
    if (it != ticket.fields().end()) (*subset.mutable_fields())[it->first] = it->second;
  }
  return subset;
}

absl::Status BadResponse(absl::string_view message) {
  return WithErrorInfo(absl::UnavailableError(message), kReasonUpstreamBadResponse, {{"endpoint", "/api/Tickets"}});
}

}  // namespace

struct StormDedupe::Detection {
  CallContext context;
  v1::CreateTicketRequest request;
  absl::Time received;
  Reply<v1::CreateTicketResponse> done;
};

struct StormDedupe::KnownTicket {
  int id;
  absl::Time opened;
  absl::Time listed;  // when HaloPSA last showed it open (listed, or just created)
  Struct answered;    // AnsweredSubset of it
};

// One key's detections (for one tenant, credential, client and window) and
// what is known of its ticket. Guarded by the owner's mutex; `known` is
// written only by the key's one running batch.
struct StormDedupe::Lane {
  std::string lock_key;  // the tenant and the marker: shared by every window and replica
  std::string marker;
  std::optional<int> client_id;
  absl::Duration window;
  std::deque<Detection> waiting;
  bool busy = false;  // a batch runs
  std::optional<KnownTicket> known;
};

// One group commit: lock, find or create the ticket, one note for the rest,
// answer everyone, unlock.
class StormDedupe::Batch : public std::enable_shared_from_this<Batch> {
 public:
  Batch(StormDedupe& owner, std::shared_ptr<Lane> lane, std::vector<Detection> members,
        std::vector<std::string> parts)
      : owner_(owner), lane_(std::move(lane)), members_(std::move(members)), parts_(std::move(parts)) {
    context_ = members_.front().context;
    for (const Detection& member : members_) context_.deadline = std::min(context_.deadline, member.context.deadline);
    results_.resize(members_.size());
  }

  void Start() {
    owner_.locks_.Acquire(lane_->lock_key, context_.deadline,
                          [self = shared_from_this()](absl::StatusOr<LinkLocks::Release> lock) {
                            self->OnLocked(std::move(lock));
                          });
  }

 private:
  void OnLocked(absl::StatusOr<LinkLocks::Release> lock) {
    if (!lock.ok()) {
      absl::Status failure = lock.status();
      if (failure.code() == absl::StatusCode::kDeadlineExceeded) {
        failure = WithErrorInfo(
            absl::DeadlineExceededError("the deadline passed while waiting for another call with the same dedupe_key"),
            kReasonUpstreamTimeout);
      }
      return FailFrom(0, failure);
    }
    release_ = *std::move(lock);
    if (std::optional<KnownTicket> known = owner_.Known(*lane_)) return Note(*std::move(known), 0, false);
    List();
  }

  void List() {
    HaloApi::Query filters = {
        {"search_details", lane_->marker}, {"open_only", "true"}, {"order", "id"}, {"orderdesc", "true"}};
    if (lane_->client_id) filters.emplace_back("client_id", absl::StrCat(*lane_->client_id));
    FetchPage(owner_.api_, context_, PageRequest{"/api/Tickets", std::move(filters), "tickets", kListedTickets, 1},
              [self = shared_from_this()](absl::StatusOr<Page> page) { self->OnListed(std::move(page)); });
  }

  void OnListed(absl::StatusOr<Page> page) {
    if (!page.ok()) return FailFrom(0, page.status());
    const absl::Time now = owner_.clock_();
    for (const Struct& row : page->items) {
      std::optional<absl::Time> opened = OpenedAt(row, lane_->marker);
      std::optional<int> id = IntField(row, "id");
      if (!opened || !id) continue;  // matched text that is not the line
      if (now - *opened >= lane_->window) break;  // the newest is too old: a new ticket
      KnownTicket known{*id, *opened, now, AnsweredSubset(row)};
      owner_.Remember(*lane_, known);
      return Note(std::move(known), 0, true);
    }
    Create();
  }

  // The first detection opens the ticket; the others of the batch are noted on it.
  void Create() {
    const absl::Time opened = owner_.clock_();
    Struct ticket = NewTicket(members_.front().request);
    AppendVisibleLine(ticket, "details", "details_html", DedupeLine(lane_->marker, opened));
    owner_.creates_.CreateTicket(context_, std::move(ticket),
                                 [self = shared_from_this(), opened](absl::StatusOr<Value> answer) {
                                   self->OnCreated(std::move(answer), opened);
                                 });
  }

  void OnCreated(absl::StatusOr<Value> answer, absl::Time opened) {
    absl::StatusOr<Struct> ticket = answer.ok() ? SingleObject(*std::move(answer), "ticket") : answer.status();
    if (!ticket.ok()) return FailFrom(0, ticket.status());
    std::optional<int> id = IntField(*ticket, "id");
    if (!id) return FailFrom(0, BadResponse("HaloPSA answered a ticket without an id"));
    // An earlier attempt's ticket (found by its idempotency reference) keeps its own time.
    KnownTicket known{*id, OpenedAt(*ticket, lane_->marker).value_or(opened), owner_.clock_(),
                      AnsweredSubset(*ticket)};
    owner_.Remember(*lane_, known);
    v1::CreateTicketResponse created;
    created.set_id(*id);
    *created.mutable_ticket() = *std::move(ticket);
    results_[0] = std::move(created);
    if (members_.size() == 1) return Finish();
    Note(std::move(known), 1, true);
  }

  // One private note on `known` carrying the detections from `first` on.
  void Note(KnownTicket known, size_t first, bool just_listed) {
    v1::AddActionRequest note;
    note.set_ticket_id(known.id);
    Struct action = NewAction(note, *context_.connection);
    action.mutable_fields()->erase("note");
    std::vector<std::string> parts(parts_.begin() + static_cast<std::ptrdiff_t>(first), parts_.end());
    (*action.mutable_fields())["note_html"] =
        JsonString(MergedNoteHtml(absl::StrJoin(parts, kPartSeparator), parts.size()));
    CallContext note_context = context_;
    note_context.idempotency_key = NoteIdempotencyKey(first);
    owner_.creates_.AddAction(note_context, std::move(action),
                              [self = shared_from_this(), known = std::move(known), first, just_listed,
                               note = std::move(note)](absl::StatusOr<Value> answer) mutable {
                                self->OnNoted(std::move(answer), std::move(known), first, just_listed, note);
                              });
  }

  void OnNoted(absl::StatusOr<Value> answer, KnownTicket known, size_t first, bool just_listed,
               const v1::AddActionRequest& note) {
    if (!answer.ok()) {
      owner_.Forget(*lane_);  // the next batch asks HaloPSA again
      // Deleted since it was last listed: find or open the key's ticket now.
      if (!just_listed && answer.status().code() == absl::StatusCode::kNotFound) return List();
      return FailFrom(first, ExplainOutcomeRefusal(answer.status(), note, *context_.connection));
    }
    for (size_t i = first; i < members_.size(); ++i) {
      v1::CreateTicketResponse deduplicated;
      deduplicated.set_id(known.id);
      *deduplicated.mutable_ticket() = known.answered;
      deduplicated.set_deduplicated(true);
      results_[i] = std::move(deduplicated);
    }
    Finish();
  }

  // A merged note whose answer is lost is looked for by a reference derived
  // from its callers' keys; without any key it is one plain POST.
  std::string NoteIdempotencyKey(size_t first) const {
    std::vector<absl::string_view> keys;
    for (size_t i = first; i < members_.size(); ++i) {
      if (!members_[i].context.idempotency_key.empty()) keys.push_back(members_[i].context.idempotency_key);
    }
    return keys.empty() ? "" : absl::StrCat("dedupe note ", ShortDigest(absl::StrJoin(keys, "\n")));
  }

  void FailFrom(size_t first, const absl::Status& failure) {
    for (size_t i = first; i < members_.size(); ++i) results_[i] = failure;
    Finish();
  }

  // The lock goes first, then every caller gets its answer, then the key's
  // next batch may start.
  void Finish() {
    if (release_) std::exchange(release_, nullptr)();
    for (size_t i = 0; i < members_.size(); ++i) members_[i].done(*std::move(results_[i]));
    owner_.BatchDone(std::move(lane_));
  }

  StormDedupe& owner_;
  std::shared_ptr<Lane> lane_;
  std::vector<Detection> members_;
  std::vector<std::string> parts_;  // each member's part of a note
  CallContext context_;             // the first member's, with the earliest deadline of all
  LinkLocks::Release release_;
  std::vector<std::optional<absl::StatusOr<v1::CreateTicketResponse>>> results_;
};

StormDedupe::StormDedupe(HaloApi& api, LinkLocks& locks, IdempotentCreates& creates, DedupeOptions options,
                         Clock clock)
    : api_(api), locks_(locks), creates_(creates), options_(options), clock_(std::move(clock)) {}

StormDedupe::~StormDedupe() = default;

void StormDedupe::CreateTicket(const CallContext& context, const v1::CreateTicketRequest& request,
                               Reply<v1::CreateTicketResponse> done) {
  const std::string marker =
      DedupeMarker(request.has_client_id() ? std::optional<int>(request.client_id()) : std::nullopt,
                   request.dedupe_key());
  const HaloConnection& connection = *context.connection;
  const int window_min = request.has_dedupe_window_min() ? request.dedupe_window_min() : kDefaultDedupeWindowMin;
  // A batch spends one org's budget with one credential: orgs and
  // credentials merge only their own detections (they share the lock).
  const std::string lane_key = absl::StrCat(connection.instance_url, "\n", connection.client_id, "\n", context.org,
                                            "\n", marker, "\n", window_min);
  std::shared_ptr<Lane> lane;
  absl::Status refused;
  {
    absl::MutexLock lock(&mutex_);
    lane = LaneFor(lane_key, marker, context, request);
    if (lane == nullptr) {
      refused = absl::ResourceExhaustedError(absl::StrCat("more than ", options_.max_keys, " dedupe keys in use"));
    } else if (lane->waiting.size() >= options_.max_waiting_per_key) {
      refused = absl::ResourceExhaustedError(
          absl::StrCat("more than ", options_.max_waiting_per_key, " detections wait for this dedupe_key"));
    } else {
      lane->waiting.push_back(Detection{context, request, clock_(), std::move(done)});
      if (lane->busy) return;
      lane->busy = true;
    }
  }
  if (!refused.ok()) return done(WithRetryDelay(WithErrorInfo(refused, kReasonOverloaded), absl::Seconds(1)));
  StartBatch(std::move(lane));
}

std::shared_ptr<StormDedupe::Lane> StormDedupe::LaneFor(const std::string& lane_key, const std::string& marker,
                                                        const CallContext& context,
                                                        const v1::CreateTicketRequest& request) {
  if (auto it = lanes_.find(lane_key); it != lanes_.end()) return it->second;
  if (lanes_.size() >= options_.max_keys && !ForgetIdleKeys()) return nullptr;
  auto lane = std::make_shared<Lane>();
  lane->marker = marker;
  lane->lock_key = absl::StrCat(context.connection->instance_url, "\ndedupe\n", lane->marker);
  if (request.has_client_id()) lane->client_id = request.client_id();
  lane->window = absl::Minutes(request.has_dedupe_window_min() ? request.dedupe_window_min()
                                                                : kDefaultDedupeWindowMin);
  lanes_.emplace(lane_key, lane);
  return lane;
}

// What an idle key remembers is an optimisation: HaloPSA has it too.
bool StormDedupe::ForgetIdleKeys() {
  for (auto it = lanes_.begin(); it != lanes_.end();) {
    const Lane& lane = *it->second;
    if (!lane.busy && lane.waiting.empty()) {
      lanes_.erase(it++);
    } else {
      ++it;
    }
  }
  return lanes_.size() < options_.max_keys;
}

void StormDedupe::StartBatch(std::shared_ptr<Lane> lane) {
  std::vector<Detection> members;
  std::vector<std::string> parts;
  std::vector<Detection> expired;
  const size_t room = options_.max_note_bytes > kNoteOverheadBytes ? options_.max_note_bytes - kNoteOverheadBytes : 1;
  {
    absl::MutexLock lock(&mutex_);
    const absl::Time now = clock_();
    size_t used = 0;
    while (!lane->waiting.empty()) {
      Detection& next = lane->waiting.front();
      if (next.context.deadline <= now) {
        expired.push_back(std::move(next));
        lane->waiting.pop_front();
        continue;
      }
      std::string part = DetectionHtml({next.received, next.request.summary(), next.request.details()}, room);
      size_t cost = part.size() + (members.empty() ? 0 : kPartSeparator.size());
      if (!members.empty() && used + cost > room) break;
      used += cost;
      parts.push_back(std::move(part));
      members.push_back(std::move(next));
      lane->waiting.pop_front();
    }
    if (members.empty()) lane->busy = false;
  }
  for (Detection& late : expired) {
    late.done(WithErrorInfo(absl::DeadlineExceededError("the deadline passed while waiting for another call with "
                                                        "the same dedupe_key"),
                            kReasonUpstreamTimeout));
  }
  if (members.empty()) return;
  std::make_shared<Batch>(*this, std::move(lane), std::move(members), std::move(parts))->Start();
}

void StormDedupe::BatchDone(std::shared_ptr<Lane> lane) {
  {
    absl::MutexLock lock(&mutex_);
    if (lane->waiting.empty()) {
      lane->busy = false;
      return;
    }
  }
  StartBatch(std::move(lane));
}

std::optional<StormDedupe::KnownTicket> StormDedupe::Known(const Lane& lane) {
  absl::MutexLock lock(&mutex_);
  const absl::Time now = clock_();
  if (!lane.known || now - lane.known->listed >= options_.recheck_after || now - lane.known->opened >= lane.window) {
    return std::nullopt;
  }
  return lane.known;
}

void StormDedupe::Remember(Lane& lane, KnownTicket known) {
  absl::MutexLock lock(&mutex_);
  lane.known = std::move(known);
}

void StormDedupe::Forget(Lane& lane) {
  absl::MutexLock lock(&mutex_);
  lane.known.reset();
}

size_t StormDedupe::keys() const {
  absl::MutexLock lock(&mutex_);
  return lanes_.size();
}

}  // namespace halopsa

#include "server/idempotent_create.h"

#include <openssl/sha.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "server/error_mapping.h"
#include "server/halo_payloads.h"
#include "server/json_values.h"
#include "server/paged_list.h"

namespace halopsa {

using google::protobuf::Struct;
using google::protobuf::Value;

// What differs between the two creates: where they go, which text carries
// the marker, and where an earlier attempt's object would be listed.
struct CreateKind {
  absl::string_view what;  // names the object in messages
  absl::string_view path;  // POST creates here, GET lists here
  absl::string_view list_key;
  absl::string_view text_field;  // the plain text HaloPSA derives; list rows carry it
  absl::string_view html_field;  // the HTML HaloPSA keeps as given: the marker goes here
  int lookup_page_size;
  HaloApi::Query (*lookup_filters)(const Struct& object, const std::string& reference);
  // List items may be partial: the found object is read again by id, so the
  // caller gets what the create would have answered.
  bool read_back;
};

namespace {

// Pages examined for the marker before giving up: "not found" must be
// conclusive, since it lets a retry write again.
constexpr int kMaxLookupPages = 10;

HaloApi::Query TicketLookupFilters(const Struct& /*ticket*/, const std::string& reference) {
  // The documented string filter "returns tickets based on the details
  // matching the search" (whether plain `search` covers details is
  // unconfirmed). The reference alone is unique; no client filter, since
  // Halo may move a ticket to another client (from its user) on create.
  return {{"search_details", reference}};
}

HaloApi::Query ActionLookupFilters(const Struct& action, const std::string& /*reference*/) {
  return {{"ticket_id", absl::StrCat(IntField(action, "ticket_id").value_or(0))}};
}

constexpr CreateKind kTicketCreate{"ticket", "/api/Tickets", "tickets", "details", "details_html", 10,
                                   &TicketLookupFilters, true};
constexpr CreateKind kActionCreate{"action", "/api/Actions", "actions", "note", "note_html", kHaloMaxPageSize,
                                   &ActionLookupFilters, false};

bool CarriesReference(const Struct& item, const CreateKind& kind, absl::string_view reference) {
  return absl::StrContains(StringField(item, kind.text_field), reference) ||
         absl::StrContains(StringField(item, kind.html_field), reference);
}

bool IsOutcomeUnknown(const absl::Status& status) {
  std::optional<google::rpc::ErrorInfo> info = GetErrorInfo(status);
  return info && info->reason() == kReasonUpstreamOutcomeUnknown;
}

// The earlier attempt's object as its create would have answered it, or
// nullopt when no object carries the marker.
using Found = absl::StatusOr<std::optional<Value>>;
using FoundCallback = absl::AnyInvocable<void(Found)>;

// Walks the list where an earlier attempt's object would be, looking for the
// one whose marked field contains the reference.
class MarkerSearch : public std::enable_shared_from_this<MarkerSearch> {
 public:
  MarkerSearch(HaloApi& api, const CreateKind& kind, CallContext context, HaloApi::Query filters, std::string reference,
               FoundCallback done)
      : api_(api),
        kind_(kind),
        context_(std::move(context)),
        filters_(std::move(filters)),
        reference_(std::move(reference)),
        done_(std::move(done)) {}

  void Fetch(int page_no) {
    PageRequest request{std::string(kind_.path), filters_, std::string(kind_.list_key), kind_.lookup_page_size,
                        page_no};
    FetchPage(api_, context_, std::move(request), [self = shared_from_this(), page_no](absl::StatusOr<Page> page) {
      self->OnPage(page_no, std::move(page));
    });
  }

 private:
  void OnPage(int page_no, absl::StatusOr<Page> page) {
    if (!page.ok()) return done_(page.status());
    for (Struct& item : page->items) {
      if (CarriesReference(item, kind_, reference_)) return OnMarked(std::move(item));
    }
    bool more_pages = static_cast<int64_t>(page_no) * kind_.lookup_page_size < page->record_count;
    if (!more_pages) return done_(std::optional<Value>());
    if (page_no >= kMaxLookupPages) {
      return done_(WithErrorInfo(
          absl::UnavailableError(absl::StrCat("cannot tell whether an earlier attempt created the ", kind_.what,
                                              ": more than ", kMaxLookupPages * kind_.lookup_page_size, " HaloPSA ",
                                              kind_.list_key, " to search for its marker")),
          kReasonUpstreamOutcomeUnknown, {{"endpoint", std::string(kind_.path)}}));
    }
    Fetch(page_no + 1);
  }

  void OnMarked(Struct item) {
    if (!kind_.read_back) {
      Value object;
      *object.mutable_struct_value() = std::move(item);
      return done_(std::make_optional(std::move(object)));
    }
    std::optional<int> id = IntField(item, "id");
    if (!id) {
      return done_(WithErrorInfo(
          absl::UnavailableError(absl::StrCat("HaloPSA listed a ", kind_.what, " without an id")),
          kReasonUpstreamBadResponse, {{"endpoint", std::string(kind_.path)}}));
    }
    api_.Get(context_, absl::StrCat(kind_.path, "/", *id), {},
             [self = shared_from_this()](absl::StatusOr<Value> object) {
               if (!object.ok()) return self->done_(object.status());
               self->done_(std::make_optional(*std::move(object)));
             });
  }

  HaloApi& api_;
  const CreateKind& kind_;
  const CallContext context_;
  const HaloApi::Query filters_;
  const std::string reference_;
  FoundCallback done_;
};

// One create with an idempotency key, from the journal check to the answer.
class KeyedCreate : public std::enable_shared_from_this<KeyedCreate> {
 public:
  KeyedCreate(HaloApi& api, UnknownOutcomeJournal& journal, const CreateKind& kind, CallContext context,
              Struct object, HaloApi::Callback done)
      : api_(api),
        journal_(journal),
        kind_(kind),
        context_(std::move(context)),
        reference_(IdempotencyReference(context_.idempotency_key)),
        journal_key_(absl::StrCat(kind.path, "\n", context_.connection->instance_url, "\n",
                                  context_.idempotency_key)),
        done_(std::move(done)) {
    AppendVisibleLine(object, kind_.text_field, kind_.html_field, reference_);
    lookup_filters_ = kind_.lookup_filters(object, reference_);
    object_ = std::move(object);
  }

  void Start() {
    journal_.Begin(journal_key_, context_.deadline, [self = shared_from_this()](absl::StatusOr<bool> earlier) {
      // Without the journal nothing tells whether an earlier attempt wrote.
      if (!earlier.ok()) return self->done_(earlier.status());
      if (!*earlier) return self->Post();
      // A retry after an unknown outcome (or of an attempt that never
      // finished): the earlier attempt may have written.
      self->Lookup([self](Found found) {
        // A failed lookup cannot tell, and writing anyway could duplicate.
        if (!found.ok()) return self->done_(found.status());
        if (*found) return self->Succeed(**std::move(found));
        self->Post();
      });
    });
  }

 private:
  void Post() {
    api_.Post(context_, std::string(kind_.path), ArrayOf(std::move(object_)),
              [self = shared_from_this()](absl::StatusOr<Value> answer) { self->OnPosted(std::move(answer)); });
  }

  void OnPosted(absl::StatusOr<Value> answer) {
    if (answer.ok()) return Succeed(*std::move(answer));
    if (!IsOutcomeUnknown(answer.status())) {
      journal_.Remove(journal_key_);  // HaloPSA answered: nothing was written
      return done_(answer.status());
    }
    journal_.Add(journal_key_);
    if (absl::Now() >= context_.deadline) return done_(answer.status());
    // Whatever the lookup cannot confirm stays unknown: the original error
    // is retriable, and the retry looks again.
    Lookup([self = shared_from_this(), unknown = answer.status()](Found found) {
      if (found.ok() && *found) return self->Succeed(**std::move(found));
      self->done_(unknown);
    });
  }

  // The key stays marked until it expires: a gRPC caller has no reply
  // store in front of it, and its retry after this answer was lost must
  // find this object, not make a second one.
  void Succeed(Value created) { done_(std::move(created)); }

  void Lookup(FoundCallback then) {
    std::make_shared<MarkerSearch>(api_, kind_, context_, lookup_filters_, reference_, std::move(then))->Fetch(1);
  }

  HaloApi& api_;
  UnknownOutcomeJournal& journal_;
  const CreateKind& kind_;
  const CallContext context_;
  const std::string reference_;
  // Creates of different kinds and tenants may share a caller's key.
  const std::string journal_key_;
  HaloApi::Callback done_;
  HaloApi::Query lookup_filters_;
  Struct object_;
};

}  // namespace

std::string ShortDigest(absl::string_view text) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest);
  absl::string_view half(reinterpret_cast<const char*>(digest), 16);  // 32 hex digits
  return absl::BytesToHexString(half);
}

std::string IdempotencyReference(absl::string_view idempotency_key) {
  return absl::StrCat("ext-halopsa ref ", ShortDigest(idempotency_key));
}

void AppendVisibleLine(Struct& object, absl::string_view text_field, absl::string_view html_field,
                       absl::string_view line) {
  auto& fields = *object.mutable_fields();
  auto html = fields.find(std::string(html_field));
  std::string body =
      html != fields.end() ? html->second.string_value() : PlainTextAsHtml(StringField(object, text_field));
  fields.erase(std::string(text_field));
  fields[std::string(html_field)] = JsonString(body.empty() ? std::string(line) : absl::StrCat(body, "<br>", line));
}

InMemoryOutcomeJournal::InMemoryOutcomeJournal(JournalLimits limits, Clock clock)
    : ttl_(limits.ttl), clock_(std::move(clock)), keys_({.max_entries = limits.max_keys}) {}

void InMemoryOutcomeJournal::Begin(const std::string& key, absl::Time /*deadline*/, Checked done) {
  bool earlier;
  {
    absl::MutexLock lock(&mutex_);
    const absl::Time now = clock_();
    earlier = keys_.Find(key, now) != nullptr;
    keys_.Put(key, Marked{}, now, ttl_);
  }
  done(earlier);
}

void InMemoryOutcomeJournal::Add(const std::string& key) {
  absl::MutexLock lock(&mutex_);
  keys_.Put(key, Marked{}, clock_(), ttl_);
}

bool InMemoryOutcomeJournal::Contains(const std::string& key) {
  absl::MutexLock lock(&mutex_);
  const absl::Time now = clock_();
  keys_.EraseExpired(now);
  return keys_.Find(key, now) != nullptr;
}

void InMemoryOutcomeJournal::Remove(const std::string& key) {
  absl::MutexLock lock(&mutex_);
  keys_.Erase(key);
}

size_t InMemoryOutcomeJournal::size() const {
  absl::MutexLock lock(&mutex_);
  return keys_.size();
}

void IdempotentCreates::CreateTicket(const CallContext& context, Struct ticket, HaloApi::Callback done) {
  Create(kTicketCreate, context, std::move(ticket), std::move(done));
}

void IdempotentCreates::AddAction(const CallContext& context, Struct action, HaloApi::Callback done) {
  Create(kActionCreate, context, std::move(action), std::move(done));
}

void IdempotentCreates::Create(const CreateKind& kind, const CallContext& context, Struct object,
                               HaloApi::Callback done) {
  if (context.idempotency_key.empty() || !context.connection->idempotency_marker) {
    return api_.Post(context, std::string(kind.path), ArrayOf(std::move(object)), std::move(done));
  }
  std::make_shared<KeyedCreate>(api_, journal_, kind, context, std::move(object), std::move(done))->Start();
}

}  // namespace halopsa

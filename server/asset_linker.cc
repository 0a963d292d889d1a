#include "server/asset_linker.h"

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/algorithm/container.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "server/error_mapping.h"
#include "server/halo_payloads.h"
#include "server/json_values.h"
#include "server/paged_list.h"

namespace halopsa {
namespace {

using google::protobuf::Struct;
using google::protobuf::Value;

// How many pages of search results are examined for an exact match before
// giving up: matching must be conclusive, or a duplicate asset is created.
constexpr int kMaxAssetPages = 10;

// Which field holds a hostname is up to each tenant.
bool MatchesHostname(const Struct& asset, absl::string_view hostname) {
  for (absl::string_view field : {"inventory_number", "key_field", "key_field2", "key_field3"}) {
    if (absl::EqualsIgnoreCase(StringField(asset, field), hostname)) return true;
  }
  return false;
}

// How an asset is looked up by hostname: the documented exact filter first,
// the broader search only when it finds nothing.
enum class Lookup { kInventoryNumber, kSearch };

bool IsInactive(const Struct& asset) {
  auto it = asset.fields().find("inactive");
  return it != asset.fields().end() && it->second.bool_value();
}

// Active assets before inactive ones, then the oldest (lowest id).
bool Preferred(const Struct& candidate, const Struct& current) {
  if (IsInactive(candidate) != IsInactive(current)) return !IsInactive(candidate);
  return IntField(candidate, "id").value_or(0) < IntField(current, "id").value_or(0);
}

// False when the ticket as HaloPSA answered it lists its assets without
// `asset_id`; true when it does not list them (a plain ticket answer need
// not carry them).
bool TicketMayHaveAsset(const Struct& ticket, int asset_id) {
  auto assets = ticket.fields().find("assets");
  if (assets == ticket.fields().end()) return true;
  for (const Value& entry : assets->second.list_value().values()) {
    if (IntField(entry.struct_value(), "id") == asset_id) return true;
  }
  return false;
}

// The full asset list as Halo takes it ([{"id": N}, ...]): it replaces a
// ticket's list with the one it is given.
Value AssetList(const std::vector<int>& ids) {
  Value list;
  for (int id : ids) {
    (*list.mutable_list_value()->add_values()->mutable_struct_value()->mutable_fields())["id"] = JsonNumber(id);
  }
  return list;
}

class AssetLink : public std::enable_shared_from_this<AssetLink> {
 public:
  AssetLink(HaloApi& api, LinkLocks& locks, CallContext context, v1::LinkAssetToTicketRequest request,
            Reply<v1::LinkAssetToTicketResponse> done)
      : api_(api), locks_(locks), context_(std::move(context)), request_(std::move(request)), done_(std::move(done)) {}

  void Start() {
    const std::string& instance = context_.connection->instance_url;
    locks_.Acquire(absl::StrCat(instance, "\nticket\n", request_.ticket_id()), context_.deadline,
                   [self = shared_from_this()](absl::StatusOr<LinkLocks::Release> lock) {
                     if (self->Locked(std::move(lock), "ticket", self->ticket_lock_)) self->ReadTicket();
                   });
  }

 private:
  // A lock can come after the call's deadline (the links ahead of it were
  // slow): then the call ends at once instead of working past it. With
  // equal deadlines this bounds every link by its own. Without the lock
  // (shared locks unreachable) the link must not go ahead either.
  bool Locked(absl::StatusOr<LinkLocks::Release> lock, absl::string_view what, LinkLocks::Release& slot) {
    if (lock.ok()) {
      slot = *std::move(lock);
      return true;
    }
    if (lock.status().code() != absl::StatusCode::kDeadlineExceeded) {
      Finish(lock.status());
      return false;
    }
    Finish(WithErrorInfo(absl::DeadlineExceededError(
                             absl::StrCat("the deadline passed while waiting for another link of the same ", what)),
                         kReasonUpstreamTimeout));
    return false;
  }

  void ReadTicket() {
    api_.Get(context_, absl::StrCat("/api/Tickets/", request_.ticket_id()), {},
             [self = shared_from_this()](absl::StatusOr<Value> ticket) { self->OnTicket(std::move(ticket)); });
  }

  // The same host in another client is another asset.
  std::string HostKey() const {
    return absl::StrCat(context_.connection->instance_url, "\nhost\n", request_.has_client_id() ? request_.client_id() : 0,
                        "\n", absl::AsciiStrToLower(request_.hostname()));
  }

  void ReleaseHost() {
    if (host_lock_) std::exchange(host_lock_, nullptr)();
  }

  // Every path ends here: locks go before the answer.
  void Finish(absl::StatusOr<v1::LinkAssetToTicketResponse> result) {
    ReleaseHost();
    if (ticket_lock_) std::exchange(ticket_lock_, nullptr)();
    done_(std::move(result));
  }

  // Reads a single-object answer into `target`; on failure answers the call.
  bool Accept(absl::StatusOr<Value> answer, absl::string_view what, Struct* target) {
    absl::StatusOr<Struct> object = answer.ok() ? SingleObject(*std::move(answer), what) : answer.status();
    if (!object.ok()) {
      Finish(object.status());
      return false;
    }
    *target = *std::move(object);
    return true;
  }

  void OnTicket(absl::StatusOr<Value> ticket) {
    if (!Accept(std::move(ticket), "ticket", response_.mutable_ticket())) return;
    ReadLinkedAssets(1);
  }

  // The documented way to a ticket's assets (GET /api/Asset?ticket_id=N):
  // whether a plain ticket read carries them is unconfirmed.
  void ReadLinkedAssets(int page_no) {
    HaloApi::Query filters = {{"ticket_id", absl::StrCat(request_.ticket_id())}};
    FetchPage(api_, context_, PageRequest{"/api/Asset", std::move(filters), "assets", kHaloMaxPageSize, page_no},
              [self = shared_from_this(), page_no](absl::StatusOr<Page> page) {
                self->OnLinkedPage(page_no, std::move(page));
              });
  }

  void OnLinkedPage(int page_no, absl::StatusOr<Page> page) {
    if (!page.ok()) return Finish(page.status());
    for (Struct& asset : page->items) {
      std::optional<int> id = IntField(asset, "id");
      if (!id) continue;
      linked_ids_.push_back(*id);
      if (InRequestedScope(asset)) Consider(std::move(asset));
    }
    if (static_cast<long>(page_no) * kHaloMaxPageSize < page->record_count) {
      if (page_no >= kMaxAssetPages) {
        return Finish(absl::FailedPreconditionError(absl::StrCat("ticket ", request_.ticket_id(), " has more than ",
                                                                 kMaxAssetPages * kHaloMaxPageSize, " assets")));
      }
      return ReadLinkedAssets(page_no + 1);
    }
    if (response_.has_asset()) return LinkFound();  // already linked: nothing to write
    // Without the host lock: the asset nearly always exists, and calls for
    // one host on different tickets need not wait for each other.
    FindAsset(Lookup::kInventoryNumber, 1);
  }

  bool InRequestedScope(const Struct& asset) const {
    return (!request_.has_client_id() || IntField(asset, "client_id") == request_.client_id()) &&
           (!request_.has_site_id() || IntField(asset, "site_id") == request_.site_id());
  }

  // Keeps `asset` as the answer when it matches the hostname and is
  // preferred to the one kept so far.
  void Consider(Struct asset) {
    if (MatchesHostname(asset, request_.hostname()) &&
        (!response_.has_asset() || Preferred(asset, response_.asset()))) {
      *response_.mutable_asset() = std::move(asset);
    }
  }

  void FindAsset(Lookup lookup, int page_no) {
    HaloApi::Query filters = {{lookup == Lookup::kInventoryNumber ? "inventory_number" : "search",
                               request_.hostname()}};
    if (request_.has_client_id()) filters.emplace_back("client_id", absl::StrCat(request_.client_id()));
    if (request_.has_site_id()) filters.emplace_back("site_id", absl::StrCat(request_.site_id()));
    FetchPage(api_, context_, PageRequest{"/api/Asset", std::move(filters), "assets", kHaloMaxPageSize, page_no},
              [self = shared_from_this(), lookup, page_no](absl::StatusOr<Page> page) {
                self->OnAssetPage(lookup, page_no, std::move(page));
              });
  }

  // Matches are exact and client-side either way; the exact filter's first
  // page decides (a tenant that ignored the filter then falls back to search).
  void OnAssetPage(Lookup lookup, int page_no, absl::StatusOr<Page> page) {
    if (!page.ok()) return Finish(page.status());
    for (Struct& asset : page->items) Consider(std::move(asset));
    if (lookup == Lookup::kInventoryNumber) {
      // Under the host lock only assets this service creates matter, and
      // they carry the hostname as inventory_number. Elsewhere an inactive
      // match lets the search look for an active one (key_field) first.
      if (response_.has_asset() && (host_lock_ || !IsInactive(response_.asset()))) return LinkFound();
      if (host_lock_) return AssetMissing();
      return FindAsset(Lookup::kSearch, 1);
    }
    if (response_.has_asset()) return LinkFound();
    bool more_pages = static_cast<long>(page_no) * kHaloMaxPageSize < page->record_count;
    if (!more_pages) return AssetMissing();
    if (page_no >= kMaxAssetPages) {
      return Finish(absl::FailedPreconditionError(absl::StrCat(
          "more than ", kMaxAssetPages * kHaloMaxPageSize, " HaloPSA assets mention hostname '",
          request_.hostname(), "'; give client_id/site_id to narrow the match")));
    }
    FindAsset(Lookup::kSearch, page_no + 1);
  }

  // Why no asset may be created for the hostname, if it may not.
  absl::Status CreationAllowed() const {
    const std::string& host = request_.hostname();
    if (!request_.create_if_missing() && request_.has_create_if_missing()) {
      return absl::NotFoundError(
          absl::StrCat("no HaloPSA asset matches hostname '", host, "' and create_if_missing is false"));
    }
    if (!request_.has_client_id()) {
      return InvalidField("client_id", absl::StrCat("is required to create the asset for hostname '", host,
                                                   "': no HaloPSA asset matches it"));
    }
    if (!request_.has_asset_type_id()) {
      return InvalidField("asset_type_id", absl::StrCat("is required to create the asset for hostname '", host,
                                                       "': no HaloPSA asset matches it"));
    }
    return absl::OkStatus();
  }

  // No asset matched. Another call may be creating this host's asset right
  // now: the creation happens under the host lock, after searching again
  // there (one more request, only for hosts new to HaloPSA).
  void AssetMissing() {
    if (absl::Status allowed = CreationAllowed(); !allowed.ok()) return Finish(std::move(allowed));
    if (host_lock_) return CreateAsset();
    locks_.Acquire(HostKey(), context_.deadline, [self = shared_from_this()](absl::StatusOr<LinkLocks::Release> lock) {
      if (self->Locked(std::move(lock), "hostname", self->host_lock_)) self->FindAsset(Lookup::kInventoryNumber, 1);
    });
  }

  void CreateAsset() {
    api_.Post(context_, "/api/Asset", ArrayOf(NewAsset(request_)),
              [self = shared_from_this()](absl::StatusOr<Value> asset) { self->OnAssetCreated(std::move(asset)); });
  }

  void OnAssetCreated(absl::StatusOr<Value> asset) {
    if (!Accept(std::move(asset), "asset", response_.mutable_asset())) return;
    response_.set_asset_created(true);
    LinkFound();
  }

  void LinkFound() {
    std::optional<int> asset_id = IntField(response_.asset(), "id");
    if (!asset_id) {
      return Finish(WithErrorInfo(absl::UnavailableError("HaloPSA answered an asset without an id"),
                                 kReasonUpstreamBadResponse));
    }
    response_.set_asset_id(*asset_id);
    ReleaseHost();  // the asset exists now; the rest concerns only the ticket
    if (absl::c_linear_search(linked_ids_, *asset_id)) return Finish(std::move(response_));

    linked_ids_.push_back(*asset_id);
    Struct change;
    (*change.mutable_fields())["id"] = JsonNumber(request_.ticket_id());
    (*change.mutable_fields())["assets"] = AssetList(linked_ids_);
    api_.Post(context_, "/api/Tickets", ArrayOf(std::move(change)),
              [self = shared_from_this()](absl::StatusOr<Value> ticket) { self->OnTicketWritten(std::move(ticket)); });
  }

  void OnTicketWritten(absl::StatusOr<Value> ticket) {
    if (!Accept(std::move(ticket), "ticket", response_.mutable_ticket())) return;
    // When HaloPSA answers the ticket with its assets, the link must be among them.
    if (!TicketMayHaveAsset(response_.ticket(), response_.asset_id())) {
      return Finish(WithErrorInfo(
          absl::UnavailableError(absl::StrCat("HaloPSA answered ticket ", request_.ticket_id(),
                                              " without the linked asset ", response_.asset_id())),
          kReasonUpstreamBadResponse));
    }
    Finish(std::move(response_));
  }

  HaloApi& api_;
  LinkLocks& locks_;
  LinkLocks::Release ticket_lock_;
  LinkLocks::Release host_lock_;
  const CallContext context_;
  const v1::LinkAssetToTicketRequest request_;
  Reply<v1::LinkAssetToTicketResponse> done_;
  v1::LinkAssetToTicketResponse response_;
  std::vector<int> linked_ids_;  // the ticket's assets before this link
};

}  // namespace

void LinkAsset(HaloApi& api, LinkLocks& locks, const CallContext& context,
               const v1::LinkAssetToTicketRequest& request, Reply<v1::LinkAssetToTicketResponse> done) {
  std::make_shared<AssetLink>(api, locks, context, request, std::move(done))->Start();
}

}  // namespace halopsa

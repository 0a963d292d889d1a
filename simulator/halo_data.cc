#include "simulator/halo_data.h"

#include <algorithm>
#include <array>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "simulator/halo_query.h"
#include "simulator/html_text.h"

namespace halopsa::sim {
namespace {

constexpr char kUnsetDate[] = "1900-01-01T00:00:00";

std::string NameOf(const std::string& name) { return name; }
std::string NameOf(const Struct& record) { return StringField(record, "name"); }

// Sets record[name_key] to the name of the entry record[id_key] refers to,
// or drops it when there is no such entry (so a changed id leaves no stale
// name behind).
template <typename Entry>
void SetName(Struct& record, const char* id_key, const char* name_key,
             const std::map<int64_t, Entry>& entries) {
  const std::optional<int64_t> id = IntField(record, id_key);
  const auto it = id.has_value() ? entries.find(*id) : entries.end();
  if (it == entries.end()) {
    record.mutable_fields()->erase(name_key);
  } else {
    Set(record, name_key, JsonString(NameOf(it->second)));
  }
}

}  // namespace

HaloData::HaloData() { Seed(); }

ApiReply HaloData::Handle(const std::string& method, const std::string& path,
                          const QueryParams& query, const std::string& body) {
  struct Resource {
    absl::string_view name;  // lower case; Halo's routes ignore case
    absl::string_view kind;  // for "not found" messages
    const Table* table;      // GET /api/{name}/{id}; null when unsupported
    ListFn list;
    CheckFn check;
    SaveFn save;  // null for read-only resources
  };
  const std::array<Resource, 6> resources = {{
      {"tickets", "Ticket", &tickets_, &HaloData::ListTickets, &HaloData::CheckTicket,
       &HaloData::SaveTicket},
      {"actions", "Action", nullptr, &HaloData::ListActions, &HaloData::CheckAction,
       &HaloData::SaveAction},
      {"asset", "Asset", &assets_, &HaloData::ListAssets, &HaloData::CheckAsset,
       &HaloData::SaveAsset},
      {"client", "Client", &clients_, &HaloData::ListClients, nullptr, nullptr},
      {"site", "Site", &sites_, &HaloData::ListSites, nullptr, nullptr},
      {"agent", "Agent", nullptr, nullptr, nullptr, nullptr},  // only /api/Agent/me
  }};
  const ApiReply no_route{404, ""};
  const ApiReply bad_method{405, ""};

  const std::vector<std::string> parts = absl::StrSplit(path, '/', absl::SkipEmpty());
  if (parts.empty() || parts.size() > 2) return no_route;
  const std::string name = absl::AsciiStrToLower(parts[0]);
  const auto resource = std::find_if(resources.begin(), resources.end(),
                                     [&](const Resource& r) { return r.name == name; });
  if (resource == resources.end()) return no_route;

  if (parts.size() == 2 && name == "agent" && absl::AsciiStrToLower(parts[1]) == "me") {
    return method == "GET" ? GetAgent(kApiAgentId) : bad_method;
  }
  if (parts.size() == 2) {
    int64_t id = 0;
    if (resource->table == nullptr || !absl::SimpleAtoi(parts[1], &id)) return no_route;
    if (method != "GET") return bad_method;
    if (name == "tickets") return GetTicket(id, query);
    return GetOne(*resource->table, resource->kind, id);
  }
  if (method == "GET" && resource->list != nullptr) return (this->*resource->list)(query);
  if (method == "POST" && resource->save != nullptr) {
    return PostBatch(body, resource->check, resource->save);
  }
  return bad_method;
}

ApiReply HaloData::PostBatch(const std::string& body, CheckFn check, SaveFn save) {
  const absl::StatusOr<Value> parsed = ParseJson(body);
  const bool array_of_objects =
      parsed.ok() && parsed->has_list_value() && parsed->list_value().values_size() > 0 &&
      std::all_of(parsed->list_value().values().begin(), parsed->list_value().values().end(),
                  [](const Value& v) { return v.has_struct_value(); });
  if (!array_of_objects) {
    return FieldError("$", "The request body must be a JSON array of objects.");
  }
  for (const Value& element : parsed->list_value().values()) {
    if (std::optional<ApiReply> error = (this->*check)(element.struct_value())) return *error;
  }
  std::vector<Value> saved;
  for (const Value& element : parsed->list_value().values()) {
    saved.push_back(ObjectValue((this->*save)(element.struct_value())));
  }
  // Halo answers a one-element array with the bare object.
  if (saved.size() == 1) return Reply(200, saved.front());
  return Reply(200, ListValue(std::move(saved)));
}

// ---- Tickets ----

ApiReply HaloData::ListTickets(const QueryParams& params) const {
  QueryReader query(params);
  const std::optional<std::string> search = query.Get("search");
  // A string filter: the text to find in the (plain) details.
  const std::optional<std::string> search_details = query.Get("search_details");
  const std::optional<int64_t> client_id = query.Int("client_id");
  const std::optional<int64_t> site_id = query.Int("site_id");
  const std::optional<int64_t> agent_id = query.Int("agent_id");
  const std::optional<std::vector<int64_t>> status_ids = query.IntList("status_id");
  // requesttype_id is Halo's ticket type filter.
  const std::optional<int64_t> ticket_type = query.Int("requesttype_id");
  const std::optional<int64_t> asset_id = query.Int("asset_id");
  const bool open_only = query.Flag("open_only");
  const DateWindow changed = DateWindow::OfTickets(query);

  std::vector<const Struct*> rows;
  for (const auto& [id, ticket] : tickets_) {
    const int64_t status = IntField(ticket, "status_id").value_or(0);
    if (!changed.Contains(ticket)) continue;
    if (search.has_value() && !ContainsIgnoreCase(StringField(ticket, "summary"), *search) &&
        !ContainsIgnoreCase(StringField(ticket, "details"), *search)) {
      continue;
    }
    if (search_details.has_value() && !ContainsIgnoreCase(StringField(ticket, "details"), *search_details)) {
      continue;
    }
    if (!Matches(ticket, "client_id", client_id) || !Matches(ticket, "site_id", site_id) ||
        !Matches(ticket, "agent_id", agent_id) || !Matches(ticket, "tickettype_id", ticket_type)) {
      continue;
    }
    if (status_ids.has_value() &&
        std::find(status_ids->begin(), status_ids->end(), status) == status_ids->end()) {
      continue;
    }
    if (open_only && status == kClosedStatus) continue;
    if (asset_id.has_value()) {
      const Value* links = Field(ticket, "assets");
      const bool linked =
          links != nullptr &&
          std::any_of(links->list_value().values().begin(), links->list_value().values().end(),
                      [&](const Value& link) {
                        return IntField(link.struct_value(), "id") == asset_id;
                      });
      if (!linked) continue;
    }
    rows.push_back(&ticket);
  }
  return ListReply("tickets", std::move(rows), query);
}

std::optional<ApiReply> HaloData::CheckTicket(const Struct& input) const {
  const int64_t id = IntField(input, "id").value_or(0);
  if (id > 0 && !tickets_.contains(id)) return NotFound("Ticket", id);
  const bool summary_required = id <= 0 || Field(input, "summary") != nullptr;
  if (summary_required && absl::StripAsciiWhitespace(StringField(input, "summary")).empty()) {
    return BareStringError("CODE:APP03/2 Please enter a Summary");
  }
  if (const Value* links = Field(input, "assets")) {
    if (std::optional<ApiReply> error = CheckAssetLinks(*links)) return error;
  }
  if (const Value* entries = Field(input, "customfields")) {
    if (std::optional<ApiReply> error = CheckCustomFields(*entries)) return error;
  }
  return std::nullopt;
}

std::optional<ApiReply> HaloData::CheckAssetLinks(const Value& links) const {
  const std::string shape = "assets must be an array of objects like [{\"id\": 1}]";
  if (!links.has_list_value()) return FieldError("assets", shape);
  for (const Value& link : links.list_value().values()) {
    if (!link.has_struct_value()) return FieldError("assets", shape);
    const std::optional<int64_t> id = IntField(link.struct_value(), "id");
    if (!id.has_value()) return FieldError("assets", shape);
    if (!assets_.contains(*id)) return FieldError("assets", absl::StrCat("Asset ", *id, " not found"));
  }
  return std::nullopt;
}

std::optional<ApiReply> HaloData::CheckCustomFields(const Value& entries) const {
  if (!entries.has_list_value()) {
    return FieldError("customfields", "customfields must be an array of {id|name, value}");
  }
  for (const Value& entry : entries.list_value().values()) {
    if (!ResolveCustomField(entry).has_value()) {
      return FieldError("customfields",
                        absl::StrCat("Unknown custom field ", ToJson(entry)));
    }
  }
  return std::nullopt;
}

std::optional<std::pair<int64_t, std::string>> HaloData::ResolveCustomField(
    const Value& entry) const {
  if (!entry.has_struct_value()) return std::nullopt;
  const Struct& fields = entry.struct_value();
  if (const std::optional<int64_t> id = IntField(fields, "id")) {
    const auto it = custom_fields_.find(*id);
    if (it == custom_fields_.end()) return std::nullopt;
    return *it;
  }
  const std::string name = StringField(fields, "name");
  for (const auto& definition : custom_fields_) {
    if (!name.empty() && absl::EqualsIgnoreCase(definition.second, name)) return definition;
  }
  return std::nullopt;
}

void HaloData::MergeCustomFields(Struct& ticket, const Value& entries) const {
  google::protobuf::ListValue* stored =
      (*ticket.mutable_fields())["customfields"].mutable_list_value();
  for (const Value& entry : entries.list_value().values()) {
    const auto [id, name] = *ResolveCustomField(entry);
    const Value* given = Field(entry.struct_value(), "value");
    const Value value = given != nullptr ? *given : NullValue();
    const auto existing =
        std::find_if(stored->mutable_values()->begin(), stored->mutable_values()->end(),
                     [id = id](const Value& v) { return IntField(v.struct_value(), "id") == id; });
    if (existing != stored->mutable_values()->end()) {
      Set(*existing->mutable_struct_value(), "value", value);
      continue;
    }
    Struct field;
    Set(field, "id", JsonNumber(static_cast<double>(id)));
    Set(field, "name", JsonString(name));
    Set(field, "value", value);
    *stored->add_values() = ObjectValue(std::move(field));
  }
}

Value HaloData::AssetLinks(const Value& links) const {
  std::vector<Value> stored;
  for (const Value& link : links.list_value().values()) {
    Struct entry = link.struct_value();
    const Struct& asset = assets_.at(*IntField(entry, "id"));
    Set(entry, "id", *Field(asset, "id"));
    Set(entry, "inventory_number", JsonString(StringField(asset, "inventory_number")));
    stored.push_back(ObjectValue(std::move(entry)));
  }
  return ListValue(std::move(stored));
}

Struct HaloData::SaveTicket(const Struct& input) {
  int64_t id = IntField(input, "id").value_or(0);
  const bool create = id <= 0;
  if (create) {
    id = next_ticket_id_++;
    Struct fresh;
    Set(fresh, "summary", JsonString(""));
    Set(fresh, "details", JsonString(""));
    for (const char* key : {"client_id", "site_id", "user_id", "agent_id"}) {
      Set(fresh, key, JsonNumber(0));
    }
    Set(fresh, "tickettype_id", JsonNumber(1));
    Set(fresh, "status_id", JsonNumber(1));
    Set(fresh, "dateoccurred", JsonString(HaloNow()));
    Set(fresh, "deadlinedate", JsonString(kUnsetDate));
    Set(fresh, "assets", ListValue({}));
    Set(fresh, "customfields", ListValue({}));
    tickets_[id] = std::move(fresh);
  }
  Struct& ticket = tickets_[id];
  for (const auto& [key, value] : input.fields()) {
    if (key == "assets") {
      Set(ticket, key, AssetLinks(value));  // replaces the list
    } else if (key == "customfields") {
      MergeCustomFields(ticket, value);
    } else {
      Set(ticket, key, value);
    }
  }
  DeriveText(ticket, input, "details", "details_html");
  Set(ticket, "id", JsonNumber(static_cast<double>(id)));
  Set(ticket, "last_update", JsonString(HaloNow()));
  AddNames(ticket);

  // The ticket body is the first entry of its action timeline.
  const std::string details = StringField(ticket, "details");
  std::vector<Struct>& timeline = actions_[id];
  if (timeline.empty()) {
    Struct first;
    Set(first, "id", JsonNumber(1));
    Set(first, "ticket_id", JsonNumber(static_cast<double>(id)));
    Set(first, "outcome", JsonString("Logged"));
    Set(first, "note", JsonString(details));
    Set(first, "hiddenfromuser", JsonBool(false));
    Set(first, "datetime", JsonString(HaloNow()));
    SetAuthor(first, kApiAgentId);
    timeline.push_back(std::move(first));
  } else if (Field(input, "details") != nullptr || Field(input, "details_html") != nullptr) {
    Set(timeline.front(), "note", JsonString(details));
  }
  return ticket;
}

ApiReply HaloData::GetTicket(int64_t id, const QueryParams& params) const {
  const auto it = tickets_.find(id);
  if (it == tickets_.end()) return NotFound("Ticket", id);
  Struct ticket = it->second;
  // Whether a plain read carries the linked assets is unconfirmed: here it
  // does not; includedetails ("include extra objects") adds them.
  if (!QueryReader(params).Flag("includedetails")) ticket.mutable_fields()->erase("assets");
  return Reply(200, ObjectValue(std::move(ticket)));
}

// ---- Assets ----

ApiReply HaloData::ListAssets(const QueryParams& params) const {
  QueryReader query(params);
  const std::optional<std::string> search = query.Get("search");
  const std::optional<std::string> inventory_number = query.Get("inventory_number");
  const std::optional<int64_t> client_id = query.Int("client_id");
  const std::optional<int64_t> site_id = query.Int("site_id");
  const std::optional<int64_t> assettype_id = query.Int("assettype_id");
  // The assets linked to a ticket (none for a ticket that does not exist).
  const std::optional<int64_t> ticket_id = query.Int("ticket_id");
  std::vector<int64_t> linked;
  if (ticket_id.has_value() && tickets_.contains(*ticket_id)) {
    for (const Value& link : Field(tickets_.at(*ticket_id), "assets")->list_value().values()) {
      linked.push_back(IntField(link.struct_value(), "id").value_or(0));
    }
  }

  std::vector<const Struct*> rows;
  for (const auto& [id, asset] : assets_) {
    if (ticket_id.has_value() && std::find(linked.begin(), linked.end(), id) == linked.end()) continue;
    if (search.has_value() &&
        !ContainsIgnoreCase(StringField(asset, "inventory_number"), *search) &&
        !ContainsIgnoreCase(StringField(asset, "key_field"), *search)) {
      continue;
    }
    // Halo's database collation compares case-insensitively.
    if (inventory_number.has_value() &&
        !absl::EqualsIgnoreCase(StringField(asset, "inventory_number"), *inventory_number)) {
      continue;
    }
    if (!Matches(asset, "client_id", client_id) || !Matches(asset, "site_id", site_id) ||
        !Matches(asset, "assettype_id", assettype_id)) {
      continue;
    }
    rows.push_back(&asset);
  }
  return ListReply("assets", std::move(rows), query);
}

std::optional<ApiReply> HaloData::CheckAsset(const Struct& input) const {
  const int64_t id = IntField(input, "id").value_or(0);
  if (id > 0 && !assets_.contains(id)) return NotFound("Asset", id);
  const bool type_required = id <= 0 || Field(input, "assettype_id") != nullptr;
  if (type_required && !asset_types_.contains(IntField(input, "assettype_id").value_or(0))) {
    return ErrorObject(400, "Please select a valid Asset Type");
  }
  return std::nullopt;
}

Struct HaloData::SaveAsset(const Struct& input) {
  int64_t id = IntField(input, "id").value_or(0);
  if (id <= 0) {
    id = next_asset_id_++;
    Struct fresh;
    Set(fresh, "inventory_number", JsonString(""));
    Set(fresh, "client_id", JsonNumber(0));
    Set(fresh, "site_id", JsonNumber(0));
    Set(fresh, "inactive", JsonBool(false));
    assets_[id] = std::move(fresh);
  }
  Struct& asset = assets_[id];
  for (const auto& [key, value] : input.fields()) Set(asset, key, value);
  Set(asset, "id", JsonNumber(static_cast<double>(id)));
  AddNames(asset);
  return asset;
}

// ---- Clients and sites ----

ApiReply HaloData::ListClients(const QueryParams& params) const {
  QueryReader query(params);
  const std::optional<std::string> search = query.Get("search");
  const bool include_inactive = query.Flag("includeinactive");
  std::vector<const Struct*> rows;
  for (const auto& [id, client] : clients_) {
    if (search.has_value() && !ContainsIgnoreCase(StringField(client, "name"), *search)) continue;
    if (!include_inactive && Field(client, "inactive")->bool_value()) continue;
    rows.push_back(&client);
  }
  return ListReply("clients", std::move(rows), query);
}

ApiReply HaloData::ListSites(const QueryParams& params) const {
  QueryReader query(params);
  const std::optional<std::string> search = query.Get("search");
  const std::optional<int64_t> client_id = query.Int("client_id");
  std::vector<const Struct*> rows;
  for (const auto& [id, site] : sites_) {
    if (search.has_value() && !ContainsIgnoreCase(StringField(site, "name"), *search)) continue;
    if (!Matches(site, "client_id", client_id)) continue;
    rows.push_back(&site);
  }
  return ListReply("sites", std::move(rows), query);
}

// ---- Shared ----

void HaloData::AddNames(Struct& record) const {
  SetName(record, "client_id", "client_name", clients_);
  SetName(record, "site_id", "site_name", sites_);
  SetName(record, "agent_id", "agent_name", agents_);
  SetName(record, "assettype_id", "assettype_name", asset_types_);
}

std::vector<Struct> HaloData::tickets() const {
  std::vector<Struct> all;
  for (const auto& [id, ticket] : tickets_) all.push_back(ticket);
  return all;
}

std::optional<Struct> HaloData::ticket(int64_t id) const {
  const auto it = tickets_.find(id);
  if (it == tickets_.end()) return std::nullopt;
  return it->second;
}

std::vector<Struct> HaloData::actions(int64_t ticket_id) const {
  const auto it = actions_.find(ticket_id);
  return it == actions_.end() ? std::vector<Struct>() : it->second;
}

std::vector<Struct> HaloData::assets() const {
  std::vector<Struct> all;
  for (const auto& [id, asset] : assets_) all.push_back(asset);
  return all;
}

Struct HaloData::Snapshot() const {
  std::vector<Value> tickets;
  std::vector<Value> actions;
  std::vector<Value> assets;
  for (const auto& [id, ticket] : tickets_) tickets.push_back(ObjectValue(ticket));
  for (const auto& [id, timeline] : actions_) {
    for (const Struct& action : timeline) actions.push_back(ObjectValue(action));
  }
  for (const auto& [id, asset] : assets_) assets.push_back(ObjectValue(asset));
  Struct snapshot;
  Set(snapshot, "tickets", ListValue(std::move(tickets)));
  Set(snapshot, "actions", ListValue(std::move(actions)));
  Set(snapshot, "assets", ListValue(std::move(assets)));
  return snapshot;
}

}  // namespace halopsa::sim

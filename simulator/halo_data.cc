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

namespace halopsa::sim {
namespace {

constexpr int64_t kDefaultPageSize = 50;  // what Halo returns when not paging
constexpr int64_t kMaxPageSize = 100;     // Halo's server-side cap
constexpr int64_t kClosedStatus = 9;
constexpr char kUnsetDate[] = "1900-01-01T00:00:00";

ApiReply Reply(int status, const Value& body) { return ApiReply{status, ToJson(body)}; }

ApiReply BareStringError(const std::string& message) { return Reply(400, JsonString(message)); }

ApiReply ErrorObject(int status, const std::string& message) {
  Struct body;
  Set(body, "error", JsonString(message));
  return Reply(status, ObjectValue(std::move(body)));
}

ApiReply ErrorList(const std::string& message) {
  Struct body;
  Set(body, "errors", ListValue({JsonString(message)}));
  return Reply(400, ObjectValue(std::move(body)));
}

ApiReply FieldError(const std::string& field, const std::string& message) {
  Struct body;
  Set(body, field, ListValue({JsonString(message)}));
  return Reply(400, ObjectValue(std::move(body)));
}

ApiReply NotFound(absl::string_view kind, int64_t id) {
  return ErrorObject(404, absl::StrCat(kind, " ", id, " not found"));
}

std::string Now() { return absl::FormatTime("%Y-%m-%dT%H:%M:%S", absl::Now(), absl::UTCTimeZone()); }

bool ContainsIgnoreCase(const std::string& text, const std::string& needle) {
  return absl::StrContains(absl::AsciiStrToLower(text), absl::AsciiStrToLower(needle));
}

bool Matches(const Struct& record, const std::string& key, const std::optional<int64_t>& wanted) {
  return !wanted.has_value() || IntField(record, key) == wanted;
}

// Reads query parameters the way Halo's model binder does: names are
// case-insensitive, and a malformed number is a 400 naming the parameter.
class QueryReader {
 public:
  explicit QueryReader(const QueryParams& params) : params_(params) {}

  std::optional<std::string> Get(absl::string_view name) const {
    for (const auto& [key, value] : params_) {
      if (absl::EqualsIgnoreCase(key, name)) return value;
    }
    return std::nullopt;
  }

  std::optional<int64_t> Int(absl::string_view name) {
    const std::optional<std::string> text = Get(name);
    if (!text.has_value()) return std::nullopt;
    int64_t value = 0;
    if (!absl::SimpleAtoi(*text, &value)) {
      Fail(name, *text);
      return std::nullopt;
    }
    return value;
  }

  // A single id or a comma-separated list of them.
  std::optional<std::vector<int64_t>> IntList(absl::string_view name) {
    const std::optional<std::string> text = Get(name);
    if (!text.has_value()) return std::nullopt;
    std::vector<int64_t> values;
    for (absl::string_view part : absl::StrSplit(*text, ',', absl::SkipWhitespace())) {
      int64_t value = 0;
      if (!absl::SimpleAtoi(part, &value)) {
        Fail(name, *text);
        return std::nullopt;
      }
      values.push_back(value);
    }
    return values;
  }

  bool Flag(absl::string_view name) const {
    const std::optional<std::string> text = Get(name);
    return text.has_value() && (absl::EqualsIgnoreCase(*text, "true") || *text == "1");
  }

  // The first malformed parameter, answered like Halo: {"name": ["..."]}.
  std::optional<ApiReply> Error() const { return error_; }

 private:
  void Fail(absl::string_view name, const std::string& text) {
    if (!error_.has_value()) {
      error_ = FieldError(std::string(name), absl::StrCat("The value '", text, "' is not valid."));
    }
  }

  const QueryParams& params_;
  std::optional<ApiReply> error_;
};

// Orders by a field: numbers numerically, strings case-insensitively,
// missing values first; ties keep id order.
bool FieldLess(const Struct& a, const Struct& b, const std::string& key) {
  const Value* left = Field(a, key);
  const Value* right = Field(b, key);
  if (left == nullptr || right == nullptr) return left == nullptr && right != nullptr;
  if (left->has_number_value() && right->has_number_value()) {
    return left->number_value() < right->number_value();
  }
  if (left->has_string_value() && right->has_string_value()) {
    return absl::AsciiStrToLower(left->string_value()) <
           absl::AsciiStrToLower(right->string_value());
  }
  if (left->has_bool_value() && right->has_bool_value()) {
    return left->bool_value() < right->bool_value();
  }
  return left->kind_case() < right->kind_case();
}

// The list envelope {"record_count": total, key: [...]} after ordering and
// Halo's paging rules: a page only with pageinate=true and an explicit
// page_no, page_size capped at 100; otherwise the first 50.
ApiReply ListReply(const std::string& key, std::vector<const Struct*> rows, QueryReader& query) {
  const std::optional<std::string> order = query.Get("order");
  const bool descending = query.Flag("orderdesc");
  const std::optional<int64_t> page_no = query.Int("page_no");
  const std::optional<int64_t> page_size = query.Int("page_size");
  // Also reports malformed parameters the caller read before.
  if (std::optional<ApiReply> error = query.Error()) return *error;

  if (order.has_value() && !order->empty()) {
    std::stable_sort(rows.begin(), rows.end(), [&](const Struct* a, const Struct* b) {
      return FieldLess(*a, *b, *order);
    });
  }
  if (descending) std::reverse(rows.begin(), rows.end());

  const bool paged = query.Flag("pageinate") && page_no.has_value();
  const int64_t size = paged ? std::clamp<int64_t>(page_size.value_or(kDefaultPageSize), 1,
                                                   kMaxPageSize)
                             : kDefaultPageSize;
  const int64_t page = paged ? std::max<int64_t>(*page_no, 1) : 1;
  const int64_t total = static_cast<int64_t>(rows.size());
  // Clamping the page first keeps the product small; pages past the end
  // come out empty because end < begin there.
  const int64_t begin = (std::min(page, total + 1) - 1) * size;
  const int64_t end = std::min(total, begin + size);

  std::vector<Value> items;
  for (int64_t i = begin; i < end; ++i) items.push_back(ObjectValue(*rows[i]));
  Struct body;
  Set(body, "record_count", JsonNumber(static_cast<double>(total)));
  Set(body, key, ListValue(std::move(items)));
  if (paged) {
    Set(body, "page_no", JsonNumber(static_cast<double>(page)));
    Set(body, "page_size", JsonNumber(static_cast<double>(size)));
  }
  return Reply(200, ObjectValue(std::move(body)));
}

ApiReply GetOne(const std::map<int64_t, Struct>& table, absl::string_view kind, int64_t id) {
  const auto it = table.find(id);
  if (it == table.end()) return NotFound(kind, id);
  return Reply(200, ObjectValue(it->second));
}

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
  const std::array<Resource, 5> resources = {{
      {"tickets", "Ticket", &tickets_, &HaloData::ListTickets, &HaloData::CheckTicket,
       &HaloData::SaveTicket},
      {"actions", "Action", nullptr, &HaloData::ListActions, &HaloData::CheckAction,
       &HaloData::SaveAction},
      {"asset", "Asset", &assets_, &HaloData::ListAssets, &HaloData::CheckAsset,
       &HaloData::SaveAsset},
      {"client", "Client", &clients_, &HaloData::ListClients, nullptr, nullptr},
      {"site", "Site", &sites_, &HaloData::ListSites, nullptr, nullptr},
  }};
  const ApiReply no_route{404, ""};
  const ApiReply bad_method{405, ""};

  const std::vector<std::string> parts = absl::StrSplit(path, '/', absl::SkipEmpty());
  if (parts.empty() || parts.size() > 2) return no_route;
  const std::string name = absl::AsciiStrToLower(parts[0]);
  const auto resource = std::find_if(resources.begin(), resources.end(),
                                     [&](const Resource& r) { return r.name == name; });
  if (resource == resources.end()) return no_route;

  if (parts.size() == 2) {
    int64_t id = 0;
    if (resource->table == nullptr || !absl::SimpleAtoi(parts[1], &id)) return no_route;
    if (method != "GET") return bad_method;
    return GetOne(*resource->table, resource->kind, id);
  }
  if (method == "GET") return (this->*resource->list)(query);
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
  const std::optional<int64_t> client_id = query.Int("client_id");
  const std::optional<int64_t> site_id = query.Int("site_id");
  const std::optional<int64_t> agent_id = query.Int("agent_id");
  const std::optional<std::vector<int64_t>> status_ids = query.IntList("status_id");
  // requesttype_id is Halo's ticket type filter.
  const std::optional<int64_t> ticket_type = query.Int("requesttype_id");
  const std::optional<int64_t> asset_id = query.Int("asset_id");
  const bool open_only = query.Flag("open_only");

  std::vector<const Struct*> rows;
  for (const auto& [id, ticket] : tickets_) {
    const int64_t status = IntField(ticket, "status_id").value_or(0);
    if (search.has_value() && !ContainsIgnoreCase(StringField(ticket, "summary"), *search) &&
        !ContainsIgnoreCase(StringField(ticket, "details"), *search)) {
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
    Set(fresh, "dateoccurred", JsonString(Now()));
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
  Set(ticket, "id", JsonNumber(static_cast<double>(id)));
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
    Set(first, "datetime", JsonString(Now()));
    timeline.push_back(std::move(first));
  } else if (Field(input, "details") != nullptr) {
    Set(timeline.front(), "note", JsonString(details));
  }
  return ticket;
}

// ---- Actions ----

ApiReply HaloData::ListActions(const QueryParams& params) const {
  QueryReader query(params);
  const std::optional<int64_t> ticket_id = query.Int("ticket_id");
  std::vector<const Struct*> rows;
  for (const auto& [id, timeline] : actions_) {
    if (ticket_id.has_value() && id != *ticket_id) continue;
    for (const Struct& action : timeline) rows.push_back(&action);
  }
  return ListReply("actions", std::move(rows), query);
}

std::optional<ApiReply> HaloData::CheckAction(const Struct& input) const {
  const int64_t ticket_id = IntField(input, "ticket_id").value_or(0);
  if (!tickets_.contains(ticket_id)) return NotFound("Ticket", ticket_id);
  const bool has_outcome = !absl::StripAsciiWhitespace(StringField(input, "outcome")).empty() ||
                           IntField(input, "outcome_id").value_or(0) > 0;
  if (!has_outcome) return ErrorList("An Outcome must be entered for this Action");
  for (const char* hours : {"timetaken", "actionchargehours"}) {
    const Value* value = Field(input, hours);
    if (value != nullptr && !value->has_number_value()) {
      return FieldError(hours, "must be a number of hours");
    }
  }
  return std::nullopt;
}

Struct HaloData::SaveAction(const Struct& input) {
  const int64_t ticket_id = *IntField(input, "ticket_id");
  std::vector<Struct>& timeline = actions_[ticket_id];
  Struct action;
  Set(action, "note", JsonString(""));
  Set(action, "hiddenfromuser", JsonBool(false));
  Set(action, "timetaken", JsonNumber(0));
  Set(action, "actionchargehours", JsonNumber(0));
  Set(action, "datetime", JsonString(Now()));
  for (const auto& [key, value] : input.fields()) Set(action, key, value);
  Set(action, "id", JsonNumber(static_cast<double>(timeline.size() + 1)));
  Set(action, "ticket_id", JsonNumber(static_cast<double>(ticket_id)));
  timeline.push_back(action);
  return action;
}

// ---- Assets ----

ApiReply HaloData::ListAssets(const QueryParams& params) const {
  QueryReader query(params);
  const std::optional<std::string> search = query.Get("search");
  const std::optional<std::string> inventory_number = query.Get("inventory_number");
  const std::optional<int64_t> client_id = query.Int("client_id");
  const std::optional<int64_t> site_id = query.Int("site_id");
  const std::optional<int64_t> assettype_id = query.Int("assettype_id");

  std::vector<const Struct*> rows;
  for (const auto& [id, asset] : assets_) {
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

void HaloData::Seed() {
  const auto number = [](int64_t n) { return JsonNumber(static_cast<double>(n)); };

  struct ClientSeed {
    int64_t id;
    const char* name;
    bool inactive;
  };
  for (const ClientSeed& seed : {ClientSeed{1, "Acme Corp", false}, ClientSeed{2, "Globex", false},
                                 ClientSeed{12, "Contoso", false}, ClientSeed{13, "Initech", true}}) {
    Struct client;
    Set(client, "id", number(seed.id));
    Set(client, "name", JsonString(seed.name));
    Set(client, "inactive", JsonBool(seed.inactive));
    Set(client, "toplevel_id", number(1));
    Set(client, "toplevel_name", JsonString("Top Level"));
    clients_[seed.id] = std::move(client);
  }

  struct SiteSeed {
    int64_t id;
    const char* name;
    int64_t client_id;
  };
  for (const SiteSeed& seed : {SiteSeed{1, "Acme HQ", 1}, SiteSeed{2, "Acme Branch", 1},
                               SiteSeed{3, "Globex Main", 2}, SiteSeed{18, "Contoso HQ", 12}}) {
    Struct site;
    Set(site, "id", number(seed.id));
    Set(site, "name", JsonString(seed.name));
    Set(site, "client_id", number(seed.client_id));
    Set(site, "inactive", JsonBool(false));
    AddNames(site);
    sites_[seed.id] = std::move(site);
  }

  asset_types_ = {{1, "Workstation"}, {2, "Server"}};
  agents_ = {{1, "Alice"}, {2, "Bob"}};
  custom_fields_ = {{101, "CFSensorId"}, {102, "CFDetectionCategory"}};

  struct AssetSeed {
    const char* inventory_number;
    const char* key_field;  // null: not set
    int64_t client_id;
    int64_t site_id;
    int64_t assettype_id;
  };
  for (const AssetSeed& seed : {AssetSeed{"ACME-WS-001", nullptr, 1, 1, 1},
                                AssetSeed{"", "globex-db01", 2, 3, 2},
                                AssetSeed{"CONTOSO-LT-7", nullptr, 12, 18, 1}}) {
    Struct asset;
    Set(asset, "inventory_number", JsonString(seed.inventory_number));
    if (seed.key_field != nullptr) Set(asset, "key_field", JsonString(seed.key_field));
    Set(asset, "client_id", number(seed.client_id));
    Set(asset, "site_id", number(seed.site_id));
    Set(asset, "assettype_id", number(seed.assettype_id));
    SaveAsset(asset);  // ids 1, 2, 3
  }

  const auto seed_ticket = [&](int64_t id, const std::string& summary, const std::string& details,
                               int64_t client_id, int64_t site_id, int64_t agent_id,
                               int64_t status_id, int64_t tickettype_id,
                               std::vector<int64_t> asset_ids) {
    Struct ticket;
    Set(ticket, "summary", JsonString(summary));
    Set(ticket, "details", JsonString(details));
    Set(ticket, "client_id", number(client_id));
    Set(ticket, "site_id", number(site_id));
    Set(ticket, "agent_id", number(agent_id));
    Set(ticket, "status_id", number(status_id));
    Set(ticket, "tickettype_id", number(tickettype_id));
    Set(ticket, "priority_id", number(3));
    std::vector<Value> links;
    for (int64_t asset_id : asset_ids) {
      Struct link;
      Set(link, "id", number(asset_id));
      links.push_back(ObjectValue(std::move(link)));
    }
    Set(ticket, "assets", ListValue(std::move(links)));
    next_ticket_id_ = id;
    SaveTicket(ticket);
  };
  // 120 tickets for Globex so lists can be paged past the 100 cap; status
  // cycles New, In Progress, Closed and the agent alternates Alice, Bob.
  for (int n = 1; n <= 120; ++n) {
    const int64_t status = n % 3 == 1 ? 1 : n % 3 == 2 ? 2 : kClosedStatus;
    seed_ticket(1000 + n, absl::StrCat("Seeded ticket ", n), "Generated for paging tests.", 2, 3,
                n % 2 == 1 ? 1 : 2, status, 1, {});
  }
  seed_ticket(2880, "Printer offline", "The second floor printer shows offline.", 1, 1, 2, 1, 3,
              {1});
  seed_ticket(2881, "VPN not connecting", "Remote users cannot reach the VPN.", 1, 2, 1, 2, 1, {});
  seed_ticket(2882, "Disk space low on db01", "The data volume is 95% full.", 2, 3, 2,
              kClosedStatus, 1, {2});
  seed_ticket(2883, "New laptop request", "A laptop for the new starter.", 12, 18, 0, 1, 3, {});
  seed_ticket(2884, "Suspicious login",
              "Multiple failed sign-ins followed by a success from a new country.", 12, 18, 1, 2,
              1, {});
  next_ticket_id_ = tickets_.rbegin()->first + 1;
}

}  // namespace halopsa::sim

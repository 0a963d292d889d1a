#include "server/halo_payloads.h"

#include <map>
#include <optional>
#include <string>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/match.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "server/error_mapping.h"
#include "server/json_values.h"

namespace halopsa {
namespace {

using google::protobuf::Struct;
using google::protobuf::Value;

class ObjectBuilder {
 public:
  ObjectBuilder& Set(absl::string_view key, Value value) {
    (*object_.mutable_fields())[std::string(key)] = std::move(value);
    return *this;
  }
  ObjectBuilder& Text(absl::string_view key, bool has, const std::string& text) {
    return has ? Set(key, JsonString(text)) : *this;
  }
  ObjectBuilder& Number(absl::string_view key, bool has, double number) {
    return has ? Set(key, JsonNumber(number)) : *this;
  }
  ObjectBuilder& Assets(const google::protobuf::RepeatedField<int32_t>& ids) {
    if (ids.empty()) return *this;
    Value assets;
    for (int id : ids) {
      Value asset;
      (*asset.mutable_struct_value()->mutable_fields())["id"] = JsonNumber(id);
      *assets.mutable_list_value()->add_values() = std::move(asset);
    }
    return Set("assets", std::move(assets));
  }
  ObjectBuilder& CustomFields(const google::protobuf::RepeatedPtrField<v1::CustomField>& fields) {
    if (fields.empty()) return *this;
    Value list;
    for (const v1::CustomField& field : fields) {
      Value entry;
      auto& entry_fields = *entry.mutable_struct_value()->mutable_fields();
      entry_fields["id"] = JsonNumber(field.id());  // validation refused names
      entry_fields["value"] = field.value();
      *list.mutable_list_value()->add_values() = std::move(entry);
    }
    return Set("customfields", std::move(list));
  }
  Struct Build(const Struct& extra) {
    MergeTopLevel(extra, object_);
    return std::move(object_);
  }

 private:
  Struct object_;
};

// Where an action's outcome comes from (in this order of precedence).
enum class OutcomeSource { kRequest, kDefaultOutcomeId, kDefaultOutcome, kBuiltIn };

OutcomeSource OutcomeSourceOf(const v1::AddActionRequest& r, const HaloConnection& connection) {
  const auto& extra = r.extra().fields();
  if (r.has_outcome() || r.has_outcome_id() || extra.contains("outcome") || extra.contains("outcome_id")) {
    return OutcomeSource::kRequest;
  }
  if (connection.default_outcome_id > 0) return OutcomeSource::kDefaultOutcomeId;
  if (!connection.default_outcome.empty()) return OutcomeSource::kDefaultOutcome;
  return OutcomeSource::kBuiltIn;
}

constexpr absl::string_view kSetDefault =
    "set default_outcome or default_outcome_id (org config, HALOPSA_DEFAULT_OUTCOME(_ID), or metadata "
    "x-halopsa-default-outcome(-id)) to an outcome this tenant has, or give outcome/outcome_id in the request";

// How a refused outcome is explained, by OutcomeSource.
struct OutcomeSetting {
  absl::string_view name;  // ErrorInfo metadata "setting"
  std::string (*describe)(const v1::AddActionRequest& r, const HaloConnection& connection);
  absl::string_view fix;
};

const OutcomeSetting kOutcomeSettings[] = {
    {"outcome",
     [](const v1::AddActionRequest&, const HaloConnection&) { return std::string("the request named"); },
     "give an outcome or outcome_id this tenant has"},
    {"default_outcome_id",
     [](const v1::AddActionRequest&, const HaloConnection& c) {
       return absl::StrCat("id ", c.default_outcome_id, " from the default_outcome_id setting");
     },
     kSetDefault},
    {"default_outcome",
     [](const v1::AddActionRequest&, const HaloConnection& c) {
       return absl::StrCat("'", c.default_outcome, "' from the default_outcome setting");
     },
     kSetDefault},
    {"default_outcome",
     [](const v1::AddActionRequest&, const HaloConnection&) {
       return std::string("'Note' (the built-in default; outcomes differ between tenants)");
     },
     kSetDefault},
};

}  // namespace

Struct NewTicket(const v1::CreateTicketRequest& r) {
  return ObjectBuilder()
      .Set("summary", JsonString(r.summary()))
      .Text("details", r.has_details(), r.details())
      .Number("client_id", r.has_client_id(), r.client_id())
      .Number("site_id", r.has_site_id(), r.site_id())
      .Number("user_id", r.has_user_id(), r.user_id())
      .Number("agent_id", r.has_agent_id(), r.agent_id())
      .Text("team", r.has_team(), r.team())
      .Number("tickettype_id", r.has_tickettype_id(), r.tickettype_id())
      .Number("priority_id", r.has_priority_id(), r.priority_id())
      .Number("status_id", r.has_status_id(), r.status_id())
      .Number("impact", r.has_impact(), r.impact())
      .Number("urgency", r.has_urgency(), r.urgency())
      .Text("category_1", r.has_category_1(), r.category_1())
      .Number("parent_id", r.has_parent_id(), r.parent_id())
      .Assets(r.asset_ids())
      .CustomFields(r.customfields())
      .Build(r.extra());
}

Struct TicketChanges(const v1::UpdateTicketRequest& r) {
  return ObjectBuilder()
      .Set("id", JsonNumber(r.id()))
      .Text("summary", r.has_summary(), r.summary())
      .Text("details", r.has_details(), r.details())
      .Number("status_id", r.has_status_id(), r.status_id())
      .Number("agent_id", r.has_agent_id(), r.agent_id())
      .Number("priority_id", r.has_priority_id(), r.priority_id())
      .Assets(r.asset_ids())
      .CustomFields(r.customfields())
      .Build(r.extra());
}

Struct MirroredTicket(const v1::MirrorCaseRequest& r) {
  return ObjectBuilder()
      .Text("summary", r.has_summary(), r.summary())
      .Text("details", r.has_details(), r.details())
      .Number("priority_id", r.has_priority_id(), r.priority_id())
      .Number("status_id", r.has_status_id(), r.status_id())
      .Number("client_id", r.has_client_id(), r.client_id())
      .Number("site_id", r.has_site_id(), r.site_id())
      .Number("tickettype_id", r.has_tickettype_id(), r.tickettype_id())
      .Build(r.extra());
}

Struct NewAction(const v1::AddActionRequest& r, const HaloConnection& connection) {
  const OutcomeSource source = OutcomeSourceOf(r, connection);
  return ObjectBuilder()
      .Set("ticket_id", JsonNumber(r.ticket_id()))
      .Set("note", JsonString(r.note()))
      .Set("hiddenfromuser", JsonBool(r.has_hiddenfromuser() ? r.hiddenfromuser() : true))
      .Text("outcome", r.has_outcome(), r.outcome())
      .Number("outcome_id", r.has_outcome_id(), r.outcome_id())
      .Number("outcome_id", source == OutcomeSource::kDefaultOutcomeId, connection.default_outcome_id)
      .Text("outcome", source == OutcomeSource::kDefaultOutcome, connection.default_outcome)
      .Text("outcome", source == OutcomeSource::kBuiltIn, "Note")
      .Number("timetaken", r.has_timetaken(), r.timetaken())
      .Number("actionchargehours", r.has_actionchargehours(), r.actionchargehours())
      .Build(r.extra());
}

absl::Status ExplainOutcomeRefusal(absl::Status failure, const v1::AddActionRequest& request,
                                   const HaloConnection& connection) {
  if (failure.code() != absl::StatusCode::kInvalidArgument ||
      !absl::StrContains(absl::AsciiStrToLower(failure.message()), "outcome")) {
    return failure;
  }
  std::optional<google::rpc::ErrorInfo> info = GetErrorInfo(failure);
  if (!info || info->reason() != "UPSTREAM_BAD_REQUEST") return failure;
  const OutcomeSource source = OutcomeSourceOf(request, connection);
  const OutcomeSetting& setting = kOutcomeSettings[static_cast<int>(source)];
  std::map<std::string, std::string> metadata(info->metadata().begin(), info->metadata().end());
  metadata["setting"] = std::string(setting.name);
  return WithErrorInfo(absl::InvalidArgumentError(absl::StrCat(failure.message(), "; HaloPSA refused the outcome ",
                                                               setting.describe(request, connection), ": ",
                                                               setting.fix)),
                       kReasonOutcomeRefused, metadata);
}

std::string PlainTextAsHtml(absl::string_view text) {
  return absl::StrReplaceAll(text, {{"&", "&amp;"}, {"<", "&lt;"}, {">", "&gt;"}, {"\"", "&quot;"}, {"\n", "<br>"}});
}

HaloApi::Query TicketFilters(const v1::SearchTicketsRequest& r) {
  HaloApi::Query query;
  if (r.has_search() && !r.search().empty()) query.emplace_back("search", r.search());
  if (r.has_client_id()) query.emplace_back("client_id", absl::StrCat(r.client_id()));
  if (r.has_agent_id()) query.emplace_back("agent_id", absl::StrCat(r.agent_id()));
  if (r.has_status_ids()) {
    std::vector<absl::string_view> ids = absl::StrSplit(r.status_ids(), ',');
    for (auto& id : ids) id = absl::StripAsciiWhitespace(id);
    query.emplace_back("status_id", absl::StrJoin(ids, ","));
  }
  if (r.has_tickettype_id()) query.emplace_back("requesttype_id", absl::StrCat(r.tickettype_id()));
  if (r.has_order()) query.emplace_back("order", r.order());
  if (r.has_orderdesc()) query.emplace_back("orderdesc", r.orderdesc() ? "true" : "false");
  return query;
}

Struct NewAsset(const v1::LinkAssetToTicketRequest& r) {
  // key_field does not persist on every tenant; inventory_number does, and
  // it is what the next lookup matches first.
  return ObjectBuilder()
      .Set("inventory_number", JsonString(r.hostname()))
      .Set("key_field", JsonString(r.hostname()))
      .Number("client_id", r.has_client_id(), r.client_id())
      .Number("site_id", r.has_site_id(), r.site_id())
      .Number("assettype_id", r.has_asset_type_id(), r.asset_type_id())
      .Build(Struct());
}

absl::StatusOr<Struct> SingleObject(Value answer, absl::string_view what) {
  if (answer.kind_case() == Value::kListValue && answer.list_value().values_size() == 1) {
    answer = Value(answer.list_value().values(0));
  }
  if (answer.kind_case() != Value::kStructValue) {
    return WithErrorInfo(absl::UnavailableError(absl::StrCat("HaloPSA answered something other than the ",
                                                             what, " object")),
                         kReasonUpstreamBadResponse);
  }
  return std::move(*answer.mutable_struct_value());
}

Value ArrayOf(Struct object) {
  Value array;
  *array.mutable_list_value()->add_values()->mutable_struct_value() = std::move(object);
  return array;
}

}  // namespace halopsa

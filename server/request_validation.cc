#include "server/request_validation.h"

#include <optional>
#include <string>
#include "absl/strings/string_view.h"
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "server/case_line.h"
#include "server/error_mapping.h"

namespace halopsa {
namespace {

constexpr size_t kMaxHostnameBytes = 255;

// Runs checks in order and keeps the first failure, so each Validate reads
// as the list of its rules.
class Checker {
 public:
  Checker& Require(bool ok, absl::string_view field, absl::string_view description) {
    if (status_.ok() && !ok) status_ = InvalidField(field, description);
    return *this;
  }

  Checker& PositiveId(absl::string_view field, std::optional<int> id) {
    return Require(!id.has_value() || *id > 0, field, "must be a positive id");
  }

  Checker& RequiredText(absl::string_view field, const std::string& text) {
    return Require(!absl::StripAsciiWhitespace(text).empty(), field, "is required");
  }

  Checker& Paging(const std::optional<int>& page_size, const std::optional<int>& page_no) {
    Require(!page_size || (*page_size >= 1 && *page_size <= kMaxPageSize), "page_size",
            absl::StrCat("must be between 1 and ", kMaxPageSize));
    // Bounded so that the first item's position fits an int upstream.
    return Require(!page_no || (*page_no >= 1 && *page_no <= kMaxPageNo), "page_no",
                   absl::StrCat("must be between 1 and ", kMaxPageNo, " (pages are 1-based)"));
  }

  Checker& ExtraDoesNotSet(const google::protobuf::Struct& extra, absl::string_view key,
                           absl::string_view use_instead) {
    return Require(!extra.fields().contains(std::string(key)), absl::StrCat("extra.", key),
                   absl::StrCat("must not be set; use ", use_instead));
  }

  Checker& CustomFields(const google::protobuf::RepeatedPtrField<v1::CustomField>& fields) {
    for (int i = 0; i < fields.size(); ++i) {
      const v1::CustomField& field = fields[i];
      std::string path = absl::StrCat("customfields[", i, "]");
      // Nothing shows that HaloPSA sets a custom field by name; one it
      // ignored would be lost without an error.
      Require(!field.has_name(), absl::StrCat(path, ".name"),
              "custom fields are set by id: give the field's id (HaloPSA > Configuration > Custom Objects > "
              "Custom Fields) instead of its name");
      Require(field.has_id(), absl::StrCat(path, ".id"), "is required");
      PositiveId(absl::StrCat(path, ".id"), field.has_id() ? std::optional(field.id()) : std::nullopt);
      Require(field.value().kind_case() != google::protobuf::Value::KIND_NOT_SET,
              absl::StrCat(path, ".value"), "is required");
    }
    return *this;
  }

  Checker& AssetIds(const google::protobuf::RepeatedField<int32_t>& ids) {
    for (int i = 0; i < ids.size(); ++i) PositiveId(absl::StrCat("asset_ids[", i, "]"), ids[i]);
    return *this;
  }

  absl::Status status() const { return status_; }

 private:
  absl::Status status_;
};

std::optional<int> Opt(bool has, int value) {
  return has ? std::optional(value) : std::nullopt;
}

bool IsStatusIdList(absl::string_view list) {
  std::vector<absl::string_view> parts = absl::StrSplit(list, ',');
  for (absl::string_view part : parts) {
    int id;
    if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(part), &id) || id <= 0) return false;
  }
  return true;
}

bool IsPlainHostname(absl::string_view hostname) {
  for (char c : hostname) {
    if (absl::ascii_isspace(static_cast<unsigned char>(c)) || absl::ascii_iscntrl(static_cast<unsigned char>(c))) {
      return false;
    }
  }
  return hostname.size() <= kMaxHostnameBytes;
}

}  // namespace

absl::Status Validate(const v1::CreateTicketRequest& r) {
  return Checker()
      .RequiredText("summary", r.summary())
      .PositiveId("client_id", Opt(r.has_client_id(), r.client_id()))
      .PositiveId("site_id", Opt(r.has_site_id(), r.site_id()))
      .PositiveId("user_id", Opt(r.has_user_id(), r.user_id()))
      .PositiveId("agent_id", Opt(r.has_agent_id(), r.agent_id()))
      .PositiveId("tickettype_id", Opt(r.has_tickettype_id(), r.tickettype_id()))
      .PositiveId("priority_id", Opt(r.has_priority_id(), r.priority_id()))
      .PositiveId("status_id", Opt(r.has_status_id(), r.status_id()))
      .Require(!r.has_impact() || (r.impact() >= 1 && r.impact() <= 4), "impact", "must be 1 (high) to 4 (low)")
      .Require(!r.has_urgency() || (r.urgency() >= 1 && r.urgency() <= 4), "urgency", "must be 1 (high) to 4 (low)")
      .PositiveId("parent_id", Opt(r.has_parent_id(), r.parent_id()))
      .AssetIds(r.asset_ids())
      .CustomFields(r.customfields())
      .ExtraDoesNotSet(r.extra(), "id", "update_ticket to change an existing ticket")
      .Require(!r.has_dedupe_window_min() || (r.dedupe_window_min() >= 1 && r.dedupe_window_min() <= kMaxDedupeWindowMin),
               "dedupe_window_min", absl::StrCat("must be 1 to ", kMaxDedupeWindowMin, " minutes"))
      .status();
}

absl::Status Validate(const v1::UpdateTicketRequest& r) {
  bool changes_something = r.has_summary() || r.has_details() || r.has_status_id() || r.has_agent_id() ||
                           r.has_priority_id() || !r.asset_ids().empty() || !r.customfields().empty() ||
                           !r.extra().fields().empty();
  return Checker()
      .Require(r.id() > 0, "id", "is required (the ticket id to update)")
      .Require(!r.has_summary() || !absl::StripAsciiWhitespace(r.summary()).empty(), "summary",
               "must not be empty when given")
      .PositiveId("status_id", Opt(r.has_status_id(), r.status_id()))
      .PositiveId("agent_id", Opt(r.has_agent_id(), r.agent_id()))
      .PositiveId("priority_id", Opt(r.has_priority_id(), r.priority_id()))
      .AssetIds(r.asset_ids())
      .CustomFields(r.customfields())
      .ExtraDoesNotSet(r.extra(), "id", "the id field")
      .Require(changes_something, "id", "nothing to update: give at least one field to change")
      .status();
}

absl::Status Validate(const v1::SearchTicketsRequest& r) {
  return Checker()
      .PositiveId("client_id", Opt(r.has_client_id(), r.client_id()))
      .PositiveId("agent_id", Opt(r.has_agent_id(), r.agent_id()))
      .PositiveId("tickettype_id", Opt(r.has_tickettype_id(), r.tickettype_id()))
      .Require(!r.has_status_ids() || IsStatusIdList(r.status_ids()), "status_ids",
               "must be comma-separated positive ids, e.g. \"1,2\"")
      .Paging(Opt(r.has_page_size(), r.page_size()), Opt(r.has_page_no(), r.page_no()))
      .status();
}

absl::Status Validate(const v1::AddActionRequest& r) {
  return Checker()
      .Require(r.ticket_id() > 0, "ticket_id", "is required (the ticket id to append to)")
      .RequiredText("note", r.note())
      .Require(!r.has_timetaken() || r.timetaken() >= 0, "timetaken", "must not be negative")
      .Require(!r.has_actionchargehours() || r.actionchargehours() >= 0, "actionchargehours",
               "must not be negative")
      .Require(!r.has_outcome() || !absl::StripAsciiWhitespace(r.outcome()).empty(), "outcome",
               "must not be empty when given")
      .PositiveId("outcome_id", Opt(r.has_outcome_id(), r.outcome_id()))
      .ExtraDoesNotSet(r.extra(), "ticket_id", "the ticket_id field")
      .ExtraDoesNotSet(r.extra(), "id", "add_action only to create actions")
      .status();
}

absl::Status Validate(const v1::LinkAssetToTicketRequest& r) {
  return Checker()
      .Require(r.ticket_id() > 0, "ticket_id", "is required (the ticket id to link the asset to)")
      .RequiredText("hostname", r.hostname())
      .Require(IsPlainHostname(r.hostname()), "hostname",
               "must be a single name of at most 255 characters without spaces")
      .PositiveId("client_id", Opt(r.has_client_id(), r.client_id()))
      .PositiveId("site_id", Opt(r.has_site_id(), r.site_id()))
      .PositiveId("asset_type_id", Opt(r.has_asset_type_id(), r.asset_type_id()))
      .status();
}

absl::Status Validate(const v1::LookupClientSiteRequest& r) {
  return Checker()
      .Require(r.type() == v1::LookupClientSiteRequest::client || r.type() == v1::LookupClientSiteRequest::site,
               "type", "is required: \"client\" or \"site\"")
      .Require(!r.has_client_id() || r.type() == v1::LookupClientSiteRequest::site, "client_id",
               "only applies when type is \"site\"")
      .PositiveId("client_id", Opt(r.has_client_id(), r.client_id()))
      .Paging(Opt(r.has_page_size(), r.page_size()), Opt(r.has_page_no(), r.page_no()))
      .status();
}

absl::Status Validate(const v1::MirrorCaseRequest& r) {
  return Checker()
      .Require(IsCaseToken(r.case_id()), "case_id",
               "is required: 1 to 128 letters, digits and . _ : - (the LimaCharlie case id)")
      .Require(!r.has_summary() || !absl::StripAsciiWhitespace(r.summary()).empty(), "summary",
               "must not be empty when given")
      .PositiveId("priority_id", Opt(r.has_priority_id(), r.priority_id()))
      .PositiveId("status_id", Opt(r.has_status_id(), r.status_id()))
      .PositiveId("client_id", Opt(r.has_client_id(), r.client_id()))
      .PositiveId("site_id", Opt(r.has_site_id(), r.site_id()))
      .PositiveId("tickettype_id", Opt(r.has_tickettype_id(), r.tickettype_id()))
      .PositiveId("asset_type_id", Opt(r.has_asset_type_id(), r.asset_type_id()))
      .Require(!r.has_note() || !absl::StripAsciiWhitespace(r.note()).empty(), "note", "must not be empty when given")
      .Require(!r.has_hostname() || (!r.hostname().empty() && IsPlainHostname(r.hostname())), "hostname",
               "must be a single name of at most 255 characters without spaces")
      .ExtraDoesNotSet(r.extra(), "id", "case_id: the case's ticket is found by it")
      .status();
}

absl::Status Validate(const v1::PullTicketChangesRequest& r) {
  return Checker()
      .Require(!r.has_limit() || (r.limit() >= 1 && r.limit() <= kMaxChangesLimit), "limit",
               absl::StrCat("must be between 1 and ", kMaxChangesLimit))
      .status();
}

}  // namespace halopsa

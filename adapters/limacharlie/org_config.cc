#include "adapters/limacharlie/org_config.h"

#include "absl/algorithm/container.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "server/error_mapping.h"
#include "server/call_runner.h"

namespace halopsa::lc {
namespace {

constexpr absl::string_view kOnOff[] = {"on", "off"};

constexpr ConfigField kConfigFields[] = {
    {.name = "instance_url",
     .metadata_key = kInstanceUrlHeader,
     .data_type = "url",
     .label = "Instance URL",
     .description = "Your HaloPSA tenant URL, e.g. https://acme.halopsa.com",
     .placeholder = "https://acme.halopsa.com",
     .required = true},
    {.name = "client_id",
     .metadata_key = kClientIdHeader,
     .data_type = "string",
     .label = "Client ID",
     .description = "The Client ID of the HaloPSA API application: Authentication Method Client ID and Secret "
                    "(Services), Login Type Agent (log on as the agent that should own what the extension writes, "
                    "not as the Application), permissions edit:tickets, edit:assets, read:customers",
     .required = true},
    {.name = "client_secret",
     .metadata_key = kClientSecretHeader,
     .data_type = "secret",
     .label = "Client secret",
     .description = "A reference to the secret holding the HaloPSA Client Secret, e.g. "
                    "hive://secret/halopsa-client-secret",
     .placeholder = "hive://secret/halopsa-client-secret",
     .required = true},
    {.name = "tenant",
     .metadata_key = kTenantHeader,
     .data_type = "string",
     .label = "Tenant",
     .description = "(optional) Tenant identifier — only needed on shared-auth hosted deployments; Halo-hosted "
                    "tenants are found from the instance URL without it"},
    {.name = "scope",
     .metadata_key = kScopeHeader,
     .data_type = "string",
     .label = "Scope",
     .description = "(optional) OAuth2 scopes (space-separated). Defaults to all. Least privilege for the six "
                    "actions: edit:tickets edit:assets read:customers (there is no read:actions or edit:actions "
                    "scope; HaloPSA refuses it with invalid_scope)",
     .default_value = "all"},
    {.name = "auth_url",
     .metadata_key = kAuthUrlHeader,
     .data_type = "url",
     .label = "Authorisation server URL",
     .description = "(optional) HaloPSA's authorisation server, e.g. https://auth.haloservicedesk.com/auth. Leave "
                    "empty: it is discovered from the instance URL (/api/authinfo), else {instance_url}/auth"},
    {.name = "default_outcome",
     .metadata_key = kDefaultOutcomeHeader,
     .data_type = "string",
     .label = "Default action outcome",
     .description = "(optional) Outcome name add_action uses when the request names none (outcomes differ between "
                    "tenants); defaults to Note"},
    {.name = "default_outcome_id",
     .metadata_key = kDefaultOutcomeIdHeader,
     .data_type = "integer",
     .label = "Default action outcome ID",
     .description = "(optional) Outcome id add_action uses when the request names none; wins over "
                    "default_outcome"},
    {.name = "idempotency_marker",
     .metadata_key = kIdempotencyMarkerHeader,
     .data_type = "enum",
     .label = "Reference line on created tickets and notes",
     .description = "(optional) on (default): tickets and notes the extension creates end with a short line "
                    "'ext-halopsa ref <hex>' so that a retried request finds them instead of creating them twice; "
                    "off: no line, and a retry after a lost HaloPSA answer may create a duplicate",
     .default_value = "on",
     .enum_values = kOnOff},
    {.name = "case_label",
     .metadata_key = kCaseLabelHeader,
     .data_type = "string",
     .label = "Case mirror label",
     .description = "(optional) mirror_case and pull_ticket_changes: the label in the line "
                    "'ext-halopsa case <label> <case id>' that anchors a case's ticket; integrations (or "
                    "LimaCharlie tenants) with different labels share a HaloPSA tenant without seeing each "
                    "other's tickets. Letters, digits and . _ : -",
     .default_value = "LimaCharlie"},
    {.name = "case_status_map",
     .metadata_key = kCaseStatusMapHeader,
     .data_type = "string",
     .label = "Case status map",
     .description = "(optional) pull_ticket_changes: HaloPSA status ids as case statuses, e.g. "
                    "1:new,2:in_progress,8:resolved,9:closed; a status it does not name is in_progress",
     .default_value = "1:new,9:closed"},
};

absl::Status ConfigError(const ConfigField& field, absl::string_view problem) {
  return InvalidField(absl::StrCat("config.", field.name),
                      absl::StrCat(problem, " (set it in Extensions → ext-halopsa → Configuration)"));
}

}  // namespace

absl::Span<const ConfigField> ConfigFields() { return kConfigFields; }

std::pair<std::string, std::string> OrgIdMetadata(absl::string_view oid) { return {kOrgIdHeader, std::string(oid)}; }

absl::Status CheckSettingValue(const ConfigField& field, absl::string_view value) {
  if (!IsPrintableAscii(value)) return ConfigError(field, "must be printable ASCII without line breaks");
  int number = 0;
  if (field.data_type == "integer" && (!absl::SimpleAtoi(value, &number) || number <= 0)) {
    return ConfigError(field, "must be a positive integer");
  }
  if (field.data_type == "enum" && !absl::c_linear_search(field.enum_values, value)) {
    return ConfigError(field, absl::StrCat("must be one of: ", absl::StrJoin(field.enum_values, ", ")));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<ConnectionSetting>> SettingsFromConfig(const std::map<std::string, std::string>& config) {
  std::vector<ConnectionSetting> settings;
  for (const ConfigField& field : kConfigFields) {
    auto it = config.find(std::string(field.name));
    absl::string_view value = it == config.end() ? "" : absl::StripAsciiWhitespace(it->second);
    if (value.empty()) {
      if (field.required) return ConfigError(field, "is missing");
      continue;
    }
    ConnectionSetting setting{.field = &field, .value = "", .hive_secret = ""};
    if (absl::ConsumePrefix(&value, kHiveSecretPrefix)) {
      if (value.empty()) return ConfigError(field, "names no hive secret after hive://secret/");
      setting.hive_secret = std::string(value);
    } else {
      if (absl::Status status = CheckSettingValue(field, value); !status.ok()) return status;
      setting.value = std::string(value);
    }
    settings.push_back(std::move(setting));
  }
  return settings;
}

}  // namespace halopsa::lc

#include "adapters/limacharlie/org_config.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "server/error_mapping.h"
#include "server/call_runner.h"

namespace halopsa::lc {
namespace {

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
     .description = "The Client ID of the HaloPSA API application (Client ID and Secret (Services), "
                    "Log on as the Application)",
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
     .description = "(optional) Tenant identifier — only needed on shared-auth hosted deployments"},
    {.name = "scope",
     .metadata_key = kScopeHeader,
     .data_type = "string",
     .label = "Scope",
     .description = "(optional) OAuth2 scopes (space-separated). Defaults to all.",
     .default_value = "all"},
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

#ifndef HALOPSA_ADAPTERS_LIMACHARLIE_ORG_CONFIG_H_
#define HALOPSA_ADAPTERS_LIMACHARLIE_ORG_CONFIG_H_

// An org's extension configuration (the product page's Configuration table)
// and how it becomes the x-halopsa-* metadata naming a call's HaloPSA
// connection.

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace halopsa::lc {

// Config values of this form name a LimaCharlie hive secret: hive://secret/NAME.
inline constexpr absl::string_view kHiveSecretPrefix = "hive://secret/";

struct ConfigField {
  absl::string_view name;
  absl::string_view metadata_key;  // x-halopsa-*
  absl::string_view data_type;     // schema data_type
  absl::string_view label;
  absl::string_view description;
  absl::string_view placeholder = "";
  absl::string_view default_value = "";  // a string; "" = none
  bool required = false;
  absl::Span<const absl::string_view> enum_values = {};  // data_type "enum" only
};

// instance_url, client_id, client_secret, tenant, scope, auth_url,
// default_outcome, default_outcome_id, idempotency_marker, case_label,
// case_status_map.
absl::Span<const ConfigField> ConfigFields();

// One configured connection value: literal, or the name of a hive secret.
struct ConnectionSetting {
  const ConfigField* field;
  std::string value;        // the literal value when hive_secret is empty
  std::string hive_secret;  // NAME of hive://secret/NAME
};

// The settings present in `config`, in ConfigFields() order; empty optional
// fields are left out. INVALID_ARGUMENT names a missing required field or a
// value that cannot be sent (see CheckSettingValue).
absl::StatusOr<std::vector<ConnectionSetting>> SettingsFromConfig(const std::map<std::string, std::string>& config);

// The metadata naming the org a call is made for (it separates the orgs'
// cached HaloPSA tokens).
std::pair<std::string, std::string> OrgIdMetadata(absl::string_view oid);

// A value must be printable ASCII to travel as gRPC metadata, an integer
// field's a positive integer, an enum field's one of its values. The
// message names the field, never the value (it may be a secret).
absl::Status CheckSettingValue(const ConfigField& field, absl::string_view value);

}  // namespace halopsa::lc

#endif  // HALOPSA_ADAPTERS_LIMACHARLIE_ORG_CONFIG_H_

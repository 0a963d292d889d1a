#include "adapters/limacharlie/setup_hints.h"

#include <optional>
#include <string>

#include "absl/strings/str_cat.h"
#include "adapters/halopsa/halo_errors.h"
#include "server/error_mapping.h"

namespace halopsa::lc {
namespace {

// What an MSP engineer should look at, by ErrorInfo reason, put before the
// service's message (which already carries HaloPSA's own text).
struct Hint {
  absl::string_view reason;
  absl::string_view text;
};
constexpr Hint kHints[] = {
    {"UPSTREAM_ADDRESS_REFUSED",
     "config.instance_url is refused: it must be your HaloPSA tenant's public https:// URL"},
    {"INVALID_INSTANCE_URL", "config.instance_url is not usable: it must be an https:// URL"},
    {"UPSTREAM_TLS_FAILED", "config.instance_url did not present a trusted TLS certificate"},
    {"UPSTREAM_UNREACHABLE", "config.instance_url could not be reached"},
    {kReasonTokenRejected,
     "HaloPSA refused config.client_id/config.client_secret (check the API application, Client ID and Secret "
     "(Services) with Login Type Agent, and the stored secret)"},
    {kReasonInvalidScope, "HaloPSA refused config.scope"},
    {"UPSTREAM_PERMISSION_DENIED",
     "the HaloPSA API application lacks a permission (it needs edit:tickets, edit:assets and read:customers, also "
     "in config.scope unless that is all)"},
};

std::optional<std::string> ReasonOf(const absl::Status& status) {
  std::optional<google::rpc::ErrorInfo> info = GetErrorInfo(status);
  if (!info) return std::nullopt;
  return info->reason();
}

}  // namespace

absl::Status WithSetupHint(const absl::Status& status) {
  std::optional<std::string> reason = ReasonOf(status);
  if (!reason) return status;
  for (const Hint& hint : kHints) {
    if (hint.reason == *reason) return absl::Status(status.code(), absl::StrCat(hint.text, ": ", status.message()));
  }
  return status;
}

}  // namespace halopsa::lc

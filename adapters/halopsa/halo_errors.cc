#include "adapters/halopsa/halo_errors.h"

#include <array>
#include <map>
#include <optional>
#include <vector>

#include <google/protobuf/struct.pb.h>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "server/error_mapping.h"
#include "server/json_values.h"

namespace halopsa {
namespace {

struct HttpRow {
  int http_status;
  absl::string_view reason;
};

// HaloPSA HTTP status -> reason (the code is the core's, HttpStatusToCode).
constexpr std::array<HttpRow, 6> kHttpTable = {{
    {400, "UPSTREAM_BAD_REQUEST"},
    {401, "UPSTREAM_UNAUTHENTICATED"},
    {403, "UPSTREAM_PERMISSION_DENIED"},
    {404, "UPSTREAM_NOT_FOUND"},
    {409, "UPSTREAM_CONFLICT"},
    {429, kReasonUpstreamRateLimited},
}};

// The reason of a HaloPSA answer: by the table, else by its class.
absl::string_view HttpReason(int http_status) {
  for (const HttpRow& row : kHttpTable) {
    if (row.http_status == http_status) return row.reason;
  }
  if (http_status >= 500) return "UPSTREAM_UNAVAILABLE";
  if (http_status >= 400) return "UPSTREAM_REJECTED";
  return "UPSTREAM_UNEXPECTED_STATUS";
}

struct TransportRow {
  absl::StatusCode code;
  absl::string_view reason;
};

// Transport failure code (see adapters/net/http_transport.h) -> reason.
constexpr std::array<TransportRow, 7> kTransportTable = {{
    {absl::StatusCode::kDeadlineExceeded, kReasonUpstreamTimeout},
    {absl::StatusCode::kUnavailable, kReasonUpstreamUnreachable},
    {absl::StatusCode::kPermissionDenied, "UPSTREAM_ADDRESS_REFUSED"},
    {absl::StatusCode::kFailedPrecondition, "UPSTREAM_TLS_FAILED"},
    {absl::StatusCode::kInvalidArgument, "INVALID_INSTANCE_URL"},
    {absl::StatusCode::kResourceExhausted, "UPSTREAM_OVERLOADED"},
    {absl::StatusCode::kCancelled, kReasonShuttingDown},
}};

std::string ValueText(const google::protobuf::Value& value) {
  if (value.kind_case() == google::protobuf::Value::kStringValue) return value.string_value();
  return ToJson(value);
}

// Joins a list of messages, or reads one message, from a JSON value.
std::string MessagesText(const google::protobuf::Value& value) {
  if (value.kind_case() != google::protobuf::Value::kListValue) return ValueText(value);
  std::vector<std::string> parts;
  for (const auto& item : value.list_value().values()) parts.push_back(ValueText(item));
  return absl::StrJoin(parts, "; ");
}

std::string ObjectText(const google::protobuf::Struct& object) {
  const auto& fields = object.fields();
  for (absl::string_view key : {"error_description", "message", "Message", "error", "errors"}) {
    auto it = fields.find(std::string(key));
    if (it == fields.end()) continue;
    std::string text = MessagesText(it->second);
    if (key == "error_description") {
      auto error = fields.find("error");
      if (error != fields.end()) text = absl::StrCat(ValueText(error->second), ": ", text);
    }
    return text;
  }
  // Field-keyed validation errors: {"summary": ["required"], ...}. Sorted so
  // the text is stable.
  std::map<std::string, std::string> by_field;
  for (const auto& [field, value] : fields) by_field[field] = MessagesText(value);
  return absl::StrJoin(by_field, "; ", absl::PairFormatter(": "));
}

// The first "read:X" or "edit:X" in HaloPSA's text, the way it names an
// API permission (X lower-case letters).
std::optional<std::string> NamedPermission(absl::string_view text) {
  constexpr size_t kPrefix = 5;  // "read:" or "edit:"
  for (size_t at = 0; at + kPrefix < text.size(); ++at) {
    absl::string_view prefix = text.substr(at, kPrefix);
    if (prefix != "read:" && prefix != "edit:") continue;
    if (at > 0 && absl::ascii_isalpha(static_cast<unsigned char>(text[at - 1]))) continue;
    size_t end = at + kPrefix;
    while (end < text.size() && absl::ascii_islower(static_cast<unsigned char>(text[end]))) ++end;
    if (end > at + kPrefix) return std::string(text.substr(at, end - at));
  }
  return std::nullopt;
}

}  // namespace

std::string HaloErrorText(absl::string_view body) {
  absl::StatusOr<google::protobuf::Value> parsed = ParseJson(body);
  if (!parsed.ok()) return UpstreamErrorText(body);
  if (parsed->kind_case() == google::protobuf::Value::kStructValue) {
    return UpstreamErrorText(ObjectText(parsed->struct_value()));
  }
  return UpstreamErrorText(MessagesText(*parsed));
}

absl::Status FromHaloHttpStatus(int http_status, absl::string_view endpoint, absl::string_view body) {
  const absl::string_view reason = HttpReason(http_status);
  const std::string text = HaloErrorText(body);
  absl::Status status = UpstreamHttpError("HaloPSA", reason, http_status, endpoint, text);
  std::optional<std::string> permission = http_status == 403 ? NamedPermission(text) : std::nullopt;
  if (!permission) return status;
  std::optional<google::rpc::ErrorInfo> info = GetErrorInfo(status);
  std::map<std::string, std::string> metadata(info->metadata().begin(), info->metadata().end());
  metadata["missing_permission"] = *permission;
  return WithErrorInfo(
      absl::Status(status.code(), absl::StrCat(status.message(), "; the API application lacks the permission ",
                                               *permission, ": grant it to the application in HaloPSA "
                                               "(Configuration > Integrations > HaloPSA API) and include it in "
                                               "the scope setting")),
      reason, metadata);
}

absl::Status FromTransportFailure(const absl::Status& failure, absl::string_view endpoint) {
  absl::string_view reason = kReasonUpstreamUnreachable;
  for (const TransportRow& row : kTransportTable) {
    if (row.code == failure.code()) reason = row.reason;
  }
  return WithErrorInfo(absl::Status(failure.code(), absl::StrCat("HaloPSA ", endpoint, ": ", failure.message())),
                       reason, {{"endpoint", std::string(endpoint)}});
}

}  // namespace halopsa

#include "server/error_mapping.h"

#include <algorithm>
#include <array>
#include <limits>
#include <utility>

#include <google/protobuf/any.pb.h>
#include <google/protobuf/struct.pb.h>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "google/rpc/status.pb.h"
#include "server/json_values.h"
#include "server/logger.h"

namespace halopsa {
namespace {

constexpr absl::string_view kTypeUrlPrefix = "type.googleapis.com/";
constexpr size_t kMaxErrorTextBytes = 512;

struct HttpRow {
  int http_status;
  absl::StatusCode code;
  absl::string_view reason;
};

// HaloPSA HTTP status -> status code and reason. Codes follow
// google-cloud-cpp's REST mapping; 429 and 5xx may succeed when retried.
constexpr std::array<HttpRow, 10> kHttpTable = {{
    {400, absl::StatusCode::kInvalidArgument, "UPSTREAM_BAD_REQUEST"},
    {401, absl::StatusCode::kUnauthenticated, "UPSTREAM_UNAUTHENTICATED"},
    {403, absl::StatusCode::kPermissionDenied, "UPSTREAM_PERMISSION_DENIED"},
    {404, absl::StatusCode::kNotFound, "UPSTREAM_NOT_FOUND"},
    {409, absl::StatusCode::kAborted, "UPSTREAM_CONFLICT"},
    {429, absl::StatusCode::kUnavailable, kReasonUpstreamRateLimited},
    {500, absl::StatusCode::kUnavailable, "UPSTREAM_UNAVAILABLE"},
    {502, absl::StatusCode::kUnavailable, "UPSTREAM_UNAVAILABLE"},
    {503, absl::StatusCode::kUnavailable, "UPSTREAM_UNAVAILABLE"},
    {504, absl::StatusCode::kUnavailable, "UPSTREAM_UNAVAILABLE"},
}};

// Statuses outside the table, by class.
HttpRow ClassRow(int http_status) {
  if (http_status >= 500) return {http_status, absl::StatusCode::kUnavailable, "UPSTREAM_UNAVAILABLE"};
  if (http_status >= 400) return {http_status, absl::StatusCode::kFailedPrecondition, "UPSTREAM_REJECTED"};
  return {http_status, absl::StatusCode::kUnknown, "UPSTREAM_UNEXPECTED_STATUS"};
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

struct EnvelopeRow {
  absl::StatusCode code;
  EnvelopeOutcome outcome;
};

constexpr EnvelopeOutcome kPermanent = {400, false};
constexpr EnvelopeOutcome kTransient = {500, true};

// What a retry cannot fix is permanent; the rest (and anything unlisted) is
// transient, so LimaCharlie retries it.
constexpr std::array<EnvelopeRow, 9> kEnvelopeTable = {{
    {absl::StatusCode::kOk, {200, false}},
    {absl::StatusCode::kInvalidArgument, kPermanent},
    {absl::StatusCode::kNotFound, kPermanent},
    {absl::StatusCode::kAlreadyExists, kPermanent},
    {absl::StatusCode::kPermissionDenied, kPermanent},
    {absl::StatusCode::kUnauthenticated, kPermanent},
    {absl::StatusCode::kFailedPrecondition, kPermanent},
    {absl::StatusCode::kOutOfRange, kPermanent},
    {absl::StatusCode::kUnimplemented, kPermanent},
}};

template <typename Message>
std::string TypeUrl() {
  return absl::StrCat(kTypeUrlPrefix, Message::descriptor()->full_name());
}

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

// HaloPSA's text as one line of at most kMaxErrorTextBytes: control
// characters (never part of a multi-byte UTF-8 sequence) become spaces.
std::string Sanitize(absl::string_view raw) {
  std::string text(raw);
  for (char& c : text) {
    if (absl::ascii_iscntrl(static_cast<unsigned char>(c))) c = ' ';
  }
  return SafeForLog(absl::StripAsciiWhitespace(text), kMaxErrorTextBytes);
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

HttpRow RowFor(int http_status) {
  HttpRow row = ClassRow(http_status);
  for (const HttpRow& candidate : kHttpTable) {
    if (candidate.http_status == http_status) row = candidate;
  }
  return row;
}

// "<upstream> <endpoint> answered HTTP <status>: <its error text>".
absl::Status HttpAnswerStatus(absl::string_view upstream, absl::StatusCode code, absl::string_view reason,
                              int http_status, absl::string_view endpoint, absl::string_view body) {
  std::string text = HaloErrorText(body);
  std::string message = absl::StrCat(upstream, " ", endpoint, " answered HTTP ", http_status);
  if (!text.empty()) absl::StrAppend(&message, ": ", text);
  return WithErrorInfo(absl::Status(code, message), reason,
                       {{"http_status", absl::StrCat(http_status)}, {"endpoint", std::string(endpoint)}});
}

}  // namespace

absl::Status WithErrorInfo(absl::Status status, absl::string_view reason,
                           const std::map<std::string, std::string>& metadata) {
  google::rpc::ErrorInfo info;
  info.set_reason(std::string(reason));
  info.set_domain(std::string(kErrorDomain));
  info.mutable_metadata()->insert(metadata.begin(), metadata.end());
  status.SetPayload(TypeUrl<google::rpc::ErrorInfo>(), absl::Cord(info.SerializeAsString()));
  return status;
}

std::optional<google::rpc::ErrorInfo> GetErrorInfo(const absl::Status& status) {
  absl::optional<absl::Cord> payload = status.GetPayload(TypeUrl<google::rpc::ErrorInfo>());
  google::rpc::ErrorInfo info;
  if (!payload || !info.ParseFromString(std::string(*payload))) return std::nullopt;
  return info;
}

absl::Status WithRetryDelay(absl::Status status, absl::Duration delay) {
  google::rpc::RetryInfo info;
  const int64_t millis = absl::ToInt64Milliseconds(std::max(delay, absl::ZeroDuration()));
  info.mutable_retry_delay()->set_seconds(millis / 1000);
  info.mutable_retry_delay()->set_nanos(static_cast<int32_t>(millis % 1000) * 1000000);
  status.SetPayload(TypeUrl<google::rpc::RetryInfo>(), absl::Cord(info.SerializeAsString()));
  return status;
}

std::optional<absl::Duration> GetRetryDelay(const absl::Status& status) {
  absl::optional<absl::Cord> payload = status.GetPayload(TypeUrl<google::rpc::RetryInfo>());
  google::rpc::RetryInfo info;
  if (!payload || !info.ParseFromString(std::string(*payload))) return std::nullopt;
  return absl::Seconds(info.retry_delay().seconds()) + absl::Nanoseconds(info.retry_delay().nanos());
}

absl::Status InvalidField(absl::string_view field, absl::string_view description) {
  absl::Status status = WithErrorInfo(absl::InvalidArgumentError(absl::StrCat(field, ": ", description)),
                                      kReasonInvalidField, {{"field", std::string(field)}});
  google::rpc::BadRequest bad_request;
  auto* violation = bad_request.add_field_violations();
  violation->set_field(std::string(field));
  violation->set_description(std::string(description));
  status.SetPayload(TypeUrl<google::rpc::BadRequest>(), absl::Cord(bad_request.SerializeAsString()));
  return status;
}

std::string HaloErrorText(absl::string_view body) {
  absl::StatusOr<google::protobuf::Value> parsed = ParseJson(body);
  if (!parsed.ok()) return Sanitize(body);
  if (parsed->kind_case() == google::protobuf::Value::kStructValue) {
    return Sanitize(ObjectText(parsed->struct_value()));
  }
  return Sanitize(MessagesText(*parsed));
}

absl::Status FromHaloHttpStatus(int http_status, absl::string_view endpoint, absl::string_view body) {
  HttpRow row = RowFor(http_status);
  absl::Status status = HttpAnswerStatus("HaloPSA", row.code, row.reason, http_status, endpoint, body);
  std::optional<std::string> permission =
      http_status == 403 ? NamedPermission(HaloErrorText(body)) : std::nullopt;
  if (!permission) return status;
  std::optional<google::rpc::ErrorInfo> info = GetErrorInfo(status);
  std::map<std::string, std::string> metadata(info->metadata().begin(), info->metadata().end());
  metadata["missing_permission"] = *permission;
  return WithErrorInfo(
      absl::Status(status.code(), absl::StrCat(status.message(), "; the API application lacks the permission ",
                                               *permission, ": grant it to the application in HaloPSA "
                                               "(Configuration > Integrations > HaloPSA API) and include it in "
                                               "the scope setting")),
      row.reason, metadata);
}

absl::Status FromLimaCharlieHttpStatus(int http_status, absl::string_view endpoint, absl::string_view body) {
  return HttpAnswerStatus("LimaCharlie", RowFor(http_status).code, kReasonLimaCharlieApi, http_status, endpoint,
                          body);
}

absl::Status FromTransportFailure(const absl::Status& failure, absl::string_view endpoint) {
  absl::string_view reason = kReasonUpstreamUnreachable;
  for (const TransportRow& row : kTransportTable) {
    if (row.code == failure.code()) reason = row.reason;
  }
  return WithErrorInfo(absl::Status(failure.code(), absl::StrCat("HaloPSA ", endpoint, ": ", failure.message())),
                       reason, {{"endpoint", std::string(endpoint)}});
}

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  // Protobuf strings (google.rpc.Status) must be UTF-8, or the details are lost.
  std::string message = SafeForLog(status.message(), std::numeric_limits<size_t>::max());
  google::rpc::Status rich;
  rich.set_code(static_cast<int>(status.code()));
  rich.set_message(message);
  status.ForEachPayload([&rich](absl::string_view type_url, const absl::Cord& payload) {
    google::protobuf::Any* detail = rich.add_details();
    detail->set_type_url(std::string(type_url));
    detail->set_value(std::string(payload));
  });
  // absl and gRPC share the canonical code numbers.
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), message, rich.SerializeAsString());
}

absl::Status FromGrpcStatus(const grpc::Status& status) {
  if (status.ok()) return absl::OkStatus();
  absl::Status result(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
  google::rpc::Status rich;
  if (!status.error_details().empty() && rich.ParseFromString(status.error_details())) {
    for (const auto& detail : rich.details()) {
      result.SetPayload(detail.type_url(), absl::Cord(detail.value()));
    }
  }
  return result;
}

EnvelopeOutcome ToEnvelopeOutcome(absl::StatusCode code) {
  for (const EnvelopeRow& row : kEnvelopeTable) {
    if (row.code == code) return row.outcome;
  }
  return kTransient;
}

}  // namespace halopsa

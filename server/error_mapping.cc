#include "server/error_mapping.h"

#include <algorithm>
#include <array>
#include <limits>

#include <google/protobuf/any.pb.h>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "google/rpc/status.pb.h"
#include "server/logger.h"

namespace halopsa {
namespace {

constexpr absl::string_view kTypeUrlPrefix = "type.googleapis.com/";

struct HttpRow {
  int http_status;
  absl::StatusCode code;
};

// Upstream HTTP status -> status code. Codes follow google-cloud-cpp's REST
// mapping; statuses not listed go by their class (HttpStatusToCode).
constexpr std::array<HttpRow, 6> kHttpTable = {{
    {400, absl::StatusCode::kInvalidArgument},
    {401, absl::StatusCode::kUnauthenticated},
    {403, absl::StatusCode::kPermissionDenied},
    {404, absl::StatusCode::kNotFound},
    {409, absl::StatusCode::kAborted},
    {429, absl::StatusCode::kUnavailable},
}};

template <typename Message>
std::string TypeUrl() {
  return absl::StrCat(kTypeUrlPrefix, Message::descriptor()->full_name());
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

absl::StatusCode HttpStatusToCode(int http_status) {
  for (const HttpRow& row : kHttpTable) {
    if (row.http_status == http_status) return row.code;
  }
  if (http_status >= 500) return absl::StatusCode::kUnavailable;
  if (http_status >= 400) return absl::StatusCode::kFailedPrecondition;
  return absl::StatusCode::kUnknown;
}

std::string UpstreamErrorText(absl::string_view raw) {
  // Control characters are never part of a multi-byte UTF-8 sequence.
  std::string text(raw);
  for (char& c : text) {
    if (absl::ascii_iscntrl(static_cast<unsigned char>(c))) c = ' ';
  }
  return SafeForLog(absl::StripAsciiWhitespace(text), kMaxUpstreamTextBytes);
}

absl::Status UpstreamHttpError(absl::string_view upstream, absl::string_view reason, int http_status,
                               absl::string_view endpoint, absl::string_view text) {
  std::string message = absl::StrCat(upstream, " ", endpoint, " answered HTTP ", http_status);
  if (!text.empty()) absl::StrAppend(&message, ": ", text);
  return WithErrorInfo(absl::Status(HttpStatusToCode(http_status), message), reason,
                       {{"http_status", absl::StrCat(http_status)}, {"endpoint", std::string(endpoint)}});
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

}  // namespace halopsa

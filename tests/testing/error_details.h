#ifndef HALOPSA_TESTS_TESTING_ERROR_DETAILS_H_
#define HALOPSA_TESTS_TESTING_ERROR_DETAILS_H_

// The error details of a failed call, as tests check them. Each returns
// "" or nullopt when the detail is missing, so that a test fails on the
// comparison instead of crashing on an empty optional.

#include <grpcpp/grpcpp.h>

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "server/error_mapping.h"

namespace halopsa::testing {

// The detail of this type among a failed call's details, if any.
template <typename Detail>
std::optional<Detail> DetailOf(const grpc::Status& status) {
  google::rpc::Status rich;
  if (!rich.ParseFromString(status.error_details())) return std::nullopt;
  for (const auto& detail : rich.details()) {
    Detail found;
    if (detail.UnpackTo(&found)) return found;
  }
  return std::nullopt;
}

inline std::optional<google::rpc::ErrorInfo> ErrorInfoOf(const grpc::Status& status) {
  return DetailOf<google::rpc::ErrorInfo>(status);
}

inline std::optional<google::rpc::ErrorInfo> ErrorInfoOf(const absl::Status& status) { return GetErrorInfo(status); }

// The ErrorInfo reason of a grpc::Status or absl::Status, "" when none.
template <typename Status>
std::string ReasonOf(const Status& status) {
  std::optional<google::rpc::ErrorInfo> info = ErrorInfoOf(status);
  return info.has_value() ? info->reason() : "";
}

// The ErrorInfo's metadata entry `key`, "" when there is none.
template <typename Status>
std::string ErrorMetadataOf(const Status& status, const std::string& key) {
  std::optional<google::rpc::ErrorInfo> info = ErrorInfoOf(status);
  if (!info.has_value()) return "";
  auto entry = info->metadata().find(key);
  return entry == info->metadata().end() ? "" : entry->second;
}

}  // namespace halopsa::testing

#endif  // HALOPSA_TESTS_TESTING_ERROR_DETAILS_H_

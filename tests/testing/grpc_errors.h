#ifndef HALOPSA_TESTS_TESTING_GRPC_ERRORS_H_
#define HALOPSA_TESTS_TESTING_GRPC_ERRORS_H_

#include <grpcpp/grpcpp.h>

#include <optional>

#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"

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

}  // namespace halopsa::testing

#endif  // HALOPSA_TESTS_TESTING_GRPC_ERRORS_H_

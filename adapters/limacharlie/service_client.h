#ifndef HALOPSA_ADAPTERS_LIMACHARLIE_SERVICE_CLIENT_H_
#define HALOPSA_ADAPTERS_LIMACHARLIE_SERVICE_CLIENT_H_

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace google::protobuf {
class Message;
class MethodDescriptor;
}  // namespace google::protobuf

namespace grpc {
class Channel;
}  // namespace grpc

namespace halopsa::lc {

// Calls HaloPsaService methods by descriptor over gRPC's callback API, so
// one code path serves every action. Thread-safe.
class ServiceClient {
 public:
  using Metadata = std::vector<std::pair<std::string, std::string>>;
  using Callback = absl::AnyInvocable<void(absl::StatusOr<std::unique_ptr<google::protobuf::Message>>)>;

  explicit ServiceClient(std::shared_ptr<grpc::Channel> channel);
  ~ServiceClient();

  ServiceClient(const ServiceClient&) = delete;
  ServiceClient& operator=(const ServiceClient&) = delete;

  // Calls `method` with `request` (of its input type) and `metadata`.
  // `done` runs exactly once, on a gRPC thread, with the response (of the
  // method's output type) or the call's status converted by FromGrpcStatus
  // (ErrorInfo kept as payload); statuses without ErrorInfo come from gRPC
  // itself and get "HaloPsaService.<Method>: " before their message.
  void Call(const google::protobuf::MethodDescriptor& method, const google::protobuf::Message& request,
            const Metadata& metadata, absl::Time deadline, Callback done);

  // Cancels the calls in flight; their callbacks still run (CANCELLED).
  void CancelAll();

 private:
  class Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace halopsa::lc

#endif  // HALOPSA_ADAPTERS_LIMACHARLIE_SERVICE_CLIENT_H_

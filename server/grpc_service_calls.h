#ifndef HALOPSA_SERVER_GRPC_SERVICE_CALLS_H_
#define HALOPSA_SERVER_GRPC_SERVICE_CALLS_H_

#include <memory>

#include "server/service_calls.h"

namespace grpc {
class Channel;
}  // namespace grpc

namespace halopsa {

// HaloPsaService over gRPC's callback API, for a gateway in front of a
// service in another process. Thread-safe.
class GrpcServiceCalls final : public ServiceCalls {
 public:
  explicit GrpcServiceCalls(std::shared_ptr<grpc::Channel> channel);
  // Cancels the calls in flight.
  ~GrpcServiceCalls() override;

  GrpcServiceCalls(const GrpcServiceCalls&) = delete;
  GrpcServiceCalls& operator=(const GrpcServiceCalls&) = delete;

  // `done` runs on a gRPC thread; the status is converted by
  // FromGrpcStatus, and statuses without ErrorInfo come from gRPC itself and
  // get "HaloPsaService.<Method>: " before their message.
  void Call(const google::protobuf::MethodDescriptor& method,
            std::shared_ptr<const google::protobuf::Message> request, const Metadata& metadata, absl::Time deadline,
            Callback done) override;
  // Cancels the calls in flight through gRPC; their callbacks still run
  // (CANCELLED).
  void CancelAll() override;

 private:
  class Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace halopsa

#endif  // HALOPSA_SERVER_GRPC_SERVICE_CALLS_H_

#ifndef HALOPSA_ADAPTERS_LIMACHARLIE_SERVICE_CLIENT_H_
#define HALOPSA_ADAPTERS_LIMACHARLIE_SERVICE_CLIENT_H_

#include <memory>

#include "server/service_calls.h"

namespace grpc {
class Channel;
}  // namespace grpc

namespace halopsa::lc {

// HaloPsaService over gRPC's callback API, for a gateway in front of a
// service in another process. Thread-safe.
class ServiceClient final : public ServiceCalls {
 public:
  explicit ServiceClient(std::shared_ptr<grpc::Channel> channel);
  // Cancels the calls in flight.
  ~ServiceClient() override;

  ServiceClient(const ServiceClient&) = delete;
  ServiceClient& operator=(const ServiceClient&) = delete;

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

}  // namespace halopsa::lc

#endif  // HALOPSA_ADAPTERS_LIMACHARLIE_SERVICE_CLIENT_H_

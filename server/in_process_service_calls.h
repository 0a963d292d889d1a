#ifndef HALOPSA_SERVER_IN_PROCESS_SERVICE_CALLS_H_
#define HALOPSA_SERVER_IN_PROCESS_SERVICE_CALLS_H_

#include <memory>

#include "server/call_runner.h"
#include "server/service_calls.h"

namespace halopsa {

// HaloPsaService called in the same process without gRPC: the request goes
// to the CallRunner as it is (no serialisation, no extra thread), with the
// same admission, metadata rules, logging and metrics as a gRPC call.
// Thread-safe.
class InProcessServiceCalls final : public ServiceCalls {
 public:
  // `runner` must outlive every call started here.
  explicit InProcessServiceCalls(CallRunner& runner);
  // Cancels the calls in flight.
  ~InProcessServiceCalls() override;

  InProcessServiceCalls(const InProcessServiceCalls&) = delete;
  InProcessServiceCalls& operator=(const InProcessServiceCalls&) = delete;

  // Methods HaloPsaService does not have and requests of another type than
  // the method's are answered INVALID_ARGUMENT.
  void Call(const google::protobuf::MethodDescriptor& method,
            std::shared_ptr<const google::protobuf::Message> request, const Metadata& metadata, absl::Time deadline,
            Callback done) override;
  void CancelAll() override;

 private:
  class PendingCalls;

  CallRunner& runner_;
  // Shared with the calls in flight, which may end after this object.
  std::shared_ptr<PendingCalls> pending_;
};

}  // namespace halopsa

#endif  // HALOPSA_SERVER_IN_PROCESS_SERVICE_CALLS_H_

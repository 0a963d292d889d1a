#ifndef HALOPSA_ADAPTERS_LIMACHARLIE_STOPPABLE_SERVICE_CALLS_H_
#define HALOPSA_ADAPTERS_LIMACHARLIE_STOPPABLE_SERVICE_CALLS_H_

#include <atomic>
#include <memory>
#include <string>

#include "server/service_calls.h"

namespace halopsa::lc {

// The gateway's shutdown over the ServiceCalls it is given: once CancelAll
// has run, no call starts, and the calls it cancelled are answered
// CANCELLED with `stopped_message` (which tells LimaCharlie to retry).
// Thread-safe.
class StoppableServiceCalls final : public ServiceCalls {
 public:
  StoppableServiceCalls(std::unique_ptr<ServiceCalls> service, std::string stopped_message)
      : service_(std::move(service)), stopped_message_(std::move(stopped_message)) {}

  void Call(const google::protobuf::MethodDescriptor& method,
            std::shared_ptr<const google::protobuf::Message> request, const Metadata& metadata, absl::Time deadline,
            Callback done) override;
  // Stops for good and cancels the calls in flight.
  void CancelAll() override;

 private:
  std::unique_ptr<ServiceCalls> service_;
  const std::string stopped_message_;
  std::atomic<bool> stopped_{false};
};

}  // namespace halopsa::lc

#endif  // HALOPSA_ADAPTERS_LIMACHARLIE_STOPPABLE_SERVICE_CALLS_H_

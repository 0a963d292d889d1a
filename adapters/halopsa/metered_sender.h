#ifndef HALOPSA_ADAPTERS_HALOPSA_METERED_SENDER_H_
#define HALOPSA_ADAPTERS_HALOPSA_METERED_SENDER_H_

#include <string>

#include "absl/strings/string_view.h"
#include "adapters/halopsa/halo_request_sender.h"
#include "server/service_metrics.h"

namespace halopsa {

// Counts every request that went to HaloPSA when its answer comes: in the
// call's stats (the rpc log line's upstream_requests) and in
// halopsa_upstream_requests_total{endpoint, status} (status 0: no answer).
// It sits right above the transport, so it sees each attempt once.
class MeteredSender final : public HaloRequestSender {
 public:
  // `metrics` may be null: only the call's stats are counted.
  MeteredSender(HaloRequestSender& next, ServiceMetrics* metrics) : next_(next), metrics_(metrics) {}

  void Send(const CallContext& context, HaloRequest request, Callback done) override;

 private:
  HaloRequestSender& next_;
  ServiceMetrics* const metrics_;
};

// The endpoint as a metric label: numeric path segments become {id}, so the
// label has a small fixed set of values.
std::string EndpointLabel(absl::string_view path);

}  // namespace halopsa

#endif  // HALOPSA_ADAPTERS_HALOPSA_METERED_SENDER_H_

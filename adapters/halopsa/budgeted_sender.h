#ifndef HALOPSA_ADAPTERS_HALOPSA_BUDGETED_SENDER_H_
#define HALOPSA_ADAPTERS_HALOPSA_BUDGETED_SENDER_H_

#include <atomic>

#include "absl/status/status.h"
#include "adapters/halopsa/halo_request_sender.h"
#include "adapters/halopsa/request_budget.h"
#include "adapters/net/scheduler.h"
#include "server/service_metrics.h"

namespace halopsa {

// Takes a slot of the tenant's request budget (tenant: instance URL and
// client id; org: the call's) for every request, and sends it when the slot
// comes: at once, or later on the scheduler, counted in
// halopsa_rate_limit_waits_total. The budget's refusal is the answer,
// final, and nothing is sent.
class BudgetedSender final : public HaloRequestSender {
 public:
  // `metrics` may be null.
  BudgetedSender(HaloRequestSender& next, RequestBudget& budget, net::Scheduler& scheduler,
                 ServiceMetrics* metrics)
      : next_(next), budget_(budget), scheduler_(scheduler), metrics_(metrics) {}

  void Send(const CallContext& context, HaloRequest request, Callback done) override;

  // For shutdown: requests waiting for their slot are not sent when it
  // comes; they fail UNAVAILABLE, SHUTTING_DOWN.
  void StopWaiting() { stopping_.store(true); }

 private:
  HaloRequestSender& next_;
  RequestBudget& budget_;
  net::Scheduler& scheduler_;
  ServiceMetrics* const metrics_;
  std::atomic<bool> stopping_{false};
};

// The failure of a call that shutdown kept from going (on) to HaloPSA.
absl::Status ShuttingDown();

}  // namespace halopsa

#endif  // HALOPSA_ADAPTERS_HALOPSA_BUDGETED_SENDER_H_

#include "adapters/halopsa/budgeted_sender.h"

#include <string>
#include <utility>

#include "absl/time/clock.h"
#include "adapters/halopsa/rate_limiter.h"
#include "server/error_mapping.h"

namespace halopsa {

absl::Status ShuttingDown() {
  return WithErrorInfo(absl::UnavailableError("the service is shutting down; the call was not sent to HaloPSA"),
                       kReasonShuttingDown);
}

void BudgetedSender::Send(const CallContext& context, HaloRequest request, Callback done) {
  const std::string tenant = RateLimitKey(context.connection->instance_url, context.connection->client_id);
  budget_.Reserve(tenant, context.org, context.deadline,
                  [this, context, request = std::move(request), done = std::move(done)](
                      absl::StatusOr<absl::Time> slot) mutable {
                    if (!slot.ok()) return done(HaloAnswer{slot.status(), AttemptFailure::kFinal});
                    if (*slot <= absl::Now()) return next_.Send(context, std::move(request), std::move(done));
                    if (metrics_ != nullptr) metrics_->rate_limit_waits.With({}).Increment();
                    scheduler_.RunAt(*slot, [this, context, request = std::move(request),
                                             done = std::move(done)]() mutable {
                      if (stopping_.load()) return done(HaloAnswer{ShuttingDown(), AttemptFailure::kFinal});
                      next_.Send(context, std::move(request), std::move(done));
                    });
                  });
}

}  // namespace halopsa

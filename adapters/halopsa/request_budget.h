#ifndef HALOPSA_ADAPTERS_HALOPSA_REQUEST_BUDGET_H_
#define HALOPSA_ADAPTERS_HALOPSA_REQUEST_BUDGET_H_

#include <string>

#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace halopsa {

// The request budget of each HaloPSA tenant (instance URL and client id):
// how many requests may go to it in a rolling window. Kept in this process
// (TenantRateLimiter) or shared by every replica (Redis).
class RequestBudget {
 public:
  using Reserved = absl::AnyInvocable<void(absl::StatusOr<absl::Time>)>;

  virtual ~RequestBudget() = default;

  // Reserves a slot for one request to `tenant` and tells `done` when it
  // may be sent (now, or later). Fails without reserving when the slot
  // would come after `deadline` (UNAVAILABLE, reason UPSTREAM_RATE_LIMITED,
  // with a RetryInfo) or too many requests already wait (RESOURCE_EXHAUSTED,
  // reason OVERLOADED). `done` runs exactly once, maybe before Reserve
  // returns; it must not block.
  virtual void Reserve(const std::string& tenant, absl::Time deadline, Reserved done) = 0;

  // HaloPSA answered 429 anyway (others share the tenant's limit): no slot
  // for `tenant` before `until`.
  virtual void PauseUntil(const std::string& tenant, absl::Time until) = 0;
};

}  // namespace halopsa

#endif  // HALOPSA_ADAPTERS_HALOPSA_REQUEST_BUDGET_H_

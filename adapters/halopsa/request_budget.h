#ifndef HALOPSA_ADAPTERS_HALOPSA_REQUEST_BUDGET_H_
#define HALOPSA_ADAPTERS_HALOPSA_REQUEST_BUDGET_H_

#include <string>

#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace halopsa {

// The request budget of each HaloPSA tenant (instance URL and client id):
// how many requests may go to it in a rolling window, shared out fairly
// between the orgs (LimaCharlie oids, or gRPC callers' x-halopsa-org-id)
// that use the tenant. FairRequestBudget over this process' slots
// (TenantRateLimiter) or the replicas' shared ones (Redis).
class RequestBudget {
 public:
  using Reserved = absl::AnyInvocable<void(absl::StatusOr<absl::Time>)>;

  virtual ~RequestBudget() = default;

  // Reserves a slot for one request of `org` to `tenant` and tells `done`
  // when it may be sent (now, or later). Fails without reserving when the
  // slot would come after `deadline` (UNAVAILABLE, reason
  // UPSTREAM_RATE_LIMITED, with a RetryInfo saying when one could come), at
  // once rather than at the deadline, or when too many requests already wait
  // (RESOURCE_EXHAUSTED, reason OVERLOADED). `done` runs exactly once, maybe
  // before Reserve returns; it must not block.
  virtual void Reserve(const std::string& tenant, const std::string& org, absl::Time deadline, Reserved done) = 0;

  // HaloPSA answered 429 anyway (others share the tenant's limit): no slot
  // for `tenant` before `until`.
  virtual void PauseUntil(const std::string& tenant, absl::Time until) = 0;
};

// What one attempt at a slot found.
struct SlotAnswer {
  enum class Kind {
    kReserved,  // `at` is the request's slot
    kOrgFull,   // the org already holds its share of future slots
  };
  Kind kind = Kind::kReserved;
  // kReserved: the slot. kOrgFull: when the org's earliest future slot comes
  // due, so that it may reserve again.
  absl::Time at{};
  // kOrgFull only: the tenant's next free slot, and how many orgs hold
  // future slots now (the org itself included): what a waiter's estimate
  // is made of.
  absl::Time next_free{};
  int active_orgs = 1;
};

// Where the slots live: this process (TenantRateLimiter) or Redis. One
// attempt is atomic: it reserves a slot, or says the org is full, or fails
// like RequestBudget::Reserve (past the deadline, too many waiting).
class SlotSource {
 public:
  using Answered = absl::AnyInvocable<void(absl::StatusOr<SlotAnswer>)>;

  virtual ~SlotSource() = default;

  // `done` runs exactly once, maybe before TryReserve returns.
  virtual void TryReserve(const std::string& tenant, const std::string& org, absl::Time deadline,
                          Answered done) = 0;
  virtual void PauseUntil(const std::string& tenant, absl::Time until) = 0;
};

}  // namespace halopsa

#endif  // HALOPSA_ADAPTERS_HALOPSA_REQUEST_BUDGET_H_

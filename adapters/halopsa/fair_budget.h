#ifndef HALOPSA_ADAPTERS_HALOPSA_FAIR_BUDGET_H_
#define HALOPSA_ADAPTERS_HALOPSA_FAIR_BUDGET_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "adapters/halopsa/rate_limiter.h"
#include "adapters/halopsa/request_budget.h"
#include "adapters/net/scheduler.h"
#include "server/service_metrics.h"

namespace halopsa {

// A tenant's request budget shared out fairly between orgs. The slot
// source lets each org hold only a few future slots (fleet-wide with
// Redis); an org's further requests wait here, first come first served
// within the org, and try again on a timer when the org's earliest slot
// comes due. Slots then go round the busy orgs in turn, so one org's storm
// puts at most a few slots ahead of another org's single request. While an
// org gets slots due at once (the tenant is not paced), its requests attempt
// together instead (pipelined to Redis), not one round trip and timer round
// after another. A request
// whose estimated slot (its place in its org's queue times the busy orgs
// times the slot spacing, after the org's next turn) comes after its
// deadline is refused at once with that estimate as RetryInfo. Thread-safe.
class FairRequestBudget final : public RequestBudget {
 public:
  // `metrics` may be null. `slots` and `scheduler` must outlive this.
  FairRequestBudget(SlotSource& slots, net::Scheduler& scheduler, RateLimitOptions options,
                    ServiceMetrics* metrics = nullptr)
      : slots_(slots), scheduler_(scheduler), options_(std::move(options)), metrics_(metrics) {}

  void Reserve(const std::string& tenant, const std::string& org, absl::Time deadline, Reserved done) override;
  void PauseUntil(const std::string& tenant, absl::Time until) override { slots_.PauseUntil(tenant, until); }

  // Ends every waiting request (UNAVAILABLE, SHUTTING_DOWN) and refuses
  // later ones: the scheduler's timers may then run early.
  void StopWaiting();

  size_t waiting() const;  // requests queued in this process

 private:
  struct Waiter {
    uint64_t id;
    absl::Time deadline;
    absl::Time since;
    Reserved done;
    bool attempting = false;  // its attempt is under way
  };
  // One org's requests of one tenant, in arrival order. Taking turns, while
  // it is not empty exactly one attempt or timer for its head is under way;
  // otherwise each waiter has its own attempt (at most 16 at once), or a
  // task to start them waits.
  struct OrgQueue {
    std::deque<Waiter> waiters;
    std::optional<SlotAnswer> last_full;  // the source's latest "org full"
    // The org's latest answer was "full" or a future slot.
    bool taking_turns = false;
    size_t attempting = 0;
    bool scheduled = false;  // a Launch for it waits on the scheduler
  };
  // One slot attempt to send, for the waiter `id`.
  struct Attempt {
    uint64_t id;
    absl::Time deadline;
  };
  struct TenantQueues {
    absl::flat_hash_map<std::string, OrgQueue> orgs;
    size_t waiting = 0;
  };
  // Answers to give once the lock is released.
  struct Answer {
    Reserved done;
    absl::StatusOr<absl::Time> slot;
  };

  // Starts the attempts the org's queue is due (a scheduled task).
  void Launch(const std::string& tenant, const std::string& org);
  // Marks the waiters whose attempts may start now and returns them.
  static std::vector<Attempt> Start(OrgQueue& queue);
  void Send(const std::string& tenant, const std::string& org, const std::vector<Attempt>& attempts);
  void OnAnswer(const std::string& tenant, const std::string& org, uint64_t id, absl::StatusOr<SlotAnswer> answer);
  // When a Launch must follow `answer` (taken at `now`), if one must.
  static std::optional<absl::Time> NextLaunch(OrgQueue& queue, const absl::StatusOr<SlotAnswer>& answer,
                                              absl::Time now);
  // When the waiter at `position` of `queue` may expect its slot.
  absl::Time Estimate(const OrgQueue& queue, size_t position, absl::Time now) const;
  // Refuses the waiters whose estimate comes after their deadline.
  void RefuseTheLate(OrgQueue& queue, TenantQueues& tenant, const std::string& label, absl::Time now,
                     std::vector<Answer>& answers) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  Waiter Take(OrgQueue& queue, std::deque<Waiter>::iterator waiter, TenantQueues& tenant, const std::string& label)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void CountQueued(const std::string& label, double change);

  SlotSource& slots_;
  net::Scheduler& scheduler_;
  const RateLimitOptions options_;
  ServiceMetrics* const metrics_;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, TenantQueues> tenants_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t next_id_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace halopsa

#endif  // HALOPSA_ADAPTERS_HALOPSA_FAIR_BUDGET_H_

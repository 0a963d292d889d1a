#ifndef HALOPSA_ADAPTERS_HALOPSA_RATE_LIMITER_H_
#define HALOPSA_ADAPTERS_HALOPSA_RATE_LIMITER_H_

#include <cstddef>
#include <deque>
#include <functional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "adapters/halopsa/request_budget.h"

namespace halopsa {

struct RateLimitOptions {
  // At most this many requests per tenant in any rolling `window`: hosted
  // HaloPSA answers 429 beyond 300 per 5 minutes. 0 turns the limiter off.
  int max_requests = 300;
  absl::Duration window = absl::Minutes(5);
  // Requests of one tenant waiting for their slot (fleet-wide with Redis);
  // beyond, RESOURCE_EXHAUSTED.
  size_t max_waiting = 1000;
  // Requests of one org waiting in this process' queue for the org's turn;
  // beyond, RESOURCE_EXHAUSTED.
  size_t max_waiting_per_org = 250;
  // Future slots one org may hold per tenant (fleet-wide with Redis): what
  // a newcomer org finds ahead of it is at most this many per busy org.
  int org_future_slots = 1;
  // Tenants tracked at once; idle ones are forgotten first.
  size_t max_tenants = 10000;
  std::function<absl::Time()> clock = [] { return absl::Now(); };
};

// Slots a quiet tenant may use at once: 1/20 of the limit. The rest of the
// window is paced, so that a storm cannot take a window's worth of slots at
// once and leave every other org waiting for the window to roll.
int BurstOf(const RateLimitOptions& options);
// The pace: slots come at most one per spacing after the burst, so that
// burst + paced slots stay within max_requests - 1 in any window (one kept
// free for the lag between a slot and the request's arrival at HaloPSA).
absl::Duration SpacingOf(const RateLimitOptions& options);

// The rolling-window limit of each HaloPSA tenant (instance URL and client
// id) in this process, as a GCRA: a burst of BurstOf() slots, then one per
// SpacingOf(), so no window ever holds max_requests. Each org
// holds at most org_future_slots slots that are not due yet; beyond, the
// attempt says when the org's earliest one comes due (FairRequestBudget
// queues the request until then). Thread-safe.
class TenantRateLimiter final : public SlotSource {
 public:
  explicit TenantRateLimiter(RateLimitOptions options) : options_(std::move(options)) {}

  // SlotSource::TryReserve, answered at once.
  absl::StatusOr<SlotAnswer> TryReserveNow(const std::string& tenant, const std::string& org, absl::Time deadline);

  void TryReserve(const std::string& tenant, const std::string& org, absl::Time deadline, Answered done) override {
    done(TryReserveNow(tenant, org, deadline));
  }
  void PauseUntil(const std::string& tenant, absl::Time until) override;

  size_t tenants() const;

 private:
  struct Tenant {
    // The GCRA's theoretical arrival time: the next slot once the burst is
    // spent.
    absl::Time next_paced = absl::InfinitePast();
    absl::Time paused_until = absl::InfinitePast();
    // Slots not due yet, per org (in time order); orgs without any are absent.
    absl::flat_hash_map<std::string, std::deque<absl::Time>> future_slots;
    size_t future_count = 0;
  };

  Tenant& Find(const std::string& tenant, absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  static void ForgetDueSlots(Tenant& state, absl::Time now);

  const RateLimitOptions options_;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, Tenant> tenants_ ABSL_GUARDED_BY(mu_);
};

// Why a request got no slot: the earliest would come at or after the call's
// deadline (UNAVAILABLE, UPSTREAM_RATE_LIMITED, RetryInfo `retry_after`),
// or `waiting` requests already wait (RESOURCE_EXHAUSTED, OVERLOADED).
absl::Status NoSlotBeforeDeadline(const RateLimitOptions& options, absl::Duration retry_after);
absl::Status TooManyWaiting(size_t waiting);

// The limiter's key for a connection: instance URL and client id.
std::string RateLimitKey(absl::string_view instance_url, absl::string_view client_id);
// What metrics may show of a key: the instance URL, never the client id.
std::string TenantLabel(absl::string_view key);

}  // namespace halopsa

#endif  // HALOPSA_ADAPTERS_HALOPSA_RATE_LIMITER_H_

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
  // Requests of one tenant waiting for a slot; beyond, RESOURCE_EXHAUSTED.
  size_t max_waiting = 1000;
  // Tenants tracked at once; idle ones are forgotten first.
  size_t max_tenants = 10000;
  std::function<absl::Time()> clock = [] { return absl::Now(); };
};

// Client-side rolling-window rate limit per HaloPSA tenant (instance URL and
// client id) in this process, so a burst queues instead of tripping Halo's
// 429. Each reservation takes the earliest slot that keeps the window's
// count within the limit; slots are handed out first come, first served.
// Thread-safe.
class TenantRateLimiter final : public RequestBudget {
 public:
  explicit TenantRateLimiter(RateLimitOptions options) : options_(std::move(options)) {}

  // RequestBudget::Reserve, answered at once.
  absl::StatusOr<absl::Time> ReserveNow(const std::string& tenant, absl::Time deadline);

  void Reserve(const std::string& tenant, absl::Time deadline, Reserved done) override {
    done(ReserveNow(tenant, deadline));
  }
  void PauseUntil(const std::string& tenant, absl::Time until) override;

  size_t tenants() const;

 private:
  struct Tenant {
    // Reserved slots in time order: every future one and, of the past ones
    // within the last window, at least the last max_requests.
    std::deque<absl::Time> slots;
    absl::Time paused_until = absl::InfinitePast();
  };

  Tenant& Find(const std::string& tenant, absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

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

}  // namespace halopsa

#endif  // HALOPSA_ADAPTERS_HALOPSA_RATE_LIMITER_H_

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
// client id), so a burst queues instead of tripping Halo's 429. Each Reserve
// takes the earliest slot that keeps the window's count within the limit;
// slots are handed out first come, first served. Thread-safe.
class TenantRateLimiter {
 public:
  explicit TenantRateLimiter(RateLimitOptions options) : options_(std::move(options)) {}

  // The time at which one request for `tenant` may be sent (now, or later),
  // with that slot reserved. Fails without reserving when the slot would
  // come after `deadline` (UNAVAILABLE, reason UPSTREAM_RATE_LIMITED, with a
  // RetryInfo) or when max_waiting requests already wait (RESOURCE_EXHAUSTED,
  // reason OVERLOADED).
  absl::StatusOr<absl::Time> Reserve(const std::string& tenant, absl::Time deadline);

  // HaloPSA answered 429 anyway (others share the tenant's limit): no slot
  // for `tenant` before `until`.
  void PauseUntil(const std::string& tenant, absl::Time until);

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

// The limiter's key for a connection: instance URL and client id.
std::string RateLimitKey(absl::string_view instance_url, absl::string_view client_id);

}  // namespace halopsa

#endif  // HALOPSA_ADAPTERS_HALOPSA_RATE_LIMITER_H_

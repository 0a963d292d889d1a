#include "adapters/halopsa/rate_limiter.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "server/error_mapping.h"

namespace halopsa {

absl::StatusOr<absl::Time> TenantRateLimiter::ReserveNow(const std::string& tenant, absl::Time deadline) {
  const absl::Time now = options_.clock();
  if (options_.max_requests <= 0) return now;
  absl::MutexLock lock(&mu_);
  Tenant& state = Find(tenant, now);
  const size_t limit = static_cast<size_t>(options_.max_requests);
  // Slots a window old, and past slots beyond the last `limit`, no longer
  // matter to any window.
  while (!state.slots.empty() && (state.slots.front() + options_.window <= now ||
                                  (state.slots.size() > limit && state.slots.front() <= now))) {
    state.slots.pop_front();
  }
  absl::Time slot = std::max(now, state.paused_until);
  if (state.slots.size() >= limit) slot = std::max(slot, state.slots[state.slots.size() - limit] + options_.window);
  if (slot >= deadline) return NoSlotBeforeDeadline(options_, slot - now);
  // Slots are handed out in time order, so those after `now` are a suffix.
  const size_t waiting = static_cast<size_t>(
      state.slots.end() - std::upper_bound(state.slots.begin(), state.slots.end(), now));
  if (waiting >= options_.max_waiting) return TooManyWaiting(waiting);
  state.slots.push_back(slot);
  return slot;
}

void TenantRateLimiter::PauseUntil(const std::string& tenant, absl::Time until) {
  if (options_.max_requests <= 0) return;
  absl::MutexLock lock(&mu_);
  Tenant& state = Find(tenant, options_.clock());
  state.paused_until = std::max(state.paused_until, until);
}

size_t TenantRateLimiter::tenants() const {
  absl::MutexLock lock(&mu_);
  return tenants_.size();
}

TenantRateLimiter::Tenant& TenantRateLimiter::Find(const std::string& tenant, absl::Time now) {
  if (tenants_.size() >= options_.max_tenants && !tenants_.contains(tenant)) {
    // A tenant whose every slot and pause lies a window in the past limits
    // nothing; forget those, or the one idle the longest.
    const auto last_use = [](const Tenant& t) {
      return std::max(t.paused_until, t.slots.empty() ? absl::InfinitePast() : t.slots.back());
    };
    absl::erase_if(tenants_, [&](const auto& entry) { return last_use(entry.second) + options_.window <= now; });
    if (tenants_.size() >= options_.max_tenants) {
      auto idlest = std::min_element(tenants_.begin(), tenants_.end(), [&](const auto& a, const auto& b) {
        return last_use(a.second) < last_use(b.second);
      });
      tenants_.erase(idlest);
    }
  }
  return tenants_[tenant];
}

absl::Status NoSlotBeforeDeadline(const RateLimitOptions& options, absl::Duration retry_after) {
  return WithRetryDelay(
      WithErrorInfo(absl::UnavailableError(absl::StrCat(
                        "HaloPSA rate limit: no request slot for this tenant before the call's deadline (limit ",
                        options.max_requests, " per ", absl::FormatDuration(options.window), ")")),
                    kReasonUpstreamRateLimited),
      retry_after);
}

absl::Status TooManyWaiting(size_t waiting) {
  return WithErrorInfo(
      absl::ResourceExhaustedError(absl::StrCat("too many calls waiting for a HaloPSA rate-limit slot (", waiting, ")")),
      kReasonOverloaded);
}

std::string RateLimitKey(absl::string_view instance_url, absl::string_view client_id) {
  // A URL cannot contain a newline, so the pair cannot be confused.
  return absl::StrCat(instance_url, "\n", client_id);
}

}  // namespace halopsa

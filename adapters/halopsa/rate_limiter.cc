#include "adapters/halopsa/rate_limiter.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "server/error_mapping.h"

namespace halopsa {

int BurstOf(const RateLimitOptions& options) { return std::max(1, options.max_requests / 20); }

absl::Duration SpacingOf(const RateLimitOptions& options) {
  // n slots of one window span at least (n - burst) spacings, so at most
  // max_requests - 1 fit in one: HaloPSA counts a request when it arrives,
  // a little after its slot, and the slot kept free absorbs that lag (with
  // none, a late request and the one a window after it were counted in one
  // window: 429).
  // Rounded up to whole microseconds (Redis keeps them): rounded down, n
  // spacings could fall a tick short of the window.
  return absl::Ceil(options.window / std::max(1, options.max_requests - BurstOf(options)),
                    absl::Microseconds(1));
}

absl::StatusOr<SlotAnswer> TenantRateLimiter::TryReserveNow(const std::string& tenant, const std::string& org,
                                                            absl::Time deadline) {
  const absl::Time now = options_.clock();
  if (options_.max_requests <= 0) return SlotAnswer{.at = now};
  const absl::Duration spacing = SpacingOf(options_);
  absl::MutexLock lock(&mu_);
  Tenant& state = Find(tenant, now);
  ForgetDueSlots(state, now);
  const absl::Time slot =
      std::max({now, state.next_paced - (BurstOf(options_) - 1) * spacing, state.paused_until});
  auto held = state.future_slots.find(org);
  if (slot > now && held != state.future_slots.end() &&
      held->second.size() >= static_cast<size_t>(options_.org_future_slots)) {
    return SlotAnswer{SlotAnswer::Kind::kOrgFull, held->second.front(), slot,
                      static_cast<int>(state.future_slots.size())};
  }
  if (slot >= deadline) return NoSlotBeforeDeadline(options_, slot - now);
  if (slot > now && state.future_count >= options_.max_waiting) return TooManyWaiting(state.future_count);
  state.next_paced = std::max(state.next_paced, slot) + spacing;
  if (slot > now) {
    state.future_slots[org].push_back(slot);
    ++state.future_count;
  }
  return SlotAnswer{.at = slot};
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

void TenantRateLimiter::ForgetDueSlots(Tenant& state, absl::Time now) {
  absl::erase_if(state.future_slots, [&](auto& entry) {
    std::deque<absl::Time>& slots = entry.second;
    while (!slots.empty() && slots.front() <= now) {
      slots.pop_front();
      --state.future_count;
    }
    return slots.empty();
  });
}

TenantRateLimiter::Tenant& TenantRateLimiter::Find(const std::string& tenant, absl::Time now) {
  if (tenants_.size() >= options_.max_tenants && !tenants_.contains(tenant)) {
    // A tenant whose pace and pause lie a window in the past limits
    // nothing; forget those, or the one idle the longest.
    const auto last_use = [](const Tenant& t) { return std::max(t.paused_until, t.next_paced); };
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
                        options.max_requests, " per ", absl::FormatDuration(options.window),
                        ", shared fairly between orgs)")),
                    kReasonUpstreamRateLimited),
      std::max(retry_after, absl::ZeroDuration()));
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

std::string TenantLabel(absl::string_view key) { return std::string(key.substr(0, key.find('\n'))); }

}  // namespace halopsa

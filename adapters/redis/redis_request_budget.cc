#include "adapters/redis/redis_request_budget.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace halopsa::redis {
namespace {

// KEYS: the tenant's pace (the GCRA's next paced slot, µs), its pause (ms),
// its orgs holding future slots (sorted set, score = their last slot) and
// this org's future slots (sorted set, score = slot time in µs). ARGV:
// spacing µs, burst allowance µs, µs until the call's deadline, most
// waiting, a unique member, future slots per org, the org's digest.
// Returns {1, µs until the slot} when reserved; {2, µs until the org's
// earliest future slot, µs until the tenant's next free slot, orgs holding
// future slots} when the org holds its share; {0, µs until the slot} past
// the deadline; {-1, waiting} when too many wait. The same rule as
// TenantRateLimiter::TryReserveNow, on Redis' clock.
const RedisScript kReserve(R"lua(
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local spacing = tonumber(ARGV[1])
local pace = tonumber(redis.call('GET', KEYS[1]) or '0')
local paused = tonumber(redis.call('GET', KEYS[2]) or '0') * 1000
local slot = math.max(now, pace - tonumber(ARGV[2]), paused)
redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', now)
if slot > now and redis.call('ZCARD', KEYS[4]) >= tonumber(ARGV[6]) then
  redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now)
  local earliest = redis.call('ZRANGE', KEYS[4], 0, 0, 'WITHSCORES')
  return {2, tonumber(earliest[2]) - now, slot - now, redis.call('ZCARD', KEYS[3])}
end
if slot >= now + tonumber(ARGV[3]) then return {0, slot - now} end
local waiting = math.ceil((slot - math.max(now, paused)) / spacing) - 1
if waiting >= tonumber(ARGV[4]) then return {-1, waiting} end
local next = math.max(pace, slot) + spacing
redis.call('SET', KEYS[1], string.format('%.0f', next), 'PX', math.ceil((next - now) / 1000) + 1)
if slot > now then
  local ttl = math.ceil((slot - now) / 1000) + 1
  redis.call('ZADD', KEYS[4], slot, ARGV[5])
  redis.call('PEXPIRE', KEYS[4], ttl)
  redis.call('ZADD', KEYS[3], slot, ARGV[7])
  if redis.call('PTTL', KEYS[3]) < ttl then redis.call('PEXPIRE', KEYS[3], ttl) end
end
return {1, slot - now}
)lua");

// KEYS: the tenant's pause. ARGV: ms from now. Only ever extends it.
const RedisScript kPause(R"lua(
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ms = tonumber(ARGV[1])
if now + ms > tonumber(redis.call('GET', KEYS[1]) or '0') then
  redis.call('SET', KEYS[1], now + ms, 'PX', ms + 1)
end
return 1
)lua");

// The org's part of key names: a digest, so that no oid is stored.
std::string OrgDigest(const std::string& org) {
  const std::string key = SharedKey("org", org);  // halopsa:org:{<hex>}
  const size_t open = key.find('{');
  return key.substr(open + 1, key.size() - open - 2);
}

int64_t Micros(absl::Duration duration) { return absl::ToInt64Microseconds(duration); }

}  // namespace

std::string BudgetKey(const std::string& tenant, absl::string_view part) {
  return absl::StrCat(SharedKey("budget", tenant), ":", part);
}

void RedisRequestBudget::TryReserve(const std::string& tenant, const std::string& org, absl::Time deadline,
                                    Answered done) {
  const absl::Time now = absl::Now();
  if (options_.max_requests <= 0) return done(SlotAnswer{.at = now});
  if (deadline <= now) return done(NoSlotBeforeDeadline(options_, absl::ZeroDuration()));
  const absl::Duration spacing = std::max(SpacingOf(options_), absl::Microseconds(1));
  const std::string digest = OrgDigest(org);
  // Far deadlines are capped: only the comparison with the slot matters.
  const int64_t until_deadline = Micros(std::min(deadline - now, absl::Hours(24)));
  redis_.Eval(kReserve,
              {BudgetKey(tenant, "pace"), BudgetKey(tenant, "pause"), BudgetKey(tenant, "orgs"),
               BudgetKey(tenant, absl::StrCat("org:", digest))},
              {absl::StrCat(Micros(spacing)), absl::StrCat(Micros((BurstOf(options_) - 1) * spacing)),
               absl::StrCat(until_deadline), absl::StrCat(options_.max_waiting), NewOwnerToken(),
               absl::StrCat(options_.org_future_slots), digest},
              deadline,
              [this, tenant, org, deadline, done = std::move(done)](absl::StatusOr<RedisReply> reply) mutable {
                if (!reply.ok() || reply->type != RedisReply::Type::kArray || reply->elements.size() < 2) {
                  return fallback_.TryReserve(tenant, org, deadline, std::move(done));
                }
                OnReply(reply->elements, std::move(done));
              });
}

void RedisRequestBudget::OnReply(const std::vector<RedisReply>& elements, Answered done) const {
  const absl::Time now = absl::Now();
  const long long verdict = elements[0].integer;
  const absl::Time at = now + absl::Microseconds(elements[1].integer);
  if (verdict == 1) return done(SlotAnswer{.at = at});
  if (verdict == 2 && elements.size() == 4) {
    return done(SlotAnswer{SlotAnswer::Kind::kOrgFull, at, now + absl::Microseconds(elements[2].integer),
                           static_cast<int>(elements[3].integer)});
  }
  if (verdict == 0) return done(NoSlotBeforeDeadline(options_, at - now));
  done(TooManyWaiting(static_cast<size_t>(elements[1].integer)));
}

void RedisRequestBudget::PauseUntil(const std::string& tenant, absl::Time until) {
  fallback_.PauseUntil(tenant, until);  // holds this replica back even while Redis is away
  const absl::Duration pause = until - absl::Now();
  if (options_.max_requests <= 0 || pause <= absl::ZeroDuration()) return;
  redis_.Eval(kPause, {BudgetKey(tenant, "pause")},
              {absl::StrCat(std::max<int64_t>(1, absl::ToInt64Milliseconds(pause)))}, absl::Now() + absl::Seconds(5),
              [](absl::StatusOr<RedisReply>) {});
}

}  // namespace halopsa::redis

#include "adapters/redis/redis_request_budget.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace halopsa::redis {
namespace {

// KEYS: the tenant's slots (sorted set, score = slot time in ms) and its
// pause (ms). ARGV: window ms, limit, ms until the call's deadline, most
// waiting, a unique member. Returns {1, ms until the slot} when reserved,
// {0, ms until the earliest slot} past the deadline, {-1, waiting} when too
// many wait. The same rule as TenantRateLimiter::ReserveNow.
const RedisScript kReserve(R"lua(
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local slot = now
local paused = tonumber(redis.call('GET', KEYS[2]) or '0')
if paused > slot then slot = paused end
local count = redis.call('ZCARD', KEYS[1])
if count >= limit then
  local oldest = redis.call('ZRANGE', KEYS[1], count - limit, count - limit, 'WITHSCORES')
  local free = tonumber(oldest[2]) + window
  if free > slot then slot = free end
end
if slot >= now + tonumber(ARGV[3]) then return {0, slot - now} end
local waiting = redis.call('ZCOUNT', KEYS[1], '(' .. now, '+inf')
if waiting >= tonumber(ARGV[4]) then return {-1, waiting} end
redis.call('ZADD', KEYS[1], slot, ARGV[5])
redis.call('PEXPIRE', KEYS[1], slot - now + window)
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

std::string SlotsKey(const std::string& tenant) { return absl::StrCat(SharedKey("budget", tenant), ":slots"); }
std::string PauseKey(const std::string& tenant) { return absl::StrCat(SharedKey("budget", tenant), ":pause"); }

int64_t Milliseconds(absl::Duration duration) { return absl::ToInt64Milliseconds(duration); }

}  // namespace

void RedisRequestBudget::Reserve(const std::string& tenant, absl::Time deadline, Reserved done) {
  const absl::Time now = absl::Now();
  if (options_.max_requests <= 0) return done(now);
  if (deadline <= now) return done(NoSlotBeforeDeadline(options_, absl::ZeroDuration()));
  // Far deadlines are capped: only the comparison with the slot matters.
  const int64_t until_deadline = Milliseconds(std::min(deadline - now, absl::Hours(24)));
  redis_.Eval(kReserve, {SlotsKey(tenant), PauseKey(tenant)},
              {absl::StrCat(Milliseconds(options_.window)), absl::StrCat(options_.max_requests),
               absl::StrCat(until_deadline), absl::StrCat(options_.max_waiting), NewOwnerToken()},
              deadline,
              [this, tenant, deadline, done = std::move(done)](absl::StatusOr<RedisReply> reply) mutable {
                if (!reply.ok()) return fallback_.Reserve(tenant, deadline, std::move(done));
                if (reply->type != RedisReply::Type::kArray || reply->elements.size() != 2) {
                  return fallback_.Reserve(tenant, deadline, std::move(done));
                }
                const long long verdict = reply->elements[0].integer;
                const long long value = reply->elements[1].integer;
                if (verdict == 1) return done(absl::Now() + absl::Milliseconds(value));
                if (verdict == 0) return done(NoSlotBeforeDeadline(options_, absl::Milliseconds(value)));
                done(TooManyWaiting(static_cast<size_t>(value)));
              });
}

void RedisRequestBudget::PauseUntil(const std::string& tenant, absl::Time until) {
  fallback_.PauseUntil(tenant, until);  // holds this replica back even while Redis is away
  const absl::Duration pause = until - absl::Now();
  if (options_.max_requests <= 0 || pause <= absl::ZeroDuration()) return;
  redis_.Eval(kPause, {PauseKey(tenant)}, {absl::StrCat(std::max<int64_t>(1, Milliseconds(pause)))},
              absl::Now() + absl::Seconds(5), [](absl::StatusOr<RedisReply>) {});
}

}  // namespace halopsa::redis

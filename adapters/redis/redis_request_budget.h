#ifndef HALOPSA_ADAPTERS_REDIS_REDIS_REQUEST_BUDGET_H_
#define HALOPSA_ADAPTERS_REDIS_REDIS_REQUEST_BUDGET_H_

#include <string>

#include "adapters/halopsa/rate_limiter.h"
#include "adapters/halopsa/request_budget.h"
#include "adapters/redis/redis_client.h"

namespace halopsa::redis {

// One request budget per HaloPSA tenant for every replica: the rolling
// window of TenantRateLimiter kept in Redis, each reservation one Lua
// script (atomic; Redis' clock, so replicas' clocks need not agree). Keys
// expire a window after their last slot and hold at most max_requests +
// max_waiting slots. While Redis cannot answer, reservations fall back to
// this process' own limiter, so searches and lookups go on (HaloPSA's 429
// then holds the fleet back).
class RedisRequestBudget final : public RequestBudget {
 public:
  RedisRequestBudget(RedisClient& redis, RateLimitOptions options, RequestBudget& fallback)
      : redis_(redis), options_(std::move(options)), fallback_(fallback) {}

  void Reserve(const std::string& tenant, absl::Time deadline, Reserved done) override;
  void PauseUntil(const std::string& tenant, absl::Time until) override;

 private:
  RedisClient& redis_;
  const RateLimitOptions options_;
  RequestBudget& fallback_;
};

}  // namespace halopsa::redis

#endif  // HALOPSA_ADAPTERS_REDIS_REDIS_REQUEST_BUDGET_H_

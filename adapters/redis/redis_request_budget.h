#ifndef HALOPSA_ADAPTERS_REDIS_REDIS_REQUEST_BUDGET_H_
#define HALOPSA_ADAPTERS_REDIS_REDIS_REQUEST_BUDGET_H_

#include <string>
#include <vector>

#include "adapters/halopsa/rate_limiter.h"
#include "adapters/halopsa/request_budget.h"
#include "adapters/redis/redis_client.h"

namespace halopsa::redis {

// The slots of every HaloPSA tenant for every replica: TenantRateLimiter's
// paced window and per-org share kept in Redis, each attempt one Lua script
// (atomic; Redis' clock, so replicas' clocks need not agree), so the budget
// and its order between orgs are fleet-wide. Keys expire once their slots
// are due and hold at most max_waiting slots. While Redis cannot answer,
// attempts fall back to this process' own limiter, so searches and lookups
// go on (HaloPSA's 429 then holds the fleet back).
class RedisRequestBudget final : public SlotSource {
 public:
  RedisRequestBudget(RedisClient& redis, RateLimitOptions options, SlotSource& fallback)
      : redis_(redis), options_(std::move(options)), fallback_(fallback) {}

  void TryReserve(const std::string& tenant, const std::string& org, absl::Time deadline, Answered done) override;
  void PauseUntil(const std::string& tenant, absl::Time until) override;

 private:
  void OnReply(const std::vector<RedisReply>& elements, Answered done) const;

  RedisClient& redis_;
  const RateLimitOptions options_;
  SlotSource& fallback_;
};

// The Redis key of one part of a tenant's budget ("pace", "pause", "orgs").
std::string BudgetKey(const std::string& tenant, absl::string_view part);

}  // namespace halopsa::redis

#endif  // HALOPSA_ADAPTERS_REDIS_REDIS_REQUEST_BUDGET_H_

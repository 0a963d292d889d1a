#ifndef HALOPSA_ADAPTERS_REDIS_REDIS_OUTCOME_JOURNAL_H_
#define HALOPSA_ADAPTERS_REDIS_REDIS_OUTCOME_JOURNAL_H_

#include <string>

#include "absl/time/time.h"
#include "adapters/redis/redis_client.h"
#include "server/idempotent_create.h"

namespace halopsa::redis {

// The unknown-outcome journal shared by every replica: one Redis key per
// journaled create (named by a digest of the journal key, so bounded in
// size), each expiring after `ttl`. Begin is one atomic SET ... GET, so an
// attempt whose replica died mid-call leaves its mark for the next one.
// Add and Remove do not wait for Redis: when they fail, the key stays
// marked, which costs the next attempt a lookup, never a duplicate.
class RedisOutcomeJournal final : public UnknownOutcomeJournal {
 public:
  explicit RedisOutcomeJournal(RedisClient& redis, absl::Duration ttl = absl::Hours(24))
      : redis_(redis), ttl_(ttl) {}

  void Begin(const std::string& key, absl::Time deadline, Checked done) override;
  void Add(const std::string& key) override;
  void Remove(const std::string& key) override;

 private:
  RedisClient& redis_;
  const absl::Duration ttl_;
};

}  // namespace halopsa::redis

#endif  // HALOPSA_ADAPTERS_REDIS_REDIS_OUTCOME_JOURNAL_H_

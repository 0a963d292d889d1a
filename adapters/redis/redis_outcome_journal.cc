#include "adapters/redis/redis_outcome_journal.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace halopsa::redis {
namespace {

// Fire-and-forget commands still get a bound.
constexpr absl::Duration kBackgroundBound = absl::Seconds(5);

std::string JournalKey(const std::string& key) { return SharedKey("journal", key); }

}  // namespace

void RedisOutcomeJournal::Begin(const std::string& key, absl::Time deadline, Checked done) {
  redis_.Command({"SET", JournalKey(key), "1", "PX", absl::StrCat(absl::ToInt64Milliseconds(ttl_)), "GET"}, deadline,
                 [done = std::move(done)](absl::StatusOr<RedisReply> previous) mutable {
                   if (!previous.ok()) return done(previous.status());
                   done(previous->type != RedisReply::Type::kNil);
                 });
}

void RedisOutcomeJournal::Add(const std::string& key) {
  redis_.Command({"SET", JournalKey(key), "1", "PX", absl::StrCat(absl::ToInt64Milliseconds(ttl_))},
                 absl::Now() + kBackgroundBound, [](absl::StatusOr<RedisReply>) {});
}

void RedisOutcomeJournal::Remove(const std::string& key) {
  redis_.Command({"DEL", JournalKey(key)}, absl::Now() + kBackgroundBound, [](absl::StatusOr<RedisReply>) {});
}

}  // namespace halopsa::redis

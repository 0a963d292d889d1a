#include "server/bounded_ttl_map.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>

namespace halopsa {
namespace {

using Map = BoundedTtlMap<std::string, std::string>;

class BoundedTtlMapTest : public ::testing::Test {
 protected:
  // The value under `key` at now_, or "" when there is none.
  static std::string Found(Map& map, const std::string& key, absl::Time now) {
    std::string* value = map.Find(key, now);
    return value == nullptr ? "" : *value;
  }

  const absl::Time now_ = absl::FromUnixSeconds(1'800'000'000);
  const absl::Duration forever_ = absl::InfiniteDuration();
};

TEST_F(BoundedTtlMapTest, FindsWhatWasPutAndReplacesIt) {
  Map map({.max_entries = 10});
  EXPECT_EQ(map.Find("a", now_), nullptr);
  EXPECT_TRUE(map.Put("a", "1", now_, forever_));
  EXPECT_EQ(Found(map, "a", now_), "1");
  EXPECT_TRUE(map.Put("a", "2", now_, forever_));
  EXPECT_EQ(Found(map, "a", now_), "2");
  EXPECT_EQ(map.size(), 1u);
}

TEST_F(BoundedTtlMapTest, EntryLivesUntilItsTtlHasPassed) {
  Map map({.max_entries = 10});
  map.Put("a", "1", now_, absl::Hours(1));
  EXPECT_EQ(Found(map, "a", now_ + absl::Hours(1) - absl::Nanoseconds(1)), "1");
  EXPECT_EQ(map.Find("a", now_ + absl::Hours(1)), nullptr);
  EXPECT_EQ(map.size(), 0u) << "Find drops the expired entry it meets";
}

TEST_F(BoundedTtlMapTest, EachEntryHasItsOwnTtl) {
  Map map({.max_entries = 10});
  map.Put("short", "s", now_, absl::Minutes(1));
  map.Put("long", "l", now_, absl::Hours(1));
  map.Put("never", "n", now_, forever_);
  map.EraseExpired(now_ + absl::Minutes(30));
  EXPECT_EQ(map.size(), 2u);
  EXPECT_EQ(Found(map, "long", now_ + absl::Minutes(30)), "l");
  map.EraseExpired(now_ + absl::Hours(1000));
  EXPECT_EQ(map.size(), 1u);
  EXPECT_EQ(Found(map, "never", now_ + absl::Hours(1000)), "n");
}

TEST_F(BoundedTtlMapTest, ReplacingAnEntryRestartsItsTtl) {
  Map map({.max_entries = 10});
  map.Put("a", "1", now_, absl::Hours(1));
  map.Put("a", "2", now_ + absl::Minutes(50), absl::Hours(1));
  map.EraseExpired(now_ + absl::Minutes(70));
  EXPECT_EQ(Found(map, "a", now_ + absl::Minutes(70)), "2");
}

TEST_F(BoundedTtlMapTest, CountBoundEvictsTheLeastRecentlyUsed) {
  Map map({.max_entries = 2});
  map.Put("a", "1", now_, forever_);
  map.Put("b", "2", now_, forever_);
  ASSERT_NE(map.Find("a", now_), nullptr);  // "b" is now the least recently used
  map.Put("c", "3", now_, forever_);
  EXPECT_EQ(map.size(), 2u);
  EXPECT_EQ(map.Find("b", now_), nullptr);
  EXPECT_EQ(Found(map, "a", now_), "1");
  EXPECT_EQ(Found(map, "c", now_), "3");
}

TEST_F(BoundedTtlMapTest, WithoutReadsTheOldestPutGoesFirst) {
  Map map({.max_entries = 2});
  map.Put("a", "1", now_, forever_);
  map.Put("b", "2", now_, forever_);
  map.Put("a", "1 again", now_, forever_);  // newest again
  map.Put("c", "3", now_, forever_);
  EXPECT_EQ(map.Find("b", now_), nullptr);
  EXPECT_EQ(Found(map, "a", now_), "1 again");
}

TEST_F(BoundedTtlMapTest, ExpiredEntriesGoBeforeAnyLiveOne) {
  Map map({.max_entries = 2});
  map.Put("live", "1", now_, forever_);
  map.Put("expiring", "2", now_, absl::Minutes(1));
  ASSERT_NE(map.Find("live", now_), nullptr);  // "expiring" is the most recent once more
  ASSERT_NE(map.Find("expiring", now_), nullptr);
  map.Put("new", "3", now_ + absl::Minutes(1), forever_);
  EXPECT_EQ(Found(map, "live", now_ + absl::Minutes(1)), "1");
  EXPECT_EQ(Found(map, "new", now_ + absl::Minutes(1)), "3");
}

TEST_F(BoundedTtlMapTest, WeightBoundEvictsUntilTheNewEntryFits) {
  Map map({.max_entries = 10, .max_weight = 10});
  map.Put("a", "x", now_, forever_, 4);
  map.Put("b", "x", now_, forever_, 4);
  map.Put("c", "x", now_, forever_, 2);
  EXPECT_EQ(map.weight(), 10u);
  map.Put("d", "x", now_, forever_, 5);  // "a" and "b" go
  EXPECT_EQ(map.weight(), 7u);
  EXPECT_EQ(map.size(), 2u);
  EXPECT_EQ(map.Find("a", now_), nullptr);
  EXPECT_EQ(map.Find("b", now_), nullptr);
  map.Erase("c");
  EXPECT_EQ(map.weight(), 5u);
}

TEST_F(BoundedTtlMapTest, AnEntryThatCannotFitIsNotKeptAndDropsItsPredecessor) {
  Map map({.max_entries = 10, .max_weight = 10});
  map.Put("a", "small", now_, forever_, 1);
  map.Put("other", "x", now_, forever_, 1);
  EXPECT_FALSE(map.Put("a", "too big", now_, forever_, 11));
  EXPECT_EQ(map.Find("a", now_), nullptr);
  EXPECT_EQ(Found(map, "other", now_), "x") << "nothing is evicted for an entry that cannot fit";
  EXPECT_EQ(map.weight(), 1u);
}

TEST_F(BoundedTtlMapTest, AZeroCountBoundKeepsNothing) {
  Map map({.max_entries = 0});
  EXPECT_FALSE(map.Put("a", "1", now_, forever_));
  EXPECT_EQ(map.size(), 0u);
}

TEST_F(BoundedTtlMapTest, AnEntryExpiredOnArrivalIsNotKept) {
  Map map({.max_entries = 10});
  EXPECT_FALSE(map.Put("a", "1", now_, absl::ZeroDuration()));
  EXPECT_FALSE(map.Put("b", "1", now_, -absl::Seconds(1)));
  EXPECT_EQ(map.size(), 0u);
}

TEST_F(BoundedTtlMapTest, EraseForgetsLiveAndExpiredEntries) {
  Map map({.max_entries = 10});
  map.Put("a", "1", now_, forever_);
  map.Put("b", "2", now_, absl::Seconds(1));
  EXPECT_TRUE(map.Erase("a"));
  EXPECT_TRUE(map.Erase("b"));
  EXPECT_FALSE(map.Erase("a"));
  EXPECT_EQ(map.size(), 0u);
}

TEST_F(BoundedTtlMapTest, KeysMayBeCompound) {
  BoundedTtlMap<std::pair<std::string, std::string>, int> map({.max_entries = 10});
  map.Put({"org-1", "k"}, 1, now_, forever_);
  map.Put({"org-2", "k"}, 2, now_, forever_);
  ASSERT_NE(map.Find({"org-1", "k"}, now_), nullptr);
  EXPECT_EQ(*map.Find({"org-1", "k"}, now_), 1);
  EXPECT_EQ(*map.Find({"org-2", "k"}, now_), 2);
}

TEST_F(BoundedTtlMapTest, ManyEntriesStayWithinTheBoundAndKeepTheNewest) {
  Map map({.max_entries = 100});
  for (int i = 0; i < 1000; ++i) map.Put(std::to_string(i), "v", now_ + absl::Seconds(i), absl::Hours(1));
  EXPECT_EQ(map.size(), 100u);
  EXPECT_NE(map.Find("999", now_ + absl::Seconds(999)), nullptr);
  EXPECT_EQ(map.Find("899", now_ + absl::Seconds(999)), nullptr);
}

}  // namespace
}  // namespace halopsa

#include "adapters/limacharlie/in_memory_reply_cache.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

namespace halopsa::lc {
namespace {

net::ServerResponse Response(int status, std::string body) {
  net::ServerResponse response;
  response.status = status;
  response.body = std::move(body);
  return response;
}

// Collects the replies a waiter gets.
struct Replies {
  std::vector<net::ServerResponse> got;
  InMemoryReplyCache::Waiter Waiter() {
    return [this](net::ServerResponse response) { got.push_back(std::move(response)); };
  }
};

class InMemoryReplyCacheTest : public ::testing::Test {
 protected:
  ReplyCacheOptions Options() {
    ReplyCacheOptions options;
    options.clock = [this] { return now_; };
    return options;
  }

  absl::Time now_ = absl::FromUnixSeconds(1700000000);
  const InMemoryReplyCache::Key key_{"org-1", "key-1"};
};

TEST_F(InMemoryReplyCacheTest, RetryAfterSuccessReplaysWithoutRunning) {
  InMemoryReplyCache store(Options());
  Replies first;
  ASSERT_TRUE(store.Join(key_, first.Waiter()));
  store.Finish(key_, Response(200, "created 1"), /*remember=*/true);
  ASSERT_EQ(first.got.size(), 1u);
  EXPECT_EQ(first.got[0].body, "created 1");

  Replies retry;
  EXPECT_FALSE(store.Join(key_, retry.Waiter()));
  ASSERT_EQ(retry.got.size(), 1u);  // answered inline
  EXPECT_EQ(retry.got[0].status, 200);
  EXPECT_EQ(retry.got[0].body, "created 1");
}

TEST_F(InMemoryReplyCacheTest, NotRememberedRepliesLetTheRetryRun) {
  InMemoryReplyCache store(Options());
  Replies first;
  ASSERT_TRUE(store.Join(key_, first.Waiter()));
  store.Finish(key_, Response(500, "unavailable"), /*remember=*/false);
  EXPECT_EQ(first.got.size(), 1u);
  EXPECT_EQ(store.completed(), 0u);
  Replies retry;
  EXPECT_TRUE(store.Join(key_, retry.Waiter()));
  EXPECT_TRUE(retry.got.empty());
}

TEST_F(InMemoryReplyCacheTest, ConcurrentDuplicateWaitsForTheFirstAttempt) {
  InMemoryReplyCache store(Options());
  Replies first, duplicate;
  ASSERT_TRUE(store.Join(key_, first.Waiter()));
  EXPECT_FALSE(store.Join(key_, duplicate.Waiter()));
  EXPECT_TRUE(duplicate.got.empty());  // still running
  store.Finish(key_, Response(200, "one ticket"), /*remember=*/true);
  ASSERT_EQ(first.got.size(), 1u);
  ASSERT_EQ(duplicate.got.size(), 1u);
  EXPECT_EQ(duplicate.got[0].body, "one ticket");
}

TEST_F(InMemoryReplyCacheTest, ConcurrentDuplicateGetsEvenAnUnrememberedReply) {
  InMemoryReplyCache store(Options());
  Replies first, duplicate;
  ASSERT_TRUE(store.Join(key_, first.Waiter()));
  ASSERT_FALSE(store.Join(key_, duplicate.Waiter()));
  store.Finish(key_, Response(500, "try again"), /*remember=*/false);
  ASSERT_EQ(duplicate.got.size(), 1u);
  EXPECT_EQ(duplicate.got[0].status, 500);
}

bool Replayed(const net::ServerResponse& response) {
  for (const auto& [name, value] : response.headers) {
    if (name == kReplayHeader) return true;
  }
  return false;
}

TEST_F(InMemoryReplyCacheTest, DuplicatesAreMarkedAsReplaysAndTheFirstIsNot) {
  InMemoryReplyCache store(Options());
  Replies first, waiting, later;
  ASSERT_TRUE(store.Join(key_, first.Waiter()));
  EXPECT_FALSE(store.Join(key_, waiting.Waiter()));
  store.Finish(key_, Response(200, "{}"), /*remember=*/true);
  EXPECT_FALSE(store.Join(key_, later.Waiter()));
  ASSERT_EQ(first.got.size(), 1u);
  ASSERT_EQ(waiting.got.size(), 1u);
  ASSERT_EQ(later.got.size(), 1u);
  EXPECT_FALSE(Replayed(first.got[0]));
  EXPECT_TRUE(Replayed(waiting.got[0]));
  EXPECT_TRUE(Replayed(later.got[0]));
}

TEST_F(InMemoryReplyCacheTest, KeysAreSeparatePerOrg) {
  InMemoryReplyCache store(Options());
  Replies a, b;
  ASSERT_TRUE(store.Join({"org-1", "k"}, a.Waiter()));
  store.Finish({"org-1", "k"}, Response(200, "a"), true);
  EXPECT_TRUE(store.Join({"org-2", "k"}, b.Waiter()));
}

TEST_F(InMemoryReplyCacheTest, RepliesExpireAfterTtl) {
  ReplyCacheOptions options = Options();
  options.ttl = absl::Hours(1);
  InMemoryReplyCache store(options);
  Replies first, before, after;
  ASSERT_TRUE(store.Join(key_, first.Waiter()));
  store.Finish(key_, Response(200, "x"), true);
  now_ += absl::Minutes(59);
  EXPECT_FALSE(store.Join(key_, before.Waiter()));
  now_ += absl::Minutes(1);
  EXPECT_TRUE(store.Join(key_, after.Waiter()));
  EXPECT_TRUE(after.got.empty());
}

TEST_F(InMemoryReplyCacheTest, CountBoundEvictsTheOldest) {
  ReplyCacheOptions options = Options();
  options.max_entries = 2;
  InMemoryReplyCache store(options);
  Replies sink;
  for (const char* key : {"k1", "k2", "k3"}) {
    ASSERT_TRUE(store.Join({"o", key}, sink.Waiter()));
    store.Finish({"o", key}, Response(200, key), true);
  }
  EXPECT_EQ(store.completed(), 2u);
  Replies k3, k1;
  EXPECT_FALSE(store.Join({"o", "k3"}, k3.Waiter()));
  ASSERT_EQ(k3.got.size(), 1u);
  EXPECT_EQ(k3.got[0].body, "k3");
  EXPECT_TRUE(store.Join({"o", "k1"}, k1.Waiter()));  // evicted
}

TEST_F(InMemoryReplyCacheTest, ByteBoundEvictsTheOldestAndSkipsOversizedReplies) {
  ReplyCacheOptions options = Options();
  options.max_bytes = 10;
  InMemoryReplyCache store(options);
  Replies sink;
  ASSERT_TRUE(store.Join({"o", "a"}, sink.Waiter()));
  store.Finish({"o", "a"}, Response(200, "123456"), true);
  ASSERT_TRUE(store.Join({"o", "b"}, sink.Waiter()));
  store.Finish({"o", "b"}, Response(200, "123456"), true);  // 12 bytes > 10: "a" goes
  EXPECT_EQ(store.completed(), 1u);
  EXPECT_TRUE(store.Join({"o", "a"}, sink.Waiter()));
  ASSERT_TRUE(store.Join({"o", "big"}, sink.Waiter()));
  store.Finish({"o", "big"}, Response(200, std::string(11, 'x')), true);
  EXPECT_TRUE(store.Join({"o", "big"}, sink.Waiter()));  // never kept
}

TEST_F(InMemoryReplyCacheTest, AReplayedReplyOutlivesOlderOnesAtTheCountBound) {
  ReplyCacheOptions options = Options();
  options.max_entries = 2;
  InMemoryReplyCache store(options);
  Replies sink;
  for (const char* key : {"k1", "k2"}) {
    ASSERT_TRUE(store.Join({"o", key}, sink.Waiter()));
    store.Finish({"o", key}, Response(200, key), true);
  }
  EXPECT_FALSE(store.Join({"o", "k1"}, sink.Waiter()));  // replayed: "k2" is now the least recently used
  ASSERT_TRUE(store.Join({"o", "k3"}, sink.Waiter()));
  store.Finish({"o", "k3"}, Response(200, "k3"), true);
  EXPECT_FALSE(store.Join({"o", "k1"}, sink.Waiter()));
  EXPECT_TRUE(store.Join({"o", "k2"}, sink.Waiter()));  // evicted
}

TEST_F(InMemoryReplyCacheTest, ExpiredRepliesGiveBackTheirBytes) {
  ReplyCacheOptions options = Options();
  options.max_bytes = 10;
  options.ttl = absl::Hours(1);
  InMemoryReplyCache store(options);
  Replies sink;
  ASSERT_TRUE(store.Join({"o", "a"}, sink.Waiter()));
  store.Finish({"o", "a"}, Response(200, "123456"), true);
  now_ += absl::Hours(1);
  ASSERT_TRUE(store.Join({"o", "b"}, sink.Waiter()));
  EXPECT_EQ(store.completed(), 0u) << "a Join drops the expired replies";
  store.Finish({"o", "b"}, Response(200, "1234567890"), true);  // fits only because "a" is gone
  EXPECT_EQ(store.completed(), 1u);
  EXPECT_FALSE(store.Join({"o", "b"}, sink.Waiter()));
}

}  // namespace
}  // namespace halopsa::lc

#include "adapters/redis/redis_reply_cache.h"

#include <atomic>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/error_mapping.h"
#include "tests/adapters/redis/redis_test_support.h"

namespace halopsa::redis {
namespace {

using ::halopsa::testing::RedisServerProcess;
using ::testing::Contains;
using ::testing::Not;
using ::testing::Pair;
using testing::Awaited;
using testing::Eventually;
using testing::IoThreads;
using testing::OptionsFor;
using testing::RunCommand;

using Answer = absl::StatusOr<net::ServerResponse>;

net::ServerResponse Response(int status, std::string body) {
  net::ServerResponse response;
  response.status = status;
  response.body = std::move(body);
  response.headers = {{"X-Request", "1"}};
  return response;
}

// One callback's view of the store: whether it ran, and what it was told.
struct Outcome {
  std::atomic<bool> ran{false};
  Awaited<Answer> answer;
};

TEST(ReplyEncodingTest, RoundTripsBinaryBodiesAndHeadersWithoutTheReplayMark) {
  net::ServerResponse reply = Response(400, std::string("{\"a\":\n\0}", 8));
  reply.content_type = "application/json";
  reply.headers.emplace_back(lc::kReplayHeader, "true");
  std::optional<net::ServerResponse> decoded = DecodeReply(EncodeReply(reply));
  ASSERT_TRUE(decoded.has_value());
  EXPECT_EQ(decoded->status, 400);
  EXPECT_EQ(decoded->content_type, "application/json");
  EXPECT_EQ(decoded->body, reply.body);
  EXPECT_THAT(decoded->headers, Contains(Pair("X-Request", "1")));
  EXPECT_THAT(decoded->headers, Not(Contains(Pair(lc::kReplayHeader, "true"))));
  EXPECT_FALSE(DecodeReply("200\nno count").has_value());
}

// Three replicas' stores over one Redis.
class RedisReplyCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<RedisServerProcess>> server = RedisServerProcess::Start();
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    for (int i = 0; i < 3; ++i) {
      clients_[i] = RedisClient::Start(io_.io(), OptionsFor(server_->url()));
      ASSERT_TRUE(Eventually([&] { return clients_[i]->up(); }));
      stores_[i] = std::make_unique<RedisReplyCache>(*clients_[i], options_);
    }
  }

  void TearDown() override {
    for (auto& client : clients_) {
      if (client) client->Close();
    }
  }

  void Join(int replica, Outcome& outcome, absl::Duration within = absl::Seconds(10)) {
    stores_[replica]->Join(key_, absl::Now() + within, outcome.answer.Callback(), [&outcome] { outcome.ran = true; });
  }

  static bool IsReplay(const net::ServerResponse& reply) {
    for (const auto& [name, value] : reply.headers) {
      if (name == lc::kReplayHeader) return true;
    }
    return false;
  }

  RedisReplyOptions options_;
  const lc::ReplyCache::Key key_{"org-1", "idem-1"};
  IoThreads io_;
  std::unique_ptr<RedisServerProcess> server_;
  std::unique_ptr<RedisClient> clients_[3];
  std::unique_ptr<RedisReplyCache> stores_[3];
};

TEST_F(RedisReplyCacheTest, ADuplicateOnAnotherReplicaWaitsAndGetsTheSameReplyThenRetriesReplay) {
  Outcome first, duplicate, retry;
  Join(0, first);
  ASSERT_TRUE(Eventually([&] { return first.ran.load(); }));
  Join(1, duplicate);  // polls while the first runs
  stores_[0]->Finish(key_, Response(200, "ticket 1"), /*remember=*/true);
  Answer original = first.answer.Get();
  ASSERT_TRUE(original.ok());
  EXPECT_FALSE(IsReplay(*original));
  Answer waited = duplicate.answer.Get();
  ASSERT_TRUE(waited.ok()) << waited.status();
  EXPECT_EQ(waited->body, "ticket 1");
  EXPECT_TRUE(IsReplay(*waited));
  EXPECT_FALSE(duplicate.ran.load());
  Join(2, retry);
  Answer replayed = retry.answer.Get();
  ASSERT_TRUE(replayed.ok());
  EXPECT_EQ(replayed->body, "ticket 1");
  EXPECT_FALSE(retry.ran.load());
  absl::StatusOr<RedisReply> ttl = RunCommand(*clients_[0], {"PTTL", SharedKey("reply", "org-1\nidem-1")});
  ASSERT_TRUE(ttl.ok());
  EXPECT_GT(ttl->integer, absl::ToInt64Milliseconds(options_.ttl - absl::Minutes(1)));
}

TEST_F(RedisReplyCacheTest, RepliesNotRememberedOrTooLargeLetTheRetryRun) {
  options_.max_reply_bytes = 8;
  RedisReplyCache small(*clients_[0], options_);
  for (const auto& [reply, remember] : {std::pair{Response(500, "retry me"), false},
                                        std::pair{Response(200, "far more than eight bytes"), true}}) {
    Outcome first, retry;
    small.Join(key_, absl::Now() + absl::Seconds(5), first.answer.Callback(), [&first] { first.ran = true; });
    ASSERT_TRUE(Eventually([&] { return first.ran.load(); }));
    small.Finish(key_, reply, remember);
    ASSERT_TRUE(first.answer.Get().ok());
    Join(1, retry);
    ASSERT_TRUE(Eventually([&] { return retry.ran.load(); })) << "the retry runs again";
    stores_[1]->Finish(key_, Response(200, "x"), /*remember=*/false);
    ASSERT_TRUE(retry.answer.Get().ok());
  }
}

TEST_F(RedisReplyCacheTest, ADuplicateStillWaitingAtItsDeadlineIsToldToRetry) {
  Outcome first, impatient;
  Join(0, first);
  ASSERT_TRUE(Eventually([&] { return first.ran.load(); }));
  Join(1, impatient, absl::Milliseconds(200));
  Answer answer = impatient.answer.Get();
  ASSERT_FALSE(answer.ok());
  EXPECT_EQ(answer.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(GetErrorInfo(answer.status())->reason(), kReasonDuplicateInFlight);
  EXPECT_FALSE(impatient.ran.load());
  stores_[0]->Finish(key_, Response(200, "done"), true);
  ASSERT_TRUE(first.answer.Get().ok());
}

TEST_F(RedisReplyCacheTest, TheClaimOfAReplicaThatDiedExpiresAndItsLateReplyChangesNothing) {
  options_.lease_margin = absl::ZeroDuration();
  RedisReplyCache short_lease(*clients_[0], options_);
  Outcome dead, next, retry;
  short_lease.Join(key_, absl::Now() + absl::Milliseconds(150), dead.answer.Callback(), [&dead] { dead.ran = true; });
  ASSERT_TRUE(Eventually([&] { return dead.ran.load(); }));
  Join(1, next);  // waits, then claims once the lease ran out
  ASSERT_TRUE(Eventually([&] { return next.ran.load(); }));
  short_lease.Finish(key_, Response(200, "stale"), true);  // not its claim any more
  ASSERT_TRUE(dead.answer.Get().ok());
  stores_[1]->Finish(key_, Response(200, "fresh"), true);
  ASSERT_TRUE(next.answer.Get().ok());
  Join(2, retry);
  Answer replayed = retry.answer.Get();
  ASSERT_TRUE(replayed.ok());
  EXPECT_EQ(replayed->body, "fresh");
}

TEST_F(RedisReplyCacheTest, WithoutRedisNothingRunsAndTheWaiterIsTold) {
  server_->Kill();
  ASSERT_TRUE(Eventually([&] { return !clients_[0]->up(); }));
  Outcome refused;
  Join(0, refused);
  Answer answer = refused.answer.Get();
  ASSERT_FALSE(answer.ok());
  EXPECT_EQ(GetErrorInfo(answer.status())->reason(), kReasonSharedStateUnavailable);
  EXPECT_FALSE(refused.ran.load());
}

}  // namespace
}  // namespace halopsa::redis

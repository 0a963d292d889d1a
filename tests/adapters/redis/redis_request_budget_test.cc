#include "adapters/redis/redis_request_budget.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/error_mapping.h"
#include "tests/adapters/redis/redis_test_support.h"

namespace halopsa::redis {
namespace {

using ::halopsa::testing::RedisServerProcess;
using testing::Awaited;
using testing::Eventually;
using testing::IoThreads;
using testing::OptionsFor;
using testing::RunCommand;

// Two replicas: each its own client, limiter fallback and budget, one Redis.
class RedisRequestBudgetTest : public ::testing::Test {
 protected:
  struct Replica {
    std::unique_ptr<RedisClient> client;
    std::unique_ptr<TenantRateLimiter> fallback;
    std::unique_ptr<RedisRequestBudget> budget;
  };

  // Commands in flight end while what their callbacks touch still exists.
  void TearDown() override {
    for (Replica& replica : replicas_) {
      if (replica.client) replica.client->Close();
    }
  }

  void SetUp() override {
    absl::StatusOr<std::unique_ptr<RedisServerProcess>> server = RedisServerProcess::Start();
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    for (Replica& replica : replicas_) {
      replica.client = RedisClient::Start(io_.io(), OptionsFor(server_->url()));
      ASSERT_TRUE(Eventually([&] { return replica.client->up(); }));
      replica.fallback = std::make_unique<TenantRateLimiter>(options_);
      replica.budget = std::make_unique<RedisRequestBudget>(*replica.client, options_, *replica.fallback);
    }
  }

  absl::StatusOr<absl::Time> Reserve(int replica, absl::Time deadline = absl::InfiniteFuture()) {
    Awaited<absl::StatusOr<absl::Time>> slot;
    replicas_[replica].budget->Reserve(tenant_, deadline, slot.Callback());
    return slot.Get();
  }

  RateLimitOptions options_{.max_requests = 3, .window = absl::Seconds(20), .max_waiting = 4};
  const std::string tenant_ = RateLimitKey("https://acme.halopsa.com", "client");
  IoThreads io_;
  std::unique_ptr<RedisServerProcess> server_;
  Replica replicas_[2];
};

TEST_F(RedisRequestBudgetTest, TheLimitHoldsAcrossReplicasAndTheNextSlotWaitsForTheWindow) {
  const absl::Time start = absl::Now();
  for (int i = 0; i < 3; ++i) {
    absl::StatusOr<absl::Time> slot = Reserve(i % 2);
    ASSERT_TRUE(slot.ok()) << slot.status();
    EXPECT_LE(*slot, absl::Now() + absl::Milliseconds(2)) << "within the limit: now";
  }
  absl::StatusOr<absl::Time> fourth = Reserve(1);
  ASSERT_TRUE(fourth.ok());
  EXPECT_GE(*fourth, start + options_.window - absl::Milliseconds(5)) << "after the first slot left the window";
  EXPECT_LE(*fourth, absl::Now() + options_.window + absl::Milliseconds(5));
  absl::StatusOr<RedisReply> ttl = RunCommand(*replicas_[0].client, {"PTTL", SharedKey("budget", tenant_) + ":slots"});
  ASSERT_TRUE(ttl.ok());
  EXPECT_GT(ttl->integer, 0) << "every key expires";
  EXPECT_LE(ttl->integer, absl::ToInt64Milliseconds(2 * options_.window));
}

TEST_F(RedisRequestBudgetTest, ASlotAfterTheDeadlineIsRefusedWithRetryInfoAndNotTaken) {
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(Reserve(0).ok());
  absl::StatusOr<absl::Time> refused = Reserve(1, absl::Now() + absl::Seconds(2));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(GetErrorInfo(refused.status())->reason(), kReasonUpstreamRateLimited);
  std::optional<absl::Duration> retry = GetRetryDelay(refused.status());
  ASSERT_TRUE(retry.has_value());
  EXPECT_GT(*retry, absl::Seconds(15));
  absl::StatusOr<RedisReply> slots = RunCommand(*replicas_[0].client, {"ZCARD", SharedKey("budget", tenant_) + ":slots"});
  EXPECT_EQ(slots->integer, 3) << "the refused call took no slot";
}

TEST_F(RedisRequestBudgetTest, WaitingCallsAreBoundedFleetWide) {
  for (int i = 0; i < 3 + 4; ++i) ASSERT_TRUE(Reserve(i % 2).ok()) << i;
  absl::StatusOr<absl::Time> shed = Reserve(0);
  ASSERT_FALSE(shed.ok());
  EXPECT_EQ(shed.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(GetErrorInfo(shed.status())->reason(), kReasonOverloaded);
}

TEST_F(RedisRequestBudgetTest, APauseOnOneReplicaHoldsTheOtherBack) {
  replicas_[0].budget->PauseUntil(tenant_, absl::Now() + absl::Seconds(8));
  ASSERT_TRUE(Eventually([&] {
    absl::StatusOr<RedisReply> pause = RunCommand(*replicas_[1].client, {"EXISTS", SharedKey("budget", tenant_) + ":pause"});
    return pause.ok() && pause->integer == 1;
  }));
  absl::StatusOr<absl::Time> slot = Reserve(1);
  ASSERT_TRUE(slot.ok());
  EXPECT_GT(*slot, absl::Now() + absl::Seconds(6));
}

TEST_F(RedisRequestBudgetTest, WithoutRedisReservationsFallBackToThisProcess) {
  server_->Kill();
  ASSERT_TRUE(Eventually([&] { return !replicas_[0].client->up(); }));
  for (int i = 0; i < 3; ++i) {
    absl::StatusOr<absl::Time> slot = Reserve(0);
    ASSERT_TRUE(slot.ok()) << "searches must go on: " << slot.status();
    EXPECT_LE(*slot, absl::Now());
  }
  absl::StatusOr<absl::Time> fourth = Reserve(0);
  ASSERT_TRUE(fourth.ok());
  EXPECT_GT(*fourth, absl::Now() + absl::Seconds(10)) << "the local limit still holds";
}

TEST_F(RedisRequestBudgetTest, ZeroTurnsTheBudgetOffWithoutAskingRedis) {
  options_.max_requests = 0;
  RedisRequestBudget off(*replicas_[0].client, options_, *replicas_[0].fallback);
  const uint64_t sent = replicas_[0].client->commands_sent();
  for (int i = 0; i < 10; ++i) {
    Awaited<absl::StatusOr<absl::Time>> slot;
    off.Reserve(tenant_, absl::InfiniteFuture(), slot.Callback());
    ASSERT_TRUE(slot.Get().ok());
  }
  EXPECT_EQ(replicas_[0].client->commands_sent(), sent);
}

}  // namespace
}  // namespace halopsa::redis

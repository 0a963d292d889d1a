#include "adapters/redis/redis_request_budget.h"

#include <atomic>
#include <iostream>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/synchronization/mutex.h"
#include "adapters/halopsa/fair_budget.h"
#include "adapters/net/scheduler.h"
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

// Counts the tasks a budget hands to the scheduler: each is a timer round
// on the io_context before the attempt it starts.
class CountingScheduler : public net::Scheduler {
 public:
  explicit CountingScheduler(net::Scheduler& inner) : inner_(inner) {}
  void RunAt(absl::Time when, Task task) override {
    rounds_.fetch_add(1);
    inner_.RunAt(when, std::move(task));
  }
  int rounds() const { return rounds_.load(); }

 private:
  net::Scheduler& inner_;
  std::atomic<int> rounds_{0};
};

// Two replicas: each its own client, limiter fallback and slots, one Redis.
class RedisRequestBudgetTest : public ::testing::Test {
 protected:
  struct Replica {
    std::unique_ptr<RedisClient> client;
    std::unique_ptr<TenantRateLimiter> fallback;
    std::unique_ptr<RedisRequestBudget> slots;
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
      replica.slots = std::make_unique<RedisRequestBudget>(*replica.client, options_, *replica.fallback);
    }
  }

  absl::StatusOr<SlotAnswer> Try(int replica, const std::string& org, absl::Time deadline = absl::InfiniteFuture()) {
    Awaited<absl::StatusOr<SlotAnswer>> answer;
    replicas_[replica].slots->TryReserve(tenant_, org, deadline, answer.Callback());
    return answer.Get();
  }

  // A slot that must be granted.
  absl::Time Slot(int replica, const std::string& org) {
    absl::StatusOr<SlotAnswer> answer = Try(replica, org);
    EXPECT_TRUE(answer.ok()) << answer.status();
    if (!answer.ok()) return absl::InfinitePast();
    EXPECT_EQ(answer->kind, SlotAnswer::Kind::kReserved) << org;
    return answer->at;
  }

  // 40 per 20 s: a burst of 2, then one slot per 20/39 s.
  RateLimitOptions options_{.max_requests = 40, .window = absl::Seconds(20), .max_waiting = 4};
  const absl::Duration spacing_ = SpacingOf(options_);
  const absl::Duration slack_ = absl::Milliseconds(50);  // Redis' clock against this one, and the round trip
  const std::string tenant_ = RateLimitKey("https://acme.halopsa.com", "client");
  IoThreads io_;
  std::unique_ptr<RedisServerProcess> server_;
  Replica replicas_[2];
};

TEST_F(RedisRequestBudgetTest, TheBurstAndThePaceHoldAcrossReplicas) {
  const absl::Time start = absl::Now();
  EXPECT_LE(Slot(0, "o1"), absl::Now() + slack_);
  EXPECT_LE(Slot(1, "o2"), absl::Now() + slack_);
  const absl::Time third = Slot(0, "o3");
  EXPECT_GE(third, start + spacing_ - slack_);
  EXPECT_LE(third, absl::Now() + spacing_ + slack_);
  const absl::Time fourth = Slot(1, "o4");
  EXPECT_NEAR(absl::ToDoubleMilliseconds(fourth - third), absl::ToDoubleMilliseconds(spacing_),
              absl::ToDoubleMilliseconds(slack_));
  absl::StatusOr<RedisReply> ttl = RunCommand(*replicas_[0].client, {"PTTL", BudgetKey(tenant_, "pace")});
  ASSERT_TRUE(ttl.ok());
  EXPECT_GT(ttl->integer, 0) << "every key expires";
  EXPECT_LE(ttl->integer, absl::ToInt64Milliseconds(4 * spacing_) + 2);
}

TEST_F(RedisRequestBudgetTest, AnOrgsShareOfFutureSlotsIsFleetWide) {
  Slot(0, "burst1");
  Slot(0, "burst2");
  const absl::Time held = Slot(0, "storm");

  absl::StatusOr<SlotAnswer> full = Try(1, "storm");

  ASSERT_TRUE(full.ok()) << full.status();
  EXPECT_EQ(full->kind, SlotAnswer::Kind::kOrgFull);
  EXPECT_NEAR(absl::ToDoubleMilliseconds(full->at - held), 0, absl::ToDoubleMilliseconds(slack_)) << "its earliest slot, seen from the other replica";
  EXPECT_GT(full->next_free, held);
  EXPECT_EQ(full->active_orgs, 1);
  EXPECT_GT(Slot(1, "other"), held) << "another org is not held back";
}

TEST_F(RedisRequestBudgetTest, ASlotAfterTheDeadlineIsRefusedWithRetryInfoAndNotTaken) {
  Slot(0, "o1");
  Slot(0, "o2");
  absl::StatusOr<SlotAnswer> refused = Try(1, "o3", absl::Now() + absl::Milliseconds(100));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(GetErrorInfo(refused.status())->reason(), kReasonUpstreamRateLimited);
  std::optional<absl::Duration> retry = GetRetryDelay(refused.status());
  ASSERT_TRUE(retry.has_value());
  EXPECT_GT(*retry, spacing_ - slack_);
  absl::StatusOr<RedisReply> orgs = RunCommand(*replicas_[0].client, {"EXISTS", BudgetKey(tenant_, "orgs")});
  EXPECT_EQ(orgs->integer, 0) << "the refused call took no slot";
}

TEST_F(RedisRequestBudgetTest, WaitingRequestsAreBoundedFleetWide) {
  Slot(0, "o1");
  Slot(1, "o2");
  for (int i = 0; i < 4; ++i) Slot(i % 2, absl::StrCat("waiting", i));
  absl::StatusOr<SlotAnswer> shed = Try(0, "one-more");
  ASSERT_FALSE(shed.ok());
  EXPECT_EQ(shed.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(GetErrorInfo(shed.status())->reason(), kReasonOverloaded);
}

TEST_F(RedisRequestBudgetTest, FairnessIsFleetWide) {
  options_.max_waiting = 1000;
  options_.max_waiting_per_org = 1000;
  std::vector<std::unique_ptr<FairRequestBudget>> budgets;
  net::IoContextScheduler timers(io_.io());  // destroyed first: its waiting tasks run into the budgets
  for (Replica& replica : replicas_) {
    replica.slots = std::make_unique<RedisRequestBudget>(*replica.client, options_, *replica.fallback);
    budgets.push_back(std::make_unique<FairRequestBudget>(*replica.slots, timers, options_));
  }
  absl::Mutex mu;
  int storm_answers = 0;
  for (int i = 0; i < 40; ++i) {
    budgets[0]->Reserve(tenant_, "storm", absl::InfiniteFuture(), [&](absl::StatusOr<absl::Time>) {
      absl::MutexLock lock(&mu);
      ++storm_answers;
    });
  }
  // The storm has spent the burst and holds its future slot.
  ASSERT_TRUE(Eventually([&] { return budgets[0]->waiting() > 0 && budgets[0]->waiting() < 38; }));
  const absl::Time asked = absl::Now();
  Awaited<absl::StatusOr<absl::Time>> quiet;
  budgets[1]->Reserve(tenant_, "quiet", absl::InfiniteFuture(), quiet.Callback());
  absl::StatusOr<absl::Time> slot = quiet.Get();

  ASSERT_TRUE(slot.ok()) << slot.status();
  EXPECT_LE(*slot - asked, 2 * spacing_ + slack_) << "behind one slot of the storm, not behind its queue";
  budgets[0]->StopWaiting();
  for (Replica& replica : replicas_) replica.client->Close();  // attempts in flight end while the budgets exist
  absl::MutexLock lock(&mu);
  EXPECT_EQ(storm_answers, 40);
}

// How many times Redis ran `command` since the last CONFIG RESETSTAT.
int64_t CallsOf(RedisClient& client, const std::string& command) {
  absl::StatusOr<RedisReply> info = RunCommand(client, {"INFO", "commandstats"});
  EXPECT_TRUE(info.ok()) << info.status();
  if (!info.ok()) return -1;
  const std::string prefix = absl::StrCat("cmdstat_", command, ":calls=");
  const size_t at = info->text.find(prefix);
  if (at == std::string::npos) return 0;
  const size_t begin = at + prefix.size();
  int64_t calls = -1;
  EXPECT_TRUE(absl::SimpleAtoi(info->text.substr(begin, info->text.find(',', begin) - begin), &calls));
  return calls;
}

// The benchmark's case: one org, a budget far above its rate. Concurrent
// requests must not queue behind each other's round trip: each takes one
// script, sent together, and none waits for a timer round.
TEST_F(RedisRequestBudgetTest, ConcurrentRequestsOfOneOrgBelowThePaceTakeOneScriptEachAndNoTimerRound) {
  options_ = {.max_requests = 1000000, .window = absl::Seconds(1)};
  Replica& replica = replicas_[0];
  replica.slots = std::make_unique<RedisRequestBudget>(*replica.client, options_, *replica.fallback);
  net::IoContextScheduler timers(io_.io());
  CountingScheduler counted(timers);
  FairRequestBudget budget(*replica.slots, counted, options_);
  Awaited<absl::StatusOr<absl::Time>> warm;  // loads the script
  budget.Reserve(tenant_, "org", absl::InfiniteFuture(), warm.Callback());
  ASSERT_TRUE(warm.Get().ok());
  ASSERT_TRUE(RunCommand(*replica.client, {"CONFIG", "RESETSTAT"}).ok());
  const uint64_t writes_before = replica.client->round_trips();

  constexpr int kRequests = 16;
  absl::Mutex mu;
  std::vector<absl::StatusOr<absl::Time>> slots;
  for (int i = 0; i < kRequests; ++i) {
    budget.Reserve(tenant_, "org", absl::InfiniteFuture(), [&](absl::StatusOr<absl::Time> slot) {
      absl::MutexLock lock(&mu);
      slots.push_back(std::move(slot));
    });
  }
  ASSERT_TRUE(Eventually([&] {
    absl::MutexLock lock(&mu);
    return slots.size() == kRequests;
  }));

  for (const absl::StatusOr<absl::Time>& slot : slots) {
    ASSERT_TRUE(slot.ok()) << slot.status();
    EXPECT_LE(*slot, absl::Now()) << "far below the pace: no wait";
  }
  EXPECT_EQ(CallsOf(*replica.client, "evalsha"), kRequests) << "one reservation script per request";
  EXPECT_EQ(counted.rounds(), 0) << "no request waited for another's answer and a timer round";
  std::cout << "Redis writes for " << kRequests << " concurrent requests: "
            << replica.client->round_trips() - writes_before << std::endl;
}

TEST_F(RedisRequestBudgetTest, APauseOnOneReplicaHoldsTheOtherBack) {
  replicas_[0].slots->PauseUntil(tenant_, absl::Now() + absl::Seconds(8));
  ASSERT_TRUE(Eventually([&] {
    absl::StatusOr<RedisReply> pause = RunCommand(*replicas_[1].client, {"EXISTS", BudgetKey(tenant_, "pause")});
    return pause.ok() && pause->integer == 1;
  }));
  EXPECT_GT(Slot(1, "o"), absl::Now() + absl::Seconds(6));
}

TEST_F(RedisRequestBudgetTest, WithoutRedisAttemptsFallBackToThisProcess) {
  server_->Kill();
  ASSERT_TRUE(Eventually([&] { return !replicas_[0].client->up(); }));
  for (int i = 0; i < 2; ++i) {
    absl::StatusOr<SlotAnswer> answer = Try(0, absl::StrCat("o", i));
    ASSERT_TRUE(answer.ok()) << "searches must go on: " << answer.status();
    EXPECT_LE(answer->at, absl::Now());
  }
  EXPECT_GT(Slot(0, "o3"), absl::Now() + spacing_ / 2) << "the local pace still holds";
}

TEST_F(RedisRequestBudgetTest, ZeroTurnsTheBudgetOffWithoutAskingRedis) {
  options_.max_requests = 0;
  RedisRequestBudget off(*replicas_[0].client, options_, *replicas_[0].fallback);
  const uint64_t sent = replicas_[0].client->commands_sent();
  for (int i = 0; i < 10; ++i) {
    Awaited<absl::StatusOr<SlotAnswer>> answer;
    off.TryReserve(tenant_, "o", absl::InfiniteFuture(), answer.Callback());
    ASSERT_TRUE(answer.Get().ok());
  }
  EXPECT_EQ(replicas_[0].client->commands_sent(), sent);
}

}  // namespace
}  // namespace halopsa::redis

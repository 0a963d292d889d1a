#include "adapters/halopsa/fair_budget.h"

#include <deque>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "adapters/halopsa/rate_limiter.h"
#include "server/error_mapping.h"
#include "server/metrics.h"

namespace halopsa {
namespace {

// Runs tasks in time order, moving the test's clock to each task's time.
class SimulatedScheduler : public net::Scheduler {
 public:
  explicit SimulatedScheduler(absl::Time& now) : now_(now) {}

  void RunAt(absl::Time when, Task task) override { tasks_.emplace(std::max(when, now_), std::move(task)); }

  // Runs every task due by `until`, then leaves the clock at `until`.
  void RunUntil(absl::Time until) {
    while (!tasks_.empty() && tasks_.begin()->first <= until) {
      auto next = tasks_.begin();
      now_ = next->first;
      Task task = std::move(next->second);
      tasks_.erase(next);
      task();
    }
    now_ = until;
  }

  size_t waiting() const { return tasks_.size(); }

 private:
  absl::Time& now_;
  std::multimap<absl::Time, Task> tasks_;
};

// A slot source whose answers the test gives, later, as Redis' come.
class HeldSlots : public SlotSource {
 public:
  void TryReserve(const std::string&, const std::string&, absl::Time, Answered done) override {
    pending.push_back(std::move(done));
  }
  void PauseUntil(const std::string&, absl::Time) override {}

  // Answers the oldest attempt under way.
  void Answer(absl::StatusOr<SlotAnswer> answer) {
    Answered done = std::move(pending.front());
    pending.pop_front();
    done(std::move(answer));
  }

  std::deque<Answered> pending;
};

class FairRequestBudgetTest : public ::testing::Test {
 protected:
  // 60 per minute: a burst of 3, then one slot per 60/58 s.
  RateLimitOptions Options() {
    RateLimitOptions options;
    options.max_requests = 60;
    options.window = absl::Minutes(1);
    options.max_waiting_per_org = 500;
    options.clock = [this] { return now_; };
    return options;
  }

  // One request of `org`; its answer lands in `answers_[org]`, in order.
  void Request(const std::string& org, absl::Time deadline = absl::InfiniteFuture()) {
    budget_.Reserve(tenant_, org, deadline, [this, org](absl::StatusOr<absl::Time> slot) {
      answers_[org].push_back(std::move(slot));
      if (slot.ok()) granted_.emplace_back(*slot, org);
    });
  }

  // The orgs of the slots granted in [from, to), in slot order.
  std::vector<std::string> OrgsOfSlots(absl::Time from, absl::Time to) {
    std::vector<std::pair<absl::Time, std::string>> sorted = granted_;
    std::sort(sorted.begin(), sorted.end());
    std::vector<std::string> orgs;
    for (const auto& [slot, org] : sorted) {
      if (slot >= from && slot < to) orgs.push_back(org);
    }
    return orgs;
  }

  absl::Time now_ = absl::FromUnixSeconds(1'800'000'000);
  const absl::Time start_ = now_;
  const std::string tenant_ = RateLimitKey("https://acme.halopsa.com", "client-id-1");
  SimulatedScheduler scheduler_{now_};
  MetricsRegistry registry_;
  ServiceMetrics metrics_{registry_};
  TenantRateLimiter slots_{Options()};
  FairRequestBudget budget_{slots_, scheduler_, Options(), &metrics_};
  const absl::Duration spacing_ = SpacingOf(Options());
  std::map<std::string, std::vector<absl::StatusOr<absl::Time>>> answers_;
  std::vector<std::pair<absl::Time, std::string>> granted_;
};

TEST_F(FairRequestBudgetTest, OneOrgsStormDelaysAnotherOrgsRequestByAFewSlotsOnly) {
  for (int i = 0; i < 200; ++i) Request("storm");
  scheduler_.RunUntil(start_ + absl::Seconds(20));
  const absl::Time asked = now_;

  Request("quiet");
  scheduler_.RunUntil(start_ + absl::Seconds(30));

  ASSERT_EQ(answers_["quiet"].size(), 1u);
  ASSERT_TRUE(answers_["quiet"][0].ok()) << answers_["quiet"][0].status();
  // First come, first served would put it behind ~180 of the storm's.
  EXPECT_LE(*answers_["quiet"][0] - asked, 2 * spacing_);
  // The storm's own requests keep their order and the pace.
  const std::vector<absl::StatusOr<absl::Time>>& storm = answers_["storm"];
  ASSERT_GE(storm.size(), 20u);
  for (size_t i = 1; i < storm.size(); ++i) {
    ASSERT_TRUE(storm[i].ok());
    EXPECT_GE(*storm[i], *storm[i - 1]) << i;
  }
}

TEST_F(FairRequestBudgetTest, BusyOrgsTakeTurnsAndANewcomerWaitsAtMostOneTurn) {
  for (int i = 0; i < 100; ++i) {
    Request("a");
    Request("c");
  }
  scheduler_.RunUntil(start_ + absl::Seconds(10));
  std::vector<std::string> turns = OrgsOfSlots(start_ + absl::Seconds(3), start_ + absl::Seconds(10));
  ASSERT_GE(turns.size(), 6u);
  for (size_t i = 1; i < turns.size(); ++i) EXPECT_NE(turns[i], turns[i - 1]) << "turn " << i;

  const absl::Time asked = now_;
  Request("b");
  scheduler_.RunUntil(start_ + absl::Seconds(20));

  ASSERT_EQ(answers_["b"].size(), 1u);
  ASSERT_TRUE(answers_["b"][0].ok());
  EXPECT_LE(*answers_["b"][0] - asked, 3 * spacing_) << "at most one slot of each busy org ahead";
}

TEST_F(FairRequestBudgetTest, ARequestItsOrgsQueueCannotServeInTimeIsRefusedAtOnceWithTheEstimate) {
  const absl::Time deadline = start_ + absl::Seconds(10);
  for (int i = 0; i < 20; ++i) Request("storm", deadline);

  // Nothing ran: every answer below came at once.
  std::vector<absl::StatusOr<absl::Time>>& answers = answers_["storm"];
  ASSERT_FALSE(answers.empty());
  size_t served = 0;
  while (served < answers.size() && answers[served].ok()) ++served;
  ASSERT_LT(served, answers.size());
  const absl::Status& refused = answers[served].status();
  EXPECT_EQ(refused.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(GetErrorInfo(refused)->reason(), kReasonUpstreamRateLimited);
  std::optional<absl::Duration> retry = GetRetryDelay(refused);
  ASSERT_TRUE(retry.has_value());
  EXPECT_GE(start_ + *retry, deadline) << "the estimate is why it was refused";
  EXPECT_LE(start_ + *retry, deadline + 2 * spacing_) << "and it is the queue's, not a guess";
  const size_t queued = budget_.waiting();
  EXPECT_EQ(answers.size() + queued, 20u);

  // Those that were queued get slots before their deadline.
  scheduler_.RunUntil(deadline);
  EXPECT_EQ(budget_.waiting(), 0u);
  for (const absl::StatusOr<absl::Time>& answer : answers) {
    if (answer.ok()) {
      EXPECT_LT(*answer, deadline);
    }
  }
  EXPECT_GE(std::count_if(answers.begin(), answers.end(), [](const auto& a) { return a.ok(); }), 9);
}

TEST_F(FairRequestBudgetTest, QueuesAreBoundedPerOrgAndPerTenant) {
  RateLimitOptions options = Options();
  options.max_waiting_per_org = 2;
  options.max_waiting = 3;
  FairRequestBudget budget(slots_, scheduler_, options);
  std::vector<absl::Status> refusals;
  auto request = [&](const std::string& org) {
    budget.Reserve(tenant_, org, absl::InfiniteFuture(), [&](absl::StatusOr<absl::Time> slot) {
      if (!slot.ok()) refusals.push_back(slot.status());
    });
  };
  for (int i = 0; i < 4; ++i) request("a");  // a burst of 3 goes now, the 4th holds a's future slot
  request("a");
  request("a");
  EXPECT_TRUE(refusals.empty());
  request("a");
  ASSERT_EQ(refusals.size(), 1u) << "the org's queue is full";
  request("b");  // b's first request takes its own future slot
  request("b");  // waits: the tenant now has 3 waiting
  ASSERT_EQ(refusals.size(), 1u);
  request("c");
  ASSERT_EQ(refusals.size(), 2u) << "the tenant's queue is full";
  for (const absl::Status& refusal : refusals) {
    EXPECT_EQ(refusal.code(), absl::StatusCode::kResourceExhausted);
    EXPECT_EQ(GetErrorInfo(refusal)->reason(), kReasonOverloaded);
  }
}

TEST_F(FairRequestBudgetTest, MetricsShowQueueDepthAndWaitPerTenantWithoutTheClientId) {
  for (int i = 0; i < 10; ++i) Request("storm");
  const std::string label = "https://acme.halopsa.com";
  EXPECT_EQ(metrics_.budget_queue_depth.With({label}).value(), 6) << "3 at once, 1 holding a future slot, 6 queued";
  scheduler_.RunUntil(start_ + absl::Minutes(1));
  EXPECT_EQ(metrics_.budget_queue_depth.With({label}).value(), 0);
  const Histogram::Snapshot waits = metrics_.budget_wait.With({label}).snapshot();
  EXPECT_EQ(waits.count, 10u);
  EXPECT_NEAR(waits.sum, absl::ToDoubleSeconds(spacing_) * (1 + 2 + 3 + 4 + 5 + 6 + 7), 0.01);
  EXPECT_EQ(registry_.Render().find("client-id-1"), std::string::npos);
}

TEST_F(FairRequestBudgetTest, StopWaitingEndsQueuedRequestsAndRefusesLaterOnes) {
  for (int i = 0; i < 6; ++i) Request("storm");
  ASSERT_EQ(budget_.waiting(), 2u);

  budget_.StopWaiting();
  scheduler_.RunUntil(start_ + absl::Minutes(1));
  Request("late");

  ASSERT_EQ(answers_["storm"].size(), 6u);
  for (int i = 4; i < 6; ++i) EXPECT_EQ(GetErrorInfo(answers_["storm"][i].status())->reason(), kReasonShuttingDown);
  ASSERT_EQ(answers_["late"].size(), 1u);
  EXPECT_EQ(GetErrorInfo(answers_["late"][0].status())->reason(), kReasonShuttingDown);
  EXPECT_EQ(budget_.waiting(), 0u);
}

// The benchmark's case (a budget far above the load): no request of an org
// waits for another's round trip and a timer round.
TEST_F(FairRequestBudgetTest, RequestsOfAnOrgGettingSlotsAtOnceAttemptTogether) {
  HeldSlots held;
  FairRequestBudget budget(held, scheduler_, Options());
  std::vector<int> served;
  for (int i = 0; i < 20; ++i) {
    budget.Reserve(tenant_, "a", absl::InfiniteFuture(), [&, i](absl::StatusOr<absl::Time> slot) {
      EXPECT_TRUE(slot.ok() && *slot == now_) << i;
      served.push_back(i);
    });
  }
  ASSERT_EQ(held.pending.size(), 16u) << "16 attempts at once, the rest after them";

  for (int i = 0; i < 16; ++i) held.Answer(SlotAnswer{.at = now_});
  EXPECT_EQ(scheduler_.waiting(), 1u) << "one task starts the other four";
  scheduler_.RunUntil(now_);
  ASSERT_EQ(held.pending.size(), 4u);
  while (!held.pending.empty()) held.Answer(SlotAnswer{.at = now_});

  EXPECT_EQ(scheduler_.waiting(), 0u);
  EXPECT_EQ(budget.waiting(), 0u);
  EXPECT_THAT(served, ::testing::ElementsAre(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19));
}

// Once the org holds its future slot, the others take turns again, first
// come first served: one attempt or timer at a time.
TEST_F(FairRequestBudgetTest, WhenThePaceSetsInTheOrgsRequestsTakeTurnsAgain) {
  HeldSlots held;
  FairRequestBudget budget(held, scheduler_, Options());
  std::vector<std::pair<int, absl::Time>> served;
  auto request = [&](int i) {
    budget.Reserve(tenant_, "a", absl::InfiniteFuture(), [&, i](absl::StatusOr<absl::Time> slot) {
      ASSERT_TRUE(slot.ok()) << slot.status();
      served.emplace_back(i, *slot);
    });
  };
  for (int i = 0; i < 3; ++i) request(i);
  ASSERT_EQ(held.pending.size(), 3u);
  const absl::Time held_slot = now_ + spacing_;
  held.Answer(SlotAnswer{.at = held_slot});
  const SlotAnswer full{SlotAnswer::Kind::kOrgFull, held_slot, held_slot + spacing_, 1};
  held.Answer(full);
  held.Answer(full);
  request(3);

  EXPECT_TRUE(held.pending.empty()) << "the newcomer waits for the org's turn";
  EXPECT_EQ(scheduler_.waiting(), 1u) << "one timer for the org, not one per answer";
  scheduler_.RunUntil(held_slot);
  ASSERT_EQ(held.pending.size(), 1u) << "one attempt at the turn";
  held.Answer(SlotAnswer{.at = held_slot + spacing_});
  scheduler_.RunUntil(held_slot);
  ASSERT_EQ(held.pending.size(), 1u);
  held.Answer(SlotAnswer{.at = held_slot + 2 * spacing_});

  ASSERT_EQ(served.size(), 3u);
  EXPECT_EQ(served[1], std::make_pair(1, held_slot + spacing_)) << "in arrival order";
  EXPECT_EQ(served[2], std::make_pair(2, held_slot + 2 * spacing_));
  EXPECT_EQ(budget.waiting(), 1u);
}

TEST_F(FairRequestBudgetTest, ZeroTurnsTheBudgetOff) {
  RateLimitOptions options = Options();
  options.max_requests = 0;
  FairRequestBudget budget(slots_, scheduler_, options);
  int now_slots = 0;
  for (int i = 0; i < 100; ++i) {
    budget.Reserve(tenant_, "a", absl::InfiniteFuture(), [&](absl::StatusOr<absl::Time> slot) {
      now_slots += slot.ok() && *slot == now_ ? 1 : 0;
    });
  }
  EXPECT_EQ(now_slots, 100);
}

}  // namespace
}  // namespace halopsa

// The fault-injection suite: thousands of mixed actions, signed and gzipped
// as LimaCharlie sends them, through the real gateway and gRPC server to
// the simulator over loopback TLS, while the simulator fails about a fifth
// of upstream requests (errors and dropped connections before and after
// doing the work, 429 windows, revoked tokens, latency, a slow token
// endpoint). LimaCharlie's retry behaviour is imitated: a 500 envelope is
// delivered again with the same idempotency key. Afterwards the
// simulator's state must hold every ticket, note and link exactly once.
// Each test runs twice: with the state in process, and in a real Redis.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>

#include <cstdio>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "app/server_app.h"
#include "simulator/halo_simulator.h"
#include "tests/testing/lc_over_http.h"
#include "tests/testing/lc_test_client.h"
#include "tests/testing/loopback_config.h"
#include "tests/testing/loopback_stack.h"
#include "tests/testing/redis_server_process.h"
#include "tests/testing/test_http_client.h"
#include "tests/testing/test_support.h"

namespace halopsa {
namespace {

using lc::testing::Config;
using lc::testing::Delivered;
using lc::testing::FakeLimaCharlie;
using lc::testing::Reply;
using lc::testing::TestOrg;

constexpr char kSigningSecret[] = "fault-suite-signing-secret";
constexpr char kClientId[] = "fault-suite-client";
constexpr char kHaloSecret[] = "fault-suite-halo-secret";
constexpr int kActions = 3000;
constexpr int kWorkers = 16;
constexpr int kTickets = 24;  // existing tickets that notes, links and updates go to
constexpr int kHosts = 40;
// The storm's own bound (it takes about 18 s), with the teardown's under
// ctest's timeout: a stack that stops answering (say, a token refresh that
// never completes) fails the test with what was left undelivered instead of
// hanging until ctest kills the binary.
constexpr absl::Duration kStormBound = absl::Seconds(60);

sim::FaultConfig SuiteFaults() {
  return sim::FaultConfig{
      .seed = 20261128,
      .latency_min = absl::ZeroDuration(),
      .latency_max = absl::Milliseconds(4),
      .token_delay = absl::Milliseconds(30),
      .rate_limit_requests = 150,
      .rate_limit_window = absl::Milliseconds(250),
      .error_before_probability = 0.06,
      .drop_before_probability = 0.05,
      .revoke_tokens_probability = 0.01,
      .error_after_probability = 0.05,
      .drop_after_probability = 0.05,
  };
}

// What one action asked for, to check the simulator's state against.
struct Action {
  std::string name;
  std::string data;
  int ticket_id = 0;     // the existing ticket it touches, if any
  std::string marker;    // summary or note text that must appear exactly once
  std::string hostname;  // link_asset_to_ticket
};

// Where the cross-call state lives (HALOPSA_REDIS_URL empty or set).
enum class SharedState { kInProcess, kRedis };

class FaultInjectionTest : public testing::LoopbackStackTest<::testing::TestWithParam<SharedState>> {
 protected:
  void SetUp() override {
    ASSERT_TRUE(StartSimulator(kClientId, kHaloSecret, /*threads=*/2));
    if (GetParam() == SharedState::kRedis) {
      auto redis = testing::RedisServerProcess::Start();
      ASSERT_TRUE(redis.ok()) << redis.status();
      redis_ = *std::move(redis);
    }
  }

  // halopsa-server's wiring with the gateway; `rate_limit` per tenant.
  ::testing::AssertionResult StartApp(RateLimitOptions rate_limit) {
    ServerConfig config = testing::LoopbackGatewayConfig(log_, kSigningSecret);
    config.rate_limit = std::move(rate_limit);
    if (redis_) config.redis_url = redis_->url();
    // Short waits keep the suite quick; the policy is the production one.
    config.retry.transient_backoff = absl::Milliseconds(5);
    config.retry.rate_limited_backoff = absl::Milliseconds(100);
    config.retry.max_backoff = absl::Seconds(1);
    return StartServer(config);
  }

  FakeLimaCharlie Lc() const { return lc::testing::LimaCharlieAt(app_->gateway_port(), kSigningSecret); }

  Config HaloConfig() const {
    return {{"instance_url", sim_->base_url()}, {"client_id", kClientId}, {"client_secret", kHaloSecret}};
  }

  // Delivers like LimaCharlie: again, same key, while the answer is a
  // retriable failure; no delivery starts after `give_up`.
  Delivered Deliver(const FakeLimaCharlie& lc, const Action& action, const std::string& key, absl::Time give_up) {
    const std::string envelope = lc::testing::RequestEnvelope(org_, action.name, action.data, HaloConfig(), key);
    return lc::testing::DeliverUntilDone([&](int) { return lc.Send(envelope); },
                                         {.give_up_after = give_up - absl::Now()});
  }

  // Delivers every action from kWorkers threads, within kStormBound; an
  // action whose turn never came has no deliveries.
  std::vector<Delivered> DeliverAll(const std::vector<Action>& actions) {
    std::vector<Delivered> outcomes(actions.size());
    std::atomic<size_t> next{0};
    const absl::Time give_up = absl::Now() + kStormBound;
    std::vector<std::thread> workers;
    for (int w = 0; w < kWorkers; ++w) {
      workers.emplace_back([&] {
        const FakeLimaCharlie lc = Lc();
        for (size_t i = next++; i < actions.size() && absl::Now() < give_up; i = next++) {
          outcomes[i] = Deliver(lc, actions[i], absl::StrCat("fault-suite-", i), give_up);
        }
      });
    }
    for (auto& worker : workers) worker.join();
    return outcomes;
  }

  // The tickets the actions go to; stops at the first that fails.
  std::vector<int> CreateTickets(int count) {
    std::vector<int> ids;
    for (int i = 0; i < count; ++i) {
      Reply reply = Lc().Send(lc::testing::RequestEnvelope(
          org_, "create_ticket", absl::StrCat(R"({"summary":"fault-suite target )", i, R"(","client_id":12,"site_id":18})"),
          HaloConfig(), absl::StrCat("target-", i)));
      if (reply.status != 200 || !reply.data()["id"].IsInt()) {
        ADD_FAILURE() << "ticket " << i << ": " << reply.status << " " << reply.body;
        break;
      }
      ids.push_back(reply.data()["id"].GetInt());
    }
    return ids;
  }

  static std::vector<Action> MixedActions(const std::vector<int>& tickets) {
    std::vector<Action> actions;
    for (int i = 0; i < kActions; ++i) {
      const int ticket = tickets[static_cast<size_t>(i) % tickets.size()];
      Action action;
      switch (i % 6) {
        case 0:
          action.name = "create_ticket";
          action.marker = absl::StrCat("fault-suite ticket ", i, ".");
          action.data = absl::StrCat(R"({"summary":")", action.marker, R"(","details":"from the fault suite","client_id":12,"site_id":18})");
          break;
        case 1:
          action.name = "add_action";
          action.ticket_id = ticket;
          action.marker = absl::StrCat("fault-suite note ", i, ".");
          action.data = absl::StrCat(R"({"ticket_id":)", ticket, R"(,"note":")", action.marker, R"(","timetaken":15})");
          break;
        case 2:
          action.name = "link_asset_to_ticket";
          action.ticket_id = ticket;
          action.hostname = absl::StrCat("fault-host-", (i / 6) % kHosts);
          action.data = absl::StrCat(R"({"ticket_id":)", ticket, R"(,"hostname":")", action.hostname,
                                     R"(","client_id":12,"site_id":18,"asset_type_id":1})");
          break;
        case 3:
          action.name = "update_ticket";
          action.ticket_id = ticket;
          action.data = absl::StrCat(R"({"id":)", ticket, R"(,"status_id":2})");
          break;
        case 4:
          action.name = "search_tickets";
          action.data = R"({"client_id":12,"page_size":5})";
          break;
        default:
          action.name = "lookup_client_site";
          action.data = R"({"type":"site","client_id":12})";
          break;
      }
      actions.push_back(std::move(action));
    }
    return actions;
  }

  TestOrg org_;
  std::unique_ptr<testing::RedisServerProcess> redis_;  // Redis mode only
};

using testing::AssetIdsOf;
using testing::CountContaining;

// How often HaloPSA holds what the actions asked for: none twice, none lost.
struct Tally {
  int duplicates = 0;
  int lost = 0;

  void Count(int copies, const std::string& what) {
    duplicates += copies > 1 ? copies - 1 : 0;
    lost += copies == 0 ? 1 : 0;
    EXPECT_EQ(copies, 1) << what;
  }
};

// Checks the simulator's tickets, notes, assets and links against `actions`.
Tally CheckHaloState(const sim::HaloSimulator& sim, const std::vector<int>& tickets, const std::vector<Action>& actions) {
  const std::vector<google::protobuf::Struct> all_tickets = sim.tickets();
  std::map<int, std::vector<google::protobuf::Struct>> notes;
  for (int ticket : tickets) notes[ticket] = sim.actions(ticket);
  const std::vector<google::protobuf::Struct> assets = sim.assets();
  Tally tally;
  for (const Action& action : actions) {
    if (action.name == "create_ticket") {
      tally.Count(CountContaining(all_tickets, "summary", action.marker), action.marker);
    } else if (action.name == "add_action") {
      tally.Count(CountContaining(notes[action.ticket_id], "note", action.marker), action.marker);
    } else if (action.name == "link_asset_to_ticket") {
      const std::vector<int> asset_ids = AssetIdsOf(assets, action.hostname);
      EXPECT_EQ(asset_ids.size(), 1u) << action.hostname;
      if (asset_ids.empty()) continue;
      const bool linked = testing::Links(sim.ticket(action.ticket_id).value_or(google::protobuf::Struct()), asset_ids[0]);
      tally.lost += linked ? 0 : 1;
      EXPECT_TRUE(linked) << action.hostname << " on ticket " << action.ticket_id;
    }
  }
  for (int i = 0; i < kHosts; ++i) {
    const int copies = static_cast<int>(AssetIdsOf(assets, absl::StrCat("fault-host-", i)).size());
    tally.duplicates += copies > 1 ? copies - 1 : 0;
  }
  return tally;
}

// The figures the README quotes.
void PrintFigures(const char* mode, absl::Duration elapsed, int deliveries, const sim::FaultCounters& faults,
                  size_t failed_kinds, const Tally& tally) {
  std::printf(
      "fault suite (%s): %d actions in %.1f s, %d deliveries (%d LimaCharlie retries); upstream %lld requests, "
      "%lld failed by injection (%.1f%%: %lld 429, %lld 5xx before, %lld dropped before, %lld 500 after, "
      "%lld dropped after), %lld token revocations, %lld delayed; failed actions %zu, duplicates %d, lost %d\n",
      mode, kActions, absl::ToDoubleSeconds(elapsed), deliveries, deliveries - kActions,
      static_cast<long long>(faults.requests), static_cast<long long>(faults.failed()),
      faults.requests > 0 ? 100.0 * static_cast<double>(faults.failed()) / static_cast<double>(faults.requests) : 0.0,
      static_cast<long long>(faults.rate_limited), static_cast<long long>(faults.errors_before),
      static_cast<long long>(faults.dropped_before), static_cast<long long>(faults.errors_after),
      static_cast<long long>(faults.dropped_after), static_cast<long long>(faults.tokens_revoked),
      static_cast<long long>(faults.delayed), failed_kinds, tally.duplicates, tally.lost);
}

TEST_P(FaultInjectionTest, EveryActionIsAnsweredNothingIsDuplicatedNoLinkIsLost) {
  // Looser than the simulator's window, so bursts meet 429 too.
  ASSERT_TRUE(StartApp(RateLimitOptions{.max_requests = 400, .window = absl::Seconds(1)}));
  const std::vector<int> tickets = CreateTickets(kTickets);
  ASSERT_EQ(tickets.size(), static_cast<size_t>(kTickets));
  const std::vector<Action> actions = MixedActions(tickets);
  ASSERT_TRUE(sim_->SetFaults(SuiteFaults()).ok());

  const absl::Time start = absl::Now();
  const std::vector<Delivered> outcomes = DeliverAll(actions);
  const absl::Duration elapsed = absl::Now() - start;
  const sim::FaultCounters faults = sim_->fault_counters();
  sim_->ClearFaults();

  // Every action answered, and answered successfully.
  int deliveries = 0;
  int undelivered = 0;
  std::map<std::string, int> failures;
  for (size_t i = 0; i < actions.size(); ++i) {
    deliveries += outcomes[i].deliveries;
    undelivered += outcomes[i].deliveries == 0 ? 1 : 0;
    if (outcomes[i].deliveries > 0 && outcomes[i].final_status != 200) {
      ++failures[absl::StrCat(actions[i].name, " -> ", outcomes[i].final_status, " ", outcomes[i].last_error)];
    }
  }
  for (const auto& [what, count] : failures) ADD_FAILURE() << count << " x " << what;
  ASSERT_EQ(undelivered, 0) << "actions never delivered within the storm's bound of "
                            << absl::FormatDuration(kStormBound) << " (" << failures.size() << " kinds of failure)";

  // Zero duplicate or lost tickets, notes, assets and links.
  const Tally tally = CheckHaloState(*sim_, tickets, actions);
  PrintFigures(redis_ ? "Redis" : "in process", elapsed, deliveries, faults, failures.size(), tally);
  EXPECT_EQ(tally.duplicates, 0);
  EXPECT_EQ(tally.lost, 0);
  // The suite means something only if the faults really hit a fifth.
  EXPECT_GE(static_cast<double>(faults.failed()), 0.18 * static_cast<double>(faults.requests));
}

// Each LimaCharlie delivery of `count` searches, from `threads` threads;
// returns the final HTTP statuses.
std::vector<int> SearchBurst(const FakeLimaCharlie& lc, const std::string& envelope, int count, int threads) {
  std::vector<int> statuses(static_cast<size_t>(count));
  std::atomic<int> next{0};
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&] {
      for (int i = next++; i < count; i = next++) statuses[static_cast<size_t>(i)] = lc.Send(envelope).status;
    });
  }
  for (auto& worker : workers) worker.join();
  return statuses;
}

TEST_P(FaultInjectionTest, ABurstQueuesForTheTenantsRateLimitInsteadOfTripping429) {
  // The simulator allows 20 per rolling second; the service keeps a margin.
  ASSERT_TRUE(StartApp(RateLimitOptions{.max_requests = 20, .window = absl::Milliseconds(1200)}));
  const std::string search = lc::testing::RequestEnvelope(org_, "search_tickets", R"({"page_size":1})", HaloConfig());
  // The token first: the limiter counts API requests only (one token an hour).
  ASSERT_EQ(Lc().Send(search).status, 200);
  ASSERT_TRUE(sim_->SetFaults(sim::FaultConfig{.rate_limit_requests = 20, .rate_limit_window = absl::Seconds(1)}).ok());

  const std::vector<int> statuses = SearchBurst(Lc(), search, 50, 10);

  EXPECT_EQ(std::count(statuses.begin(), statuses.end(), 200), 50);
  EXPECT_EQ(sim_->fault_counters().rate_limited, 0) << "the burst waited for slots instead";
}

TEST_P(FaultInjectionTest, RateLimitedPastTheDeadlineIsARetriableFailure) {
  ASSERT_TRUE(StartApp(RateLimitOptions{.max_requests = 0}));  // only Halo's limit
  // After the token request, every request of the next minute gets 429.
  ASSERT_TRUE(sim_->SetFaults(sim::FaultConfig{.rate_limit_requests = 1, .rate_limit_window = absl::Minutes(1)}).ok());
  const std::string search = lc::testing::RequestEnvelope(org_, "search_tickets", R"({"page_size":1})", HaloConfig());

  Reply reply = Lc().Send(search);

  EXPECT_EQ(reply.status, 500) << reply.body;
  EXPECT_EQ(reply.retriable(), true);
  EXPECT_THAT(reply.error(), ::testing::HasSubstr("429"));
  EXPECT_GE(sim_->fault_counters().rate_limited, 2) << "it backed off and tried again before giving up";
}

INSTANTIATE_TEST_SUITE_P(SharedState, FaultInjectionTest,
                         ::testing::Values(SharedState::kInProcess, SharedState::kRedis),
                         [](const ::testing::TestParamInfo<SharedState>& info) {
                           return info.param == SharedState::kRedis ? "Redis" : "InProcess";
                         });

}  // namespace
}  // namespace halopsa

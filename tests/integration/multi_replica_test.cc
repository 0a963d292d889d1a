// Several replicas, one truth: two or three real halopsa-server processes,
// as pods behind one LimaCharlie extension, share one real redis-server
// (HALOPSA_REDIS_URL, a unix socket in a temporary directory) and one
// HaloPSA (the simulator, over loopback TLS). LimaCharlie is imitated by
// signed, gzipped webhooks; like a load balancer, its redeliveries land on
// another replica. Afterwards the simulator must hold every ticket, note
// and link exactly once.

#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <stdlib.h>

#include <atomic>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "halopsa/v1/halopsa.grpc.pb.h"
#include "simulator/halo_simulator.h"
#include "tests/testing/error_details.h"
#include "tests/testing/eventually.h"
#include "tests/testing/lc_over_http.h"
#include "tests/testing/lc_test_client.h"
#include "tests/testing/redis_server_process.h"
#include "tests/testing/server_process.h"
#include "tests/testing/test_support.h"

namespace halopsa {
namespace {

using lc::testing::Config;
using lc::testing::Delivered;
using lc::testing::Redelivery;
using lc::testing::Reply;
using lc::testing::TestOrg;
using testing::AssetIdsOf;
using testing::CountContaining;
using testing::ServerProcess;

constexpr char kSigningSecret[] = "replica-suite-signing-secret";
constexpr char kClientId[] = "replica-suite-client";
constexpr char kHaloSecret[] = "replica-suite-halo-secret";
// Bounds every wait for another process's state.
constexpr absl::Duration kWaitBound = absl::Seconds(30);
// LimaCharlie's patience with one delivery; a call that waits for a dead
// replica's lease takes a few seconds.
constexpr absl::Duration kDeliveryTimeout = absl::Seconds(20);

// Waits for another process's state, bounded by kWaitBound.
bool WaitFor(const std::function<bool()>& condition) {
  return testing::Eventually(condition, kWaitBound, /*poll=*/absl::Milliseconds(20));
}

// One LimaCharlie action and what it must leave in HaloPSA. ({} lets
// designated initializers omit members without -Wextra warnings.)
struct Action {
  std::string name{};
  std::string data{};
  std::string key{};       // the webhook's idempotency_key
  int ticket_id = 0;       // the ticket a note or link goes to
  std::string marker{};    // summary or note text that must appear exactly once
  std::string hostname{};  // link_asset_to_ticket
};

Action CreateTicket(const std::string& label) {
  Action action{.name = "create_ticket", .key = label, .marker = absl::StrCat(label, ".")};
  action.data = absl::StrCat(R"({"summary":")", action.marker,
                             R"(","details":"from the replica suite","client_id":12,"site_id":18})");
  return action;
}

Action AddNote(const std::string& label, int ticket) {
  Action action{.name = "add_action", .key = label, .ticket_id = ticket, .marker = absl::StrCat(label, ".")};
  action.data = absl::StrCat(R"({"ticket_id":)", ticket, R"(,"note":")", action.marker, R"(","timetaken":5})");
  return action;
}

Action LinkHost(const std::string& key, const std::string& hostname, int ticket) {
  Action action{.name = "link_asset_to_ticket", .key = key, .ticket_id = ticket, .hostname = hostname};
  action.data = absl::StrCat(R"({"ticket_id":)", ticket, R"(,"hostname":")", hostname,
                             R"(","client_id":12,"site_id":18,"asset_type_id":1})");
  return action;
}

// Creates, notes and links of `hosts` new hosts, `count` in all.
std::vector<Action> MixedActions(const std::string& label, int count, const std::vector<int>& tickets, int hosts) {
  std::vector<Action> actions;
  for (int i = 0; i < count; ++i) {
    const int ticket = tickets[static_cast<size_t>(i) % tickets.size()];
    const std::string name = absl::StrCat(label, "-", i);
    switch (i % 3) {
      case 0:
        actions.push_back(CreateTicket(name));
        break;
      case 1:
        actions.push_back(AddNote(name, ticket));
        break;
      default:
        actions.push_back(LinkHost(name, absl::StrCat(label, "-host-", (i / 3) % hosts), ticket));
        break;
    }
  }
  return actions;
}

class MultiReplicaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto simulator = testing::StartTlsSimulator(kClientId, kHaloSecret, /*threads=*/2);
    ASSERT_TRUE(simulator.ok()) << simulator.status();
    sim_ = *std::move(simulator);
    auto redis = testing::RedisServerProcess::Start();
    ASSERT_TRUE(redis.ok()) << redis.status();
    redis_ = *std::move(redis);
    std::string pattern = (std::filesystem::temp_directory_path() / "halopsa-replicas-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    log_dir_ = pattern;
  }

  void TearDown() override {
    for (size_t i = 0; i < replicas_.size(); ++i) {
      // Only the replica the test killed may be gone.
      if (std::optional<int> code = replicas_[i]->ExitCode(); code && !killed_.contains(i)) {
        ADD_FAILURE() << "replica " << i << " exited by itself with " << *code << ", see " << replicas_[i]->log_path();
      }
    }
    replicas_.clear();
    if (sim_) sim_->Shutdown();
    if (HasFailure()) {
      std::printf("replica logs kept in %s\n", log_dir_.c_str());
    } else if (!log_dir_.empty()) {
      std::filesystem::remove_all(log_dir_);
    }
  }

  // `count` replicas sharing the Redis, with `flags` besides the common ones.
  void StartReplicas(int count, const std::vector<std::string>& flags = {}) {
    for (int i = 0; i < count; ++i) {
      testing::ServerProcessOptions options;
      options.binary = HALOPSA_SERVER_BINARY;
      options.gateway = true;
      options.log_path = absl::StrCat(log_dir_, "/replica-", replicas_.size(), ".log");
      options.args = {absl::StrCat("--ca_file=", testing::CertPath("ca.pem")), "--allow_private_upstream",
                      "--lc_api_url=http://127.0.0.1:1",  // no hive secrets in this suite
                      "--max_backoff=1s", "--shutdown_grace=1s",
                      // A killed replica's claim on a webhook lasts its deadline plus 5 s;
                      // the senders here wait kDeliveryTimeout for an answer, not 2 minutes.
                      "--gateway_budget_wait=25s",
                      // The budget is not what most of this suite checks; at the
                      // default pace (~1 request/s after a burst of 15) its bursts
                      // would wait for minutes. A test's own flags come later and win.
                      "--rate_limit_requests=1000000", "--rate_limit_window=1s"};
      options.args.insert(options.args.end(), flags.begin(), flags.end());
      options.env = {absl::StrCat("LC_EXTENSION_SECRET=", kSigningSecret),
                     absl::StrCat("HALOPSA_REDIS_URL=", redis_->url())};
      auto replica = ServerProcess::Start(std::move(options));
      ASSERT_TRUE(replica.ok()) << replica.status();
      replicas_.push_back(*std::move(replica));
    }
  }

  Config HaloConfig() const {
    return {{"instance_url", sim_->base_url()}, {"client_id", kClientId}, {"client_secret", kHaloSecret}};
  }

  std::string Envelope(const Action& action) const {
    return lc::testing::RequestEnvelope(org_, action.name, action.data, HaloConfig(), action.key);
  }

  // One delivery to one replica (a dead one answers nothing: status 0).
  Reply SendTo(size_t replica, const std::string& envelope) const {
    return lc::testing::LimaCharlieAt(replicas_[replica]->gateway_port(), kSigningSecret, kDeliveryTimeout)
        .Send(envelope);
  }

 public:
  // LimaCharlie delivering one action; each redelivery reaches the next
  // replica, as a load balancer's round robin would send it.
  Delivered DeliverRoundRobin(const Action& action, size_t first_replica, const Redelivery& policy = {}) const {
    const std::string envelope = Envelope(action);
    return lc::testing::DeliverUntilDone(
        [&](int delivery) {
          return SendTo((first_replica + static_cast<size_t>(delivery)) % replicas_.size(), envelope);
        },
        policy);
  }

 protected:
  std::vector<Delivered> DeliverAll(const std::vector<Action>& actions, int workers, const Redelivery& policy = {});

  std::vector<int> CreateTargetTickets(int count) {
    std::vector<int> ids;
    for (int i = 0; i < count; ++i) {
      Delivered created = DeliverRoundRobin(CreateTicket(absl::StrCat("replica-suite target ", i)), 0);
      EXPECT_EQ(created.final_status, 200) << created.final_body;
      net::ServerResponse answer;
      answer.status = created.final_status;
      answer.body = created.final_body;
      Reply reply = lc::testing::ParseReply(std::move(answer));
      if (created.final_status == 200) ids.push_back(reply.data()["id"].GetInt());
    }
    return ids;
  }

  // Every action answered 200, and its ticket, note or link is in HaloPSA
  // exactly once.
  void ExpectEachDoneOnce(const std::vector<Action>& actions, const std::vector<Delivered>& outcomes) {
    const std::vector<google::protobuf::Struct> tickets = sim_->tickets();
    const std::vector<google::protobuf::Struct> assets = sim_->assets();
    std::map<int, std::vector<google::protobuf::Struct>> notes;
    for (size_t i = 0; i < actions.size(); ++i) {
      const Action& action = actions[i];
      EXPECT_EQ(outcomes[i].final_status, 200)
          << action.name << " " << action.key << " after " << outcomes[i].deliveries << ": " << outcomes[i].last_error;
      if (action.name == "create_ticket") {
        EXPECT_EQ(CountContaining(tickets, "summary", action.marker), 1) << action.marker;
      } else if (action.name == "add_action") {
        if (!notes.contains(action.ticket_id)) notes[action.ticket_id] = sim_->actions(action.ticket_id);
        EXPECT_EQ(CountContaining(notes[action.ticket_id], "note", action.marker), 1) << action.marker;
      } else if (action.name == "link_asset_to_ticket") {
        const std::vector<int> ids = AssetIdsOf(assets, action.hostname);
        ASSERT_EQ(ids.size(), 1u) << "assets of " << action.hostname;
        EXPECT_TRUE(testing::Links(sim_->ticket(action.ticket_id).value_or(google::protobuf::Struct()), ids[0]))
            << action.hostname << " on ticket " << action.ticket_id;
      }
    }
  }

  // A gRPC call to `replica` for this test's tenant, with `idempotency_key`
  // when not empty.
  template <typename Request, typename Response>
  grpc::Status CallOverGrpc(size_t replica, const std::string& idempotency_key,
                            grpc::Status (v1::HaloPsaService::Stub::*method)(grpc::ClientContext*, const Request&,
                                                                             Response*),
                            const Request& request) const {
    auto stub = v1::HaloPsaService::NewStub(grpc::CreateChannel(
        absl::StrCat("127.0.0.1:", replicas_[replica]->grpc_port()), grpc::InsecureChannelCredentials()));
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
    context.AddMetadata("x-halopsa-instance-url", sim_->base_url());
    context.AddMetadata("x-halopsa-client-id", kClientId);
    context.AddMetadata("x-halopsa-client-secret", kHaloSecret);
    if (!idempotency_key.empty()) context.AddMetadata("x-idempotency-key", idempotency_key);
    Response response;
    return ((*stub).*method)(&context, request, &response);
  }

  // halopsa_shared_state_up of every live replica equals `up`.
  bool SharedStateIs(bool up, const std::vector<size_t>& replicas) const {
    for (size_t i : replicas) {
      absl::StatusOr<double> value = replicas_[i]->MetricSum("halopsa_shared_state_up");
      if (!value.ok() || *value != (up ? 1.0 : 0.0)) return false;
    }
    return true;
  }

  // With Redis gone: what every replica refuses, and what it still serves.
  void ExpectCoordinatedCallsRefusedAndLookupsServed() {
    // Coordinated calls are refused, retriable (each replica learns of the
    // outage at its next Redis command at the latest); lookups go on.
    for (size_t i = 0; i < replicas_.size(); ++i) {
      const Reply refused = SendTo(i, Envelope(CreateTicket(absl::StrCat("refused-while-redis-is-down-", i))));
      EXPECT_EQ(refused.status, 500) << refused.body;
      EXPECT_EQ(refused.retriable(), true);
    }
    for (size_t i = 0; i < replicas_.size(); ++i) {
      EXPECT_EQ(replicas_[i]->ExitCode(), std::nullopt) << "replica " << i << " died with Redis";
    }
    EXPECT_TRUE(WaitFor([&] { return SharedStateIs(false, {0, 1, 2}); }));
    const Action search{.name = "search_tickets", .data = R"({"page_size":1})"};
    EXPECT_EQ(SendTo(1, Envelope(search)).status, 200);
    // Over gRPC, the refusal names its reason; searches go on there too.
    v1::CreateTicketRequest create;
    create.set_summary("refused over gRPC while Redis is down");
    create.set_client_id(12);
    const grpc::Status grpc_refused =
        CallOverGrpc(0, "grpc-refused-while-redis-is-down", &v1::HaloPsaService::Stub::CreateTicket, create);
    EXPECT_EQ(grpc_refused.error_code(), grpc::StatusCode::UNAVAILABLE) << grpc_refused.error_message();
    EXPECT_EQ(testing::ReasonOf(grpc_refused), "SHARED_STATE_UNAVAILABLE");
    v1::SearchTicketsRequest lookup;
    lookup.set_page_size(1);
    EXPECT_TRUE(CallOverGrpc(0, "", &v1::HaloPsaService::Stub::SearchTickets, lookup).ok());
  }

  TestOrg org_;
  std::unique_ptr<sim::HaloSimulator> sim_;
  std::unique_ptr<testing::RedisServerProcess> redis_;
  std::vector<std::unique_ptr<ServerProcess>> replicas_;
  std::set<size_t> killed_;  // replicas the test SIGKILLed
  std::string log_dir_;
};

// Actions delivered in the background from `workers` threads, action i
// first to replica i + `first_replica` (mod the replica count); joined at
// the latest on destruction, so a failed assertion cannot leave a thread
// running.
class Deliveries {
 public:
  Deliveries(const MultiReplicaTest& test, const std::vector<Action>& actions, int workers, Redelivery policy,
             size_t first_replica = 0)
      : actions_(actions), outcomes_(actions.size()) {
    for (int w = 0; w < workers; ++w) {
      threads_.emplace_back([this, &test, policy, first_replica] {
        for (size_t i = next_++; i < actions_.size(); i = next_++) {
          outcomes_[i] = test.DeliverRoundRobin(actions_[i], i + first_replica, policy);
          ++answered_;
        }
      });
    }
  }
  ~Deliveries() { Join(); }

  int answered() const { return answered_; }
  // Waits until every action is answered (or given up on).
  const std::vector<Delivered>& Join() {
    for (auto& thread : threads_) {
      if (thread.joinable()) thread.join();
    }
    return outcomes_;
  }

 private:
  const std::vector<Action> actions_;
  std::vector<Delivered> outcomes_;
  std::atomic<size_t> next_{0};
  std::atomic<int> answered_{0};
  std::vector<std::thread> threads_;
};

std::vector<Delivered> MultiReplicaTest::DeliverAll(const std::vector<Action>& actions, int workers,
                                                    const Redelivery& policy) {
  return Deliveries(*this, actions, workers, policy).Join();
}

int Redeliveries(const std::vector<Delivered>& outcomes) {
  int total = 0;
  for (const Delivered& outcome : outcomes) total += outcome.deliveries - 1;
  return total;
}

TEST_F(MultiReplicaTest, RedeliveriesAfterLostAnswersOnOtherReplicasCreateNoTicketOrNoteTwice) {
  // One attempt per call: a lost answer whose marker lookup fails too stays
  // unknown, and only the shared journal tells the next replica to look.
  StartReplicas(3, {"--max_upstream_attempts=1"});
  ASSERT_EQ(replicas_.size(), 3u);
  const std::vector<int> tickets = CreateTargetTickets(4);
  ASSERT_EQ(tickets.size(), 4u);
  std::vector<Action> actions;
  for (int i = 0; i < 90; ++i) {
    const std::string label = absl::StrCat("lost-answer-", i);
    actions.push_back(i % 2 == 0 ? CreateTicket(label) : AddNote(label, tickets[static_cast<size_t>(i) % 4]));
  }
  ASSERT_TRUE(sim_->SetFaults(sim::FaultConfig{.seed = 20261201,
                                               .error_before_probability = 0.05,
                                               .drop_before_probability = 0.05,
                                               .error_after_probability = 0.15,
                                               .drop_after_probability = 0.15})
                  .ok());

  const std::vector<Delivered> outcomes = DeliverAll(actions, 6, {.max_deliveries = 40});
  const sim::FaultCounters faults = sim_->fault_counters();
  sim_->ClearFaults();

  ExpectEachDoneOnce(actions, outcomes);
  std::printf("lost answers: %lld 500 and %lld dropped after the work; %d redeliveries to the next replica\n",
              static_cast<long long>(faults.errors_after), static_cast<long long>(faults.dropped_after),
              Redeliveries(outcomes));
  EXPECT_GE(faults.errors_after + faults.dropped_after, 15) << "answers really were lost";
  EXPECT_GE(Redeliveries(outcomes), 10) << "redeliveries really went to other replicas";
}

TEST_F(MultiReplicaTest, DuplicatesInFlightOnOtherReplicasWaitForTheFirstAndGetItsAnswer) {
  StartReplicas(3);
  ASSERT_EQ(replicas_.size(), 3u);
  const std::vector<int> tickets = CreateTargetTickets(1);
  ASSERT_EQ(tickets.size(), 1u);
  // Creates take long enough that every copy arrives while the first runs.
  ASSERT_TRUE(sim_->SetFaults(sim::FaultConfig{.method = "POST",
                                               .latency_min = absl::Milliseconds(600),
                                               .latency_max = absl::Milliseconds(600)})
                  .ok());

  for (const Action& action : {CreateTicket("in-flight-ticket"), AddNote("in-flight-note", tickets[0])}) {
    const std::string envelope = Envelope(action);
    std::vector<Reply> replies(replicas_.size());
    std::vector<std::thread> copies;
    for (size_t i = 0; i < replicas_.size(); ++i) {
      copies.emplace_back([&, i] { replies[i] = SendTo(i, envelope); });
    }
    for (auto& copy : copies) copy.join();

    for (const Reply& reply : replies) {
      ASSERT_EQ(reply.status, 200) << action.name << ": " << reply.body;
      EXPECT_EQ(reply.data()["id"].GetInt(), replies[0].data()["id"].GetInt()) << "the same answer on every replica";
    }
  }
  sim_->ClearFaults();
  EXPECT_EQ(CountContaining(sim_->tickets(), "summary", "in-flight-ticket."), 1);
  EXPECT_EQ(CountContaining(sim_->actions(tickets[0]), "note", "in-flight-note."), 1);
}

TEST_F(MultiReplicaTest, ConcurrentLinksThroughDifferentReplicasLoseNoLinkAndMakeOneAssetPerHost) {
  StartReplicas(3);
  ASSERT_EQ(replicas_.size(), 3u);
  const std::vector<int> tickets = CreateTargetTickets(7);
  ASSERT_EQ(tickets.size(), 7u);
  // Twelve new hosts onto one busy ticket, and one new host onto six tickets,
  // all at once, spread over the replicas; latency widens every race.
  std::vector<Action> actions;
  for (int host = 0; host < 12; ++host) {
    actions.push_back(LinkHost(absl::StrCat("busy-", host), absl::StrCat("busy-ticket-host-", host), tickets[0]));
  }
  for (size_t ticket = 1; ticket < tickets.size(); ++ticket) {
    actions.push_back(LinkHost(absl::StrCat("shared-", ticket), "one-new-host", tickets[ticket]));
  }
  ASSERT_TRUE(sim_->SetFaults(sim::FaultConfig{.seed = 7,
                                               .latency_min = absl::Milliseconds(5),
                                               .latency_max = absl::Milliseconds(60)})
                  .ok());

  const std::vector<Delivered> outcomes = DeliverAll(actions, static_cast<int>(actions.size()));
  sim_->ClearFaults();

  ExpectEachDoneOnce(actions, outcomes);
  const std::optional<google::protobuf::Struct> busy = sim_->ticket(tickets[0]);
  ASSERT_TRUE(busy.has_value());
  EXPECT_EQ(busy->fields().at("assets").list_value().values_size(), 12);
  EXPECT_EQ(AssetIdsOf(sim_->assets(), "one-new-host").size(), 1u);
}

TEST_F(MultiReplicaTest, OneRequestBudgetHoldsAcrossThreeReplicas) {
  // Each replica alone would keep to 20 per 1.2 s; together, only a shared
  // budget keeps the tenant under HaloPSA's 20 per second.
  StartReplicas(3, {"--rate_limit_requests=20", "--rate_limit_window=1200ms"});
  ASSERT_EQ(replicas_.size(), 3u);
  const Action search{.name = "search_tickets", .data = R"({"page_size":1})"};
  const std::string envelope = Envelope(search);
  // Tokens first: the budget counts API requests only (one token an hour).
  for (size_t i = 0; i < replicas_.size(); ++i) ASSERT_EQ(SendTo(i, envelope).status, 200);
  ASSERT_TRUE(
      sim_->SetFaults(sim::FaultConfig{.rate_limit_requests = 20, .rate_limit_window = absl::Seconds(1)}).ok());

  constexpr int kSearches = 60;
  std::vector<int> statuses(kSearches);
  std::atomic<int> next{0};
  std::vector<std::thread> senders;
  for (int t = 0; t < 12; ++t) {
    senders.emplace_back([&] {
      for (int i = next++; i < kSearches; i = next++) {
        statuses[static_cast<size_t>(i)] = SendTo(static_cast<size_t>(i) % replicas_.size(), envelope).status;
      }
    });
  }
  for (auto& sender : senders) sender.join();
  const sim::FaultCounters counted = sim_->fault_counters();

  EXPECT_THAT(statuses, ::testing::Each(200));
  EXPECT_EQ(counted.requests, kSearches) << "each search one request, counted by the simulator's window";
  EXPECT_EQ(counted.rate_limited, 0) << "the replicas together stayed within HaloPSA's window";
}

TEST_F(MultiReplicaTest, AnIdleReplicaReportsRedisDownOnItsGaugeAndReadinessAndReconnects) {
  StartReplicas(1, {"--redis_unready_after=1s"});
  ASSERT_EQ(replicas_.size(), 1u);
  ASSERT_TRUE(WaitFor([&] { return SharedStateIs(true, {0}); }));

  redis_->Kill();  // no call is made: only the replica's own watch can notice

  EXPECT_TRUE(WaitFor([&] { return SharedStateIs(false, {0}); }));
  EXPECT_TRUE(WaitFor([&] { return replicas_[0]->ReadyzStatus().value_or(0) == 503; }));
  EXPECT_GE(replicas_[0]->MetricSum("halopsa_shared_state_errors_total").value_or(0), 1);
  ASSERT_TRUE(redis_->Restart().ok());
  EXPECT_TRUE(WaitFor([&] { return SharedStateIs(true, {0}); }));
  EXPECT_TRUE(WaitFor([&] { return replicas_[0]->ReadyzStatus().value_or(0) == 200; }));
}

TEST_F(MultiReplicaTest, RedisKilledAndRestartedAndAReplicaKilledMidCallEveryActionAnsweredOnce) {
  StartReplicas(3, {"--default_deadline=5s", "--redis_unready_after=1s"});
  ASSERT_EQ(replicas_.size(), 3u);
  const std::vector<int> tickets = CreateTargetTickets(3);
  ASSERT_EQ(tickets.size(), 3u);
  const std::vector<Action> actions = MixedActions("outage", 90, tickets, 10);
  // LimaCharlie backs off between redeliveries, so an outage of a few
  // seconds costs a few deliveries, not hundreds.
  const Redelivery patient{.max_deliveries = 100,
                           .first_backoff = absl::Milliseconds(50),
                           .max_backoff = absl::Milliseconds(500),
                           .give_up_after = absl::Seconds(45)};

  // The stream of actions runs while Redis dies and comes back.
  Deliveries stream(*this, actions, 6, patient);
  ASSERT_TRUE(WaitFor([&] { return stream.answered() >= 15; }));
  redis_->Kill();
  ExpectCoordinatedCallsRefusedAndLookupsServed();
  // Readiness follows after --redis_unready_after.
  EXPECT_TRUE(WaitFor([&] { return replicas_[0]->ReadyzStatus().value_or(0) == 503; }));
  ASSERT_TRUE(redis_->Restart().ok());
  EXPECT_TRUE(WaitFor([&] { return SharedStateIs(true, {0, 1, 2}); }));
  EXPECT_TRUE(WaitFor([&] { return replicas_[0]->ReadyzStatus().value_or(0) == 200; }));
  std::vector<Delivered> outcomes = stream.Join();

  // A replica dies while HaloPSA is creating a ticket for it: the answer is
  // lost, and LimaCharlie's redelivery reaches another replica.
  const Action orphan = CreateTicket("orphaned-by-a-killed-replica");
  ASSERT_TRUE(sim_->SetFaults(sim::FaultConfig{.method = "POST",
                                               .latency_min = absl::Milliseconds(800),
                                               .latency_max = absl::Milliseconds(800)})
                  .ok());
  Deliveries orphan_delivery(*this, {orphan}, 1, patient, /*first_replica=*/2);
  EXPECT_TRUE(WaitFor([&] {
    for (const sim::RecordedRequest& request : sim_->requests()) {
      if (request.path == "/api/Tickets" && absl::StrContains(request.body, orphan.marker)) return true;
    }
    return false;
  }));
  replicas_[2]->Kill();
  killed_.insert(2);
  const Delivered orphan_outcome = orphan_delivery.Join()[0];
  sim_->ClearFaults();

  std::vector<Action> all = actions;
  all.push_back(orphan);
  outcomes.push_back(orphan_outcome);
  ExpectEachDoneOnce(all, outcomes);
  EXPECT_GE(orphan_outcome.deliveries, 2) << "the killed replica never answered";
  int refusals = 0;
  for (const Delivered& outcome : outcomes) {
    for (const std::string& error : outcome.retried_errors) {
      refusals += absl::StrContains(error, "shared state") ? 1 : 0;
    }
  }
  std::printf("outage: %d redeliveries, %d of them after the shared state was unavailable\n",
              Redeliveries(outcomes), refusals);
}

}  // namespace
}  // namespace halopsa

// Storm deduplication through the real server (ServerApp) against the real
// simulator: concurrent detections of one key open one ticket and merge into
// few notes while the request budget is short; the key's ticket is found in
// HaloPSA again after a restart; and two replicas sharing a real
// redis-server open one ticket between them.

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "app/server_app.h"
#include "halopsa/v1/halopsa.grpc.pb.h"
#include "server/dedupe_note.h"
#include "server/json_values.h"
#include "simulator/halo_data.h"
#include "simulator/halo_simulator.h"
#include "tests/testing/loopback_config.h"
#include "tests/testing/redis_server_process.h"
#include "tests/testing/test_support.h"

namespace halopsa {
namespace {

using ::testing::Contains;
using ::testing::Pair;

constexpr char kClientId[] = "dedupe-client";
constexpr char kClientSecret[] = "dedupe-secret-0123456789";
constexpr char kKey[] = "NEW_PROCESS-host-7";
constexpr int kClient = 12;

size_t Occurrences(absl::string_view text, absl::string_view needle) {
  std::vector<absl::string_view> pieces = absl::StrSplit(text, needle);
  return pieces.size() - 1;
}

struct Answer {
  grpc::Status status;
  v1::CreateTicketResponse response;
};

class StormDedupeIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto simulator = testing::StartTlsSimulator(kClientId, kClientSecret);
    ASSERT_TRUE(simulator.ok()) << simulator.status();
    sim_ = *std::move(simulator);
  }

  void TearDown() override {
    replicas_.clear();
    std::fclose(log_file_);
  }

  ServerConfig Config() {
    ServerConfig config = testing::LoopbackServerConfig(*sim_, kClientId, kClientSecret, log_file_);
    config.shutdown_grace = absl::Seconds(5);
    return config;
  }

  // Starts one more replica; returns its index.
  size_t StartReplica(ServerConfig config) {
    auto app = ServerApp::Start(std::move(config));
    EXPECT_TRUE(app.ok()) << app.status();
    if (!app.ok()) return 0;
    auto stub = v1::HaloPsaService::NewStub(
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", (*app)->grpc_port()), grpc::InsecureChannelCredentials()));
    replicas_.push_back({*std::move(app), std::move(stub)});
    return replicas_.size() - 1;
  }

  Answer Create(size_t replica, const std::string& summary, absl::string_view key = kKey) {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(20)));
    v1::CreateTicketRequest request;
    request.set_summary(summary);
    request.set_details(absl::StrCat("details of ", summary));
    request.set_client_id(kClient);
    request.set_dedupe_key(std::string(key));
    Answer answer;
    answer.status = replicas_[replica].stub->CreateTicket(&context, request, &answer.response);
    return answer;
  }

  // `count` detections of one key at once, spread round robin over the replicas.
  std::vector<Answer> Storm(int count) {
    std::vector<Answer> answers(count);
    std::vector<std::thread> senders;
    for (int i = 0; i < count; ++i) {
      senders.emplace_back([this, i, &answers] { answers[i] = Create(i % replicas_.size(), absl::StrCat("storm-", i)); });
    }
    for (std::thread& sender : senders) sender.join();
    return answers;
  }

  std::vector<int> TicketsWithMarker() {
    std::vector<int> ids;
    const std::string marker = DedupeMarker(kClient, kKey);
    for (const auto& ticket : sim_->tickets()) {
      if (absl::StrContains(StringField(ticket, "details"), marker)) ids.push_back(*IntField(ticket, "id"));
    }
    return ids;
  }

  // The notes the service added to `ticket_id` (its first action is the body).
  std::vector<std::string> Notes(int ticket_id) {
    std::vector<std::string> notes;
    std::vector<google::protobuf::Struct> actions = sim_->actions(ticket_id);
    for (size_t i = 1; i < actions.size(); ++i) notes.push_back(StringField(actions[i], "note"));
    return notes;
  }

  // Requests to tickets and actions (not the authorisation server's discovery).
  std::vector<sim::RecordedRequest> TicketRequests() {
    std::vector<sim::RecordedRequest> requests;
    for (auto& request : sim_->requests()) {
      if (request.path == "/api/Tickets" || request.path == "/api/Actions") requests.push_back(std::move(request));
    }
    return requests;
  }

  // Every storm detection answered with the key's one ticket, one of them
  // opening it and each of the others noted on it exactly once.
  void ExpectOneTicketHolding(const std::vector<Answer>& answers) {
    const std::vector<int> tickets = TicketsWithMarker();
    ASSERT_EQ(tickets.size(), 1u);
    int opened = 0;
    std::string all_notes = absl::StrJoin(Notes(tickets[0]), "\n");
    for (size_t i = 0; i < answers.size(); ++i) {
      ASSERT_TRUE(answers[i].status.ok()) << i << ": " << answers[i].status.error_message();
      EXPECT_EQ(answers[i].response.id(), tickets[0]);
      if (!answers[i].response.deduplicated()) {
        ++opened;
        continue;
      }
      EXPECT_EQ(Occurrences(all_notes, absl::StrCat(" UTC — storm-", i, "\n")), 1u) << "storm-" << i;
    }
    EXPECT_EQ(opened, 1);
  }

  struct Replica {
    std::unique_ptr<ServerApp> app;
    std::unique_ptr<v1::HaloPsaService::Stub> stub;
  };

  std::FILE* log_file_ = std::tmpfile();
  std::unique_ptr<sim::HaloSimulator> sim_;
  std::vector<Replica> replicas_;
};

TEST_F(StormDedupeIntegrationTest, AStormOfOneKeyOpensOneTicketAndMergesItsNotesWhileTheBudgetIsShort) {
  ServerConfig config = Config();
  config.rate_limit.max_requests = 2;  // per second: the listing and the create take the first
  config.rate_limit.window = absl::Seconds(1);
  StartReplica(std::move(config));
  constexpr int kDetections = 40;
  std::vector<Answer> answers = Storm(kDetections);
  ExpectOneTicketHolding(answers);
  const size_t notes = Notes(TicketsWithMarker().front()).size();
  // One listing and one create, then the waiting detections go together.
  EXPECT_LE(notes, 10u);
  EXPECT_EQ(TicketRequests().size(), 2 + notes);
}

TEST_F(StormDedupeIntegrationTest, AfterARestartTheKeysTicketIsFoundInHaloPsaUntilItIsClosed) {
  StartReplica(Config());
  Answer first = Create(0, "before restart");
  ASSERT_TRUE(first.status.ok()) << first.status.error_message();
  EXPECT_FALSE(first.response.deduplicated());
  replicas_.clear();
  sim_->ClearRequests();

  StartReplica(Config());  // remembers nothing
  Answer again = Create(0, "after restart");
  ASSERT_TRUE(again.status.ok()) << again.status.error_message();
  EXPECT_TRUE(again.response.deduplicated());
  EXPECT_EQ(again.response.id(), first.response.id());
  std::vector<sim::RecordedRequest> requests = TicketRequests();
  ASSERT_FALSE(requests.empty());
  EXPECT_EQ(requests.front().path, "/api/Tickets");
  EXPECT_THAT(requests.front().query, Contains(Pair("search_details", DedupeMarker(kClient, kKey))));
  EXPECT_THAT(requests.front().query, Contains(Pair("open_only", "true")));
  EXPECT_THAT(Notes(first.response.id()), Contains(::testing::HasSubstr("after restart")));

  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(20)));
  v1::UpdateTicketRequest close;
  close.set_id(first.response.id());
  close.set_status_id(sim::HaloData::kClosedStatus);
  v1::UpdateTicketResponse closed;
  ASSERT_TRUE(replicas_[0].stub->UpdateTicket(&context, close, &closed).ok());
  replicas_.clear();
  StartReplica(Config());
  Answer successor = Create(0, "after close");
  ASSERT_TRUE(successor.status.ok()) << successor.status.error_message();
  EXPECT_FALSE(successor.response.deduplicated());
  EXPECT_NE(successor.response.id(), first.response.id());
}

TEST_F(StormDedupeIntegrationTest, TwoReplicasSharingRedisOpenOneTicketForOneKey) {
  auto redis = testing::RedisServerProcess::Start();
  ASSERT_TRUE(redis.ok()) << redis.status();
  // Slow answers: without the shared lock both replicas would list, find
  // nothing and create.
  sim::FaultConfig slow;
  slow.latency_min = absl::Milliseconds(50);
  slow.latency_max = absl::Milliseconds(50);
  ASSERT_TRUE(sim_->SetFaults(slow).ok());
  for (int i = 0; i < 2; ++i) {
    ServerConfig config = Config();
    config.redis_url = (*redis)->url();
    StartReplica(std::move(config));
  }
  ExpectOneTicketHolding(Storm(24));
}

}  // namespace
}  // namespace halopsa

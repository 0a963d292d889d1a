// The real server (ServerApp) with its cross-call state in a real
// redis-server, against the real simulator: what works through Redis, what
// is refused while Redis is gone (and what goes on), and the recovery.

#include <grpcpp/grpcpp.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "app/server_app.h"
#include "halopsa/v1/halopsa.grpc.pb.h"
#include "server/error_mapping.h"
#include "simulator/halo_simulator.h"
#include "tests/testing/error_details.h"
#include "tests/testing/eventually.h"
#include "tests/testing/loopback_config.h"
#include "tests/testing/loopback_stack.h"
#include "tests/testing/redis_server_process.h"
#include "tests/testing/test_http_client.h"
#include "tests/testing/test_support.h"

namespace halopsa {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kClientId[] = "redis-client";
constexpr char kClientSecret[] = "redis-secret-0123456789";

using testing::Eventually;
using testing::ReasonOf;

class SharedStateIntegrationTest : public testing::LoopbackStackTest<> {
 protected:
  void SetUp() override {
    auto redis = testing::RedisServerProcess::Start();
    ASSERT_TRUE(redis.ok()) << redis.status();
    redis_ = *std::move(redis);
    ASSERT_TRUE(StartSimulator(kClientId, kClientSecret));
    ASSERT_TRUE(StartServer(Config()));
    stub_ = v1::HaloPsaService::NewStub(
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", app_->grpc_port()), grpc::InsecureChannelCredentials()));
    ASSERT_TRUE(Eventually([&] { return Admin("/readyz").status == 200; })) << "Redis never came up";
  }

  ServerConfig Config() {
    ServerConfig config = testing::LoopbackServerConfig(*sim_, kClientId, kClientSecret, log_);
    config.admin_listen = "127.0.0.1:0";
    config.shutdown_grace = absl::Seconds(5);
    config.redis_url = redis_->url();
    config.redis_unready_after = absl::Milliseconds(300);
    return config;
  }

  testing::TestResponse Admin(const std::string& path) {
    absl::StatusOr<testing::TestResponse> response = testing::Fetch(app_->admin_port(), false, "GET", path);
    return response.ok() ? *response : testing::TestResponse{};
  }

  grpc::Status CreateTicket(const std::string& key, v1::CreateTicketResponse* response) {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
    context.AddMetadata("x-idempotency-key", key);
    v1::CreateTicketRequest request;
    request.set_summary(absl::StrCat("shared state ", key));
    request.set_client_id(12);
    return stub_->CreateTicket(&context, request, response);
  }

  grpc::Status Link(int ticket_id, v1::LinkAssetToTicketResponse* response) {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
    v1::LinkAssetToTicketRequest request;
    request.set_ticket_id(ticket_id);
    request.set_hostname("redis-host-1");
    request.set_client_id(12);
    request.set_asset_type_id(1);
    return stub_->LinkAssetToTicket(&context, request, response);
  }

  grpc::Status Search(v1::SearchTicketsResponse* response) {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
    v1::SearchTicketsRequest request;
    request.set_page_size(5);
    return stub_->SearchTickets(&context, request, response);
  }

  size_t TicketPosts() {
    size_t posts = 0;
    for (const auto& request : sim_->requests()) posts += request.method == "POST" && request.path == "/api/Tickets";
    return posts;
  }

  std::unique_ptr<testing::RedisServerProcess> redis_;
  std::unique_ptr<v1::HaloPsaService::Stub> stub_;
};

TEST_F(SharedStateIntegrationTest, KeyedCreatesAndLinksRunThroughRedis) {
  v1::CreateTicketResponse created;
  grpc::Status status = CreateTicket("key-1", &created);
  ASSERT_TRUE(status.ok()) << status.error_message();
  v1::LinkAssetToTicketResponse linked;
  status = Link(created.id(), &linked);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_TRUE(linked.asset_created());
  std::string metrics = Admin("/metrics").body;
  EXPECT_THAT(metrics, HasSubstr("halopsa_shared_state_up 1"));
  EXPECT_THAT(metrics, HasSubstr("halopsa_shared_state_round_trips_total"));
}

// A gRPC caller whose answer was lost after the ticket was made retries
// with the same key, here on another replica: it gets that ticket.
TEST_F(SharedStateIntegrationTest, ARetryAfterASuccessfulKeyedCreateAnswersTheSameTicketOnAnyReplica) {
  v1::CreateTicketResponse created;
  grpc::Status status = CreateTicket("answer-lost", &created);
  ASSERT_TRUE(status.ok()) << status.error_message();
  auto other_replica = ServerApp::Start(Config());
  ASSERT_TRUE(other_replica.ok()) << other_replica.status();
  stub_ = v1::HaloPsaService::NewStub(grpc::CreateChannel(absl::StrCat("127.0.0.1:", (*other_replica)->grpc_port()),
                                                          grpc::InsecureChannelCredentials()));
  v1::CreateTicketResponse retried;
  status = CreateTicket("answer-lost", &retried);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(retried.id(), created.id());
  EXPECT_EQ(TicketPosts(), 1u);
}

TEST_F(SharedStateIntegrationTest, WithoutRedisCoordinatedCallsAreRefusedLookupsGoOnAndAllRecovers) {
  v1::CreateTicketResponse created;
  ASSERT_TRUE(CreateTicket("before", &created).ok());
  const size_t posts_before = TicketPosts();
  redis_->Kill();

  v1::CreateTicketResponse refused_create;
  grpc::Status refused = CreateTicket("while-down", &refused_create);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::UNAVAILABLE) << refused.error_message();
  EXPECT_EQ(ReasonOf(refused), kReasonSharedStateUnavailable);
  v1::LinkAssetToTicketResponse refused_link;
  grpc::Status link = Link(created.id(), &refused_link);
  EXPECT_EQ(link.error_code(), grpc::StatusCode::UNAVAILABLE) << link.error_message();
  EXPECT_EQ(ReasonOf(link), kReasonSharedStateUnavailable);
  EXPECT_EQ(TicketPosts(), posts_before) << "nothing was written uncoordinated";

  v1::SearchTicketsResponse found;
  grpc::Status search = Search(&found);
  EXPECT_TRUE(search.ok()) << "searches go on: " << search.error_message();
  EXPECT_GT(found.record_count(), 0);

  ASSERT_TRUE(Eventually([&] { return Admin("/readyz").status == 503; })) << "not ready after the grace";
  EXPECT_THAT(Admin("/metrics").body, HasSubstr("halopsa_shared_state_up 0"));
  EXPECT_THAT(testing::ReadCapturedLog(log_), HasSubstr(R"("msg":"shared_state")"));

  ASSERT_TRUE(redis_->Restart().ok());
  ASSERT_TRUE(Eventually([&] { return Admin("/readyz").status == 200; }));
  v1::CreateTicketResponse after;
  grpc::Status recovered = CreateTicket("while-down", &after);
  EXPECT_TRUE(recovered.ok()) << recovered.error_message();
}

TEST(SharedStateConfigTest, AnInvalidRedisUrlFailsTheStartNamingTheSettingNotThePassword) {
  ServerConfig config;
  config.grpc_listen = "127.0.0.1:0";
  config.grpc_plaintext = true;
  config.redis_url = "redis://:hunter2@host:notaport";
  config.log_output = std::tmpfile();
  auto app = ServerApp::Start(config);
  ASSERT_FALSE(app.ok());
  EXPECT_EQ(app.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(app.status().message(), HasSubstr("HALOPSA_REDIS_URL"));
  EXPECT_THAT(app.status().ToString(), Not(HasSubstr("hunter2")));
  std::fclose(config.log_output);
}

}  // namespace
}  // namespace halopsa

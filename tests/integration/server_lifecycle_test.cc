// ServerApp against a hand-driven upstream that holds API requests until the
// test releases them: deadlines bound upstream work, and shutdown lets calls
// in flight finish.

#include <grpcpp/grpcpp.h>

#include <deque>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "adapters/net/http_server.h"
#include "app/server_app.h"
#include "halopsa/v1/halopsa.grpc.pb.h"
#include "server/error_mapping.h"
#include "tests/testing/callback_result.h"
#include "tests/testing/health_probe.h"

namespace halopsa {
namespace {

// Answers token requests at once, has no authinfo (a self-hosted tenant) and
// holds every other /api/ request.
class HoldingUpstream {
 public:
  HoldingUpstream() {
    auto server = net::HttpServer::Start({}, [this](net::ServerRequest request, net::Responder respond) {
      if (absl::StartsWith(request.target, "/auth/token")) {
        return respond({200, "application/json", {}, R"({"access_token":"t","expires_in":3600})"});
      }
      if (absl::StartsWith(request.target, "/api/authinfo")) return respond({404, "application/json", {}, ""});
      absl::MutexLock lock(&mutex_);
      held_.push_back(std::move(respond));
    });
    EXPECT_TRUE(server.ok()) << server.status();
    if (server.ok()) server_ = *std::move(server);
  }

  std::string url() const { return absl::StrCat("http://127.0.0.1:", server_->port()); }

  bool WaitForHeld(size_t count) {
    absl::MutexLock lock(&mutex_);
    auto enough = [this, count] { return held_.size() >= count; };
    return mutex_.AwaitWithTimeout(absl::Condition(&enough), absl::Seconds(20));
  }

  void ReleaseAll(int status, const std::string& body) {
    std::deque<net::Responder> held;
    {
      absl::MutexLock lock(&mutex_);
      held.swap(held_);
    }
    for (auto& respond : held) respond({status, "application/json", {}, body});
  }

  ~HoldingUpstream() {
    ReleaseAll(503, "");
    server_->Shutdown();
  }

 private:
  std::unique_ptr<net::HttpServer> server_;
  absl::Mutex mutex_;
  std::deque<net::Responder> held_ ABSL_GUARDED_BY(mutex_);
};

std::unique_ptr<ServerApp> StartApp(const std::string& upstream, absl::Duration default_deadline) {
  ServerConfig config;
  config.grpc_listen = "127.0.0.1:0";
  config.grpc_plaintext = true;
  auto connection = std::make_shared<HaloConnection>();
  connection->instance_url = upstream;
  connection->client_id = "c";
  connection->client_secret = "s";
  config.default_connection = connection;
  config.transport.allow_insecure_http = true;
  config.transport.allow_private_addresses = true;
  config.default_deadline = default_deadline;
  config.shutdown_grace = absl::Seconds(20);
  auto app = ServerApp::Start(config);
  EXPECT_TRUE(app.ok()) << app.status();
  return app.ok() ? *std::move(app) : nullptr;
}

std::shared_ptr<grpc::Channel> ChannelTo(const ServerApp& app) {
  return grpc::CreateChannel(absl::StrCat("127.0.0.1:", app.grpc_port()), grpc::InsecureChannelCredentials());
}

TEST(ServerLifecycleTest, CallWithoutDeadlineIsBoundedByTheDefault) {
  HoldingUpstream upstream;
  auto app = StartApp(upstream.url(), absl::Milliseconds(300));
  ASSERT_NE(app, nullptr);
  auto stub = v1::HaloPsaService::NewStub(ChannelTo(*app));
  grpc::ClientContext context;  // no deadline: the server's default applies
  v1::CreateTicketRequest request;
  request.set_summary("held");
  v1::CreateTicketResponse response;
  testing::CallbackResult<absl::Status> answer("the held call's answer");
  stub->async()->CreateTicket(&context, &request, &response,
                              [done = answer.Callback()](const grpc::Status& status) { done(FromGrpcStatus(status)); });
  // The test's own bound, far above the server's default deadline.
  const absl::Status status = answer.Await(absl::Seconds(10));
  EXPECT_EQ(status.code(), absl::StatusCode::kDeadlineExceeded) << status;
  EXPECT_TRUE(upstream.WaitForHeld(1));  // it did reach upstream, and gave up there
}

TEST(ServerLifecycleTest, ShutdownLetsCallsInFlightFinish) {
  HoldingUpstream upstream;
  auto app = StartApp(upstream.url(), absl::Seconds(30));
  ASSERT_NE(app, nullptr);
  auto channel = ChannelTo(*app);
  auto stub = v1::HaloPsaService::NewStub(channel);

  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(30)));
  v1::CreateTicketRequest request;
  request.set_summary("in flight");
  v1::CreateTicketResponse response;
  testing::CallbackResult<absl::Status> finished("the call in flight's answer");
  stub->async()->CreateTicket(&context, &request, &response,
                              [done = finished.Callback()](const grpc::Status& status) { done(FromGrpcStatus(status)); });
  ASSERT_TRUE(upstream.WaitForHeld(1));

  std::thread shutdown([&] { app->Shutdown(); });
  // Health leaves SERVING first; once it has, shutdown is under way.
  bool serving = true;
  for (int attempt = 0; attempt < 200 && serving; ++attempt) serving = testing::IsServing(channel);
  EXPECT_FALSE(serving);
  EXPECT_FALSE(finished.fired());

  upstream.ReleaseAll(200, R"({"id": 5000, "summary": "in flight"})");
  const absl::Status status = finished.Await(absl::Seconds(20));
  EXPECT_TRUE(status.ok()) << status;
  EXPECT_EQ(response.id(), 5000);
  shutdown.join();
}

}  // namespace
}  // namespace halopsa

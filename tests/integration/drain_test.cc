// A rolling deploy's SIGTERM (ServerApp::Shutdown) against a slow HaloPSA
// simulator: webhooks and RPCs in flight are answered when they complete
// within the grace; what outlives it gets a retriable answer.

#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "app/server_app.h"
#include "halopsa/v1/halopsa.grpc.pb.h"
#include "server/error_mapping.h"
#include "simulator/halo_simulator.h"
#include "tests/testing/lc_test_client.h"
#include "tests/testing/lc_over_http.h"
#include "tests/testing/loopback_config.h"
#include "tests/testing/test_http_client.h"
#include "tests/testing/test_support.h"

namespace halopsa {
namespace {

using ::testing::HasSubstr;

constexpr char kSigningSecret[] = "lc-drain-secret";
constexpr char kClientId[] = "drain-client";
constexpr char kHaloSecret[] = "drain-halo-secret";
constexpr int kWebhooks = 6;
constexpr absl::Duration kBound = absl::Seconds(20);

// Polls `condition` until it holds or kBound passes.
template <typename Condition>
bool Eventually(Condition condition) {
  const absl::Time give_up = absl::Now() + kBound;
  while (!condition()) {
    if (absl::Now() > give_up) return false;
    absl::SleepFor(absl::Milliseconds(10));
  }
  return true;
}

class DrainTest : public ::testing::Test {
 protected:
  // A simulator that answers every POST `latency` after doing the work.
  void StartStack(absl::Duration latency, absl::Duration grace) {
    auto simulator = testing::StartTlsSimulator(kClientId, kHaloSecret, /*threads=*/2);
    ASSERT_TRUE(simulator.ok()) << simulator.status();
    sim_ = *std::move(simulator);
    ASSERT_TRUE(sim_->SetFaults({.method = "POST", .latency_min = latency, .latency_max = latency}).ok());
    ServerConfig config = testing::LoopbackServerConfig(*sim_, kClientId, kHaloSecret, log_);
    config.shutdown_grace = grace;
    config.gateway_listen = "127.0.0.1:0";
    config.admin_listen = "127.0.0.1:0";
    config.gateway.signing_secret = kSigningSecret;
    auto app = ServerApp::Start(config);
    ASSERT_TRUE(app.ok()) << app.status();
    app_ = *std::move(app);
  }

  void TearDown() override {
    app_.reset();
    if (sim_) sim_->Shutdown();
    std::fclose(log_);
  }

  // Sends kWebhooks create_ticket webhooks, each from its own thread.
  void SendWebhooks() {
    const lc::testing::Config config = {
        {"instance_url", sim_->base_url()}, {"client_id", kClientId}, {"client_secret", kHaloSecret}};
    for (int i = 0; i < kWebhooks; ++i) {
      senders_.emplace_back([this, config, i] {
        replies_[i] = lc::testing::LimaCharlieAt(app_->gateway_port(), kSigningSecret)
                          .Send(lc::testing::RequestEnvelope(org_, "create_ticket",
                                                             R"({"summary": "drain", "client_id": 12})", config,
                                                             absl::StrCat("drain-key-", i)));
      });
    }
  }

  // One CreateTicket over gRPC, answered into rpc_status_.
  void SendRpc() {
    stub_ = v1::HaloPsaService::NewStub(
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", app_->grpc_port()), grpc::InsecureChannelCredentials()));
    rpc_context_.set_deadline(absl::ToChronoTime(absl::Now() + kBound));
    rpc_context_.AddMetadata("x-idempotency-key", "drain-rpc");
    rpc_request_.set_summary("drain rpc");
    stub_->async()->CreateTicket(&rpc_context_, &rpc_request_, &rpc_response_, [this](grpc::Status status) {
      rpc_status_ = std::move(status);
      rpc_done_.Notify();
    });
  }

  int PostsReceived() const {
    int posts = 0;
    for (const auto& request : sim_->requests()) posts += request.method == "POST" && request.path == "/api/Tickets";
    return posts;
  }

  int ReadyzStatus() const {
    auto response = halopsa::testing::Fetch(app_->admin_port(), false, "GET", "/readyz");
    return response.ok() ? response->status : 0;
  }

  void JoinSenders() {
    for (std::thread& sender : senders_) sender.join();
  }

  lc::testing::TestOrg org_;
  std::unique_ptr<sim::HaloSimulator> sim_;
  std::unique_ptr<ServerApp> app_;
  std::FILE* log_ = std::tmpfile();
  std::vector<std::thread> senders_;
  lc::testing::Reply replies_[kWebhooks];
  std::unique_ptr<v1::HaloPsaService::Stub> stub_;
  grpc::ClientContext rpc_context_;
  v1::CreateTicketRequest rpc_request_;
  v1::CreateTicketResponse rpc_response_;
  grpc::Status rpc_status_;
  absl::Notification rpc_done_;
};

TEST_F(DrainTest, WebhooksAndRpcsInFlightAreAnsweredWhenTheyCompleteWithinTheGrace) {
  StartStack(/*latency=*/absl::Milliseconds(1500), /*grace=*/absl::Seconds(15));
  const int gateway_port = app_->gateway_port();
  SendWebhooks();
  SendRpc();
  ASSERT_TRUE(Eventually([&] { return PostsReceived() == kWebhooks + 1; }));

  std::thread sigterm([&] { app_->Shutdown(); });
  EXPECT_TRUE(Eventually([&] { return ReadyzStatus() == 503; }));
  EXPECT_TRUE(Eventually([&] { return !halopsa::testing::TestHttpClient::Connect(gateway_port).ok(); }));

  JoinSenders();
  for (const lc::testing::Reply& reply : replies_) {
    EXPECT_EQ(reply.status, 200) << reply.body;
    EXPECT_FALSE(reply.has_error()) << reply.body;
  }
  ASSERT_TRUE(rpc_done_.WaitForNotificationWithTimeout(kBound));
  EXPECT_TRUE(rpc_status_.ok()) << rpc_status_.error_message();
  EXPECT_GT(rpc_response_.id(), 0);
  sigterm.join();
  EXPECT_EQ(PostsReceived(), kWebhooks + 1);  // nothing was sent twice
}

TEST_F(DrainTest, WhatOutlivesTheGraceGetsARetriableAnswer) {
  StartStack(/*latency=*/absl::Seconds(3), /*grace=*/absl::Milliseconds(500));
  SendWebhooks();
  SendRpc();
  ASSERT_TRUE(Eventually([&] { return PostsReceived() == kWebhooks + 1; }));

  std::thread sigterm([&] { app_->Shutdown(); });
  JoinSenders();
  for (const lc::testing::Reply& reply : replies_) {
    EXPECT_EQ(reply.status, 500) << reply.body;
    EXPECT_EQ(reply.retriable(), true) << reply.body;
    EXPECT_THAT(reply.error(), HasSubstr("shutting down")) << reply.body;
  }
  ASSERT_TRUE(rpc_done_.WaitForNotificationWithTimeout(kBound));
  EXPECT_EQ(rpc_status_.error_code(), grpc::StatusCode::UNAVAILABLE) << rpc_status_.error_message();
  std::optional<google::rpc::ErrorInfo> info = GetErrorInfo(FromGrpcStatus(rpc_status_));
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->reason(), kReasonShuttingDown);
  sigterm.join();
  EXPECT_THAT(testing::ReadCapturedLog(log_), HasSubstr(R"("msg":"drain_grace_over")"));
}

}  // namespace
}  // namespace halopsa

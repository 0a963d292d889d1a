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
#include "absl/time/clock.h"
#include "app/server_app.h"
#include "halopsa/v1/halopsa.grpc.pb.h"
#include "server/error_mapping.h"
#include "simulator/halo_simulator.h"
#include "tests/testing/callback_result.h"
#include "tests/testing/error_details.h"
#include "tests/testing/eventually.h"
#include "tests/testing/lc_over_http.h"
#include "tests/testing/lc_test_client.h"
#include "tests/testing/loopback_config.h"
#include "tests/testing/loopback_stack.h"
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

class DrainTest : public testing::LoopbackStackTest<> {
 protected:
  // A simulator that answers every POST `latency` after doing the work.
  void StartStack(absl::Duration latency, absl::Duration grace) {
    ASSERT_TRUE(StartSimulator(kClientId, kHaloSecret, /*threads=*/2));
    ASSERT_TRUE(sim_->SetFaults({.method = "POST", .latency_min = latency, .latency_max = latency}).ok());
    ServerConfig config = testing::LoopbackServerConfig(*sim_, kClientId, kHaloSecret, log_);
    config.shutdown_grace = grace;
    config.gateway_listen = "127.0.0.1:0";
    config.admin_listen = "127.0.0.1:0";
    config.gateway.signing_secret = kSigningSecret;
    ASSERT_TRUE(StartServer(config));
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

  // Joins what the test started, also when it stopped at a failed
  // assertion (a joinable std::thread would end the whole binary).
  void TearDown() override {
    JoinSenders();
    if (sigterm_.joinable()) sigterm_.join();
    LoopbackStackTest::TearDown();
  }

  // One CreateTicket over gRPC, answered into rpc_answer_.
  void SendRpc() {
    stub_ = v1::HaloPsaService::NewStub(
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", app_->grpc_port()), grpc::InsecureChannelCredentials()));
    rpc_context_.set_deadline(absl::ToChronoTime(absl::Now() + kBound));
    rpc_context_.AddMetadata("x-idempotency-key", "drain-rpc");
    rpc_request_.set_summary("drain rpc");
    stub_->async()->CreateTicket(
        &rpc_context_, &rpc_request_, &rpc_response_,
        [done = rpc_answer_.Callback()](const grpc::Status& status) { done(FromGrpcStatus(status)); });
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
    for (std::thread& sender : senders_) {
      if (sender.joinable()) sender.join();
    }
  }

  // SIGTERM, as Kubernetes sends it during a rolling deploy.
  void StartShutdown() {
    sigterm_ = std::thread([this] { app_->Shutdown(); });
  }

  lc::testing::TestOrg org_;
  std::vector<std::thread> senders_;
  lc::testing::Reply replies_[kWebhooks];
  std::unique_ptr<v1::HaloPsaService::Stub> stub_;
  grpc::ClientContext rpc_context_;
  v1::CreateTicketRequest rpc_request_;
  v1::CreateTicketResponse rpc_response_;
  testing::CallbackResult<absl::Status> rpc_answer_{"the RPC's answer"};
  std::thread sigterm_;
};

TEST_F(DrainTest, WebhooksAndRpcsInFlightAreAnsweredWhenTheyCompleteWithinTheGrace) {
  ASSERT_NO_FATAL_FAILURE(StartStack(/*latency=*/absl::Milliseconds(1500), /*grace=*/absl::Seconds(15)));
  const int gateway_port = app_->gateway_port();
  SendWebhooks();
  SendRpc();
  ASSERT_TRUE(testing::Eventually([&] { return PostsReceived() == kWebhooks + 1; }, kBound));

  StartShutdown();
  EXPECT_TRUE(testing::Eventually([&] { return ReadyzStatus() == 503; }, kBound));
  EXPECT_TRUE(testing::Eventually([&] { return !testing::TestHttpClient::Connect(gateway_port).ok(); }, kBound));

  JoinSenders();
  for (const lc::testing::Reply& reply : replies_) {
    EXPECT_EQ(reply.status, 200) << reply.body;
    EXPECT_FALSE(reply.has_error()) << reply.body;
  }
  const absl::Status rpc = rpc_answer_.Await(kBound);
  EXPECT_TRUE(rpc.ok()) << rpc;
  EXPECT_GT(rpc_response_.id(), 0);
  sigterm_.join();
  EXPECT_EQ(PostsReceived(), kWebhooks + 1);  // nothing was sent twice
}

TEST_F(DrainTest, WhatOutlivesTheGraceGetsARetriableAnswer) {
  ASSERT_NO_FATAL_FAILURE(StartStack(/*latency=*/absl::Seconds(3), /*grace=*/absl::Milliseconds(500)));
  SendWebhooks();
  SendRpc();
  ASSERT_TRUE(testing::Eventually([&] { return PostsReceived() == kWebhooks + 1; }, kBound));

  StartShutdown();
  JoinSenders();
  for (const lc::testing::Reply& reply : replies_) {
    EXPECT_EQ(reply.status, 500) << reply.body;
    EXPECT_EQ(reply.retriable(), true) << reply.body;
    EXPECT_THAT(reply.error(), HasSubstr("shutting down")) << reply.body;
  }
  const absl::Status rpc = rpc_answer_.Await(kBound);
  EXPECT_EQ(rpc.code(), absl::StatusCode::kUnavailable) << rpc;
  EXPECT_EQ(testing::ReasonOf(rpc), kReasonShuttingDown);
  sigterm_.join();
  EXPECT_THAT(testing::ReadCapturedLog(log_), HasSubstr(R"("msg":"drain_grace_over")"));
}

}  // namespace
}  // namespace halopsa

// The probe's connection flood against the real server: idle TCP
// connections, which need no credentials, fill the gateway's cap. Before
// issue 16 they locked out signed LimaCharlie requests and the kubelet's
// /healthz until they timed out.

#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "app/server_app.h"
#include "tests/testing/lc_over_http.h"
#include "tests/testing/lc_test_client.h"
#include "tests/testing/loopback_config.h"
#include "tests/testing/loopback_stack.h"
#include "tests/testing/test_http_client.h"

namespace halopsa {
namespace {

constexpr char kSigningSecret[] = "lc-flood-secret";
constexpr char kClientId[] = "flood-client";
constexpr char kHaloSecret[] = "flood-halo-secret";
// The gateway's cap, small so the test stays light; the flood is twice it.
constexpr int kCap = 16;

class ConnectionFloodTest : public testing::LoopbackStackTest<> {
 protected:
  void SetUp() override {
    ASSERT_TRUE(StartSimulator(kClientId, kHaloSecret));
    ServerConfig config = testing::LoopbackServerConfig(*sim_, kClientId, kHaloSecret, log_);
    config.gateway_listen = "127.0.0.1:0";
    config.admin_listen = "127.0.0.1:0";
    config.gateway.signing_secret = kSigningSecret;
    config.gateway_max_connections = kCap;
    ASSERT_TRUE(StartServer(config));
  }
};

TEST_F(ConnectionFloodTest, IdleConnectionsAtTheCapLeaveSignedWebhooksAndHealthzAnswering) {
  // Accepted in the order they connect, so when the webhook's connection
  // comes, the cap is full of idle ones.
  std::vector<std::unique_ptr<testing::TestHttpClient>> flood;
  for (int i = 0; i < 2 * kCap; ++i) {
    absl::StatusOr<std::unique_ptr<testing::TestHttpClient>> idle =
        testing::TestHttpClient::Connect(app_->gateway_port());
    ASSERT_TRUE(idle.ok()) << idle.status();
    flood.push_back(*std::move(idle));
  }

  lc::testing::Reply heartbeat =
      lc::testing::LimaCharlieAt(app_->gateway_port(), kSigningSecret).Send(lc::testing::HeartbeatEnvelope());
  EXPECT_EQ(heartbeat.status, 200) << heartbeat.body;
  absl::StatusOr<testing::TestResponse> health = testing::Fetch(app_->admin_port(), false, "GET", "/healthz");
  ASSERT_TRUE(health.ok()) << health.status();
  EXPECT_EQ(health->status, 200);
  // The longest idle made room first.
  EXPECT_TRUE(flood.front()->WaitForClose());
}

}  // namespace
}  // namespace halopsa

// The alert storm end to end (issue 12), scaled down: three LimaCharlie
// orgs share one HaloPSA tenant whose budget is 20 requests per rolling
// 2 s, on the service and at HaloPSA. Org A fires 80
// create_ticket calls in 2 s on 4 dedupe keys (and once without dedupe
// keys); B and C one every 0.5 s. Everything goes through the real gateway
// and server to the simulator over loopback TLS, sent by a LimaCharlie-like
// client that retries 5xx and timeouts (3 attempts) and follows
// continuations, with LimaCharlie's own delays scaled by 1/20 like the
// budget window. No detection may be lost or written twice, and HaloPSA
// must never answer 429.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "app/server_app.h"
#include "simulator/halo_simulator.h"
#include "tests/testing/lc_test_client.h"
#include "tests/testing/limacharlie_client.h"
#include "tests/testing/loopback_config.h"
#include "tests/testing/loopback_stack.h"
#include "tests/testing/storm.h"
#include "tests/testing/test_http_client.h"
#include "tests/testing/test_support.h"

namespace halopsa {
namespace {

constexpr char kSigningSecret[] = "storm-suite-signing-secret";
constexpr char kClientId[] = "storm-suite-client";
constexpr char kHaloSecret[] = "storm-suite-halo-secret";
constexpr int kBudget = 20;
constexpr absl::Duration kWindow = absl::Seconds(2);
// HaloPSA's limit is the budget itself: the budget keeps one slot of each
// window free for the lag between a slot and the request's arrival (without
// it, HaloPSA counted 21 in 2 s here and answered one to three 429s).
constexpr int kHaloPsaLimit = kBudget;
// LimaCharlie's delays at the scale of a 2 s window for 20 requests
// (hosted HaloPSA's is about a minute for 60).
constexpr double kTimeScale = 1.0 / 20;
constexpr int kStormKeys = 4;

// Whether A's detections carry dedupe keys.
enum class Dedupe { kOn, kOff };

class StormTest : public testing::LoopbackStackTest<::testing::TestWithParam<Dedupe>> {
 protected:
  void SetUp() override {
    ASSERT_TRUE(StartSimulator(kClientId, kHaloSecret, /*threads=*/2));
    ServerConfig config = testing::LoopbackGatewayConfig(log_, kSigningSecret);
    // LimaCharlie's calls come from many addresses; here all from 127.0.0.1.
    config.gateway_max_connections_per_source = config.gateway_max_connections;
    config.gateway.call_deadline = absl::Seconds(90) * kTimeScale;
    config.rate_limit.max_requests = kBudget;
    config.rate_limit.window = kWindow;
    ASSERT_TRUE(StartServer(config));

    // The tokens first, then HaloPSA's limit: token requests are not API
    // requests, and the service's budget counts only the latter.
    auto client = testing::LimaCharlieClient::Create(
        {.gateway_port = app_->gateway_port(), .signing_secret = kSigningSecret, .time_scale = kTimeScale});
    ASSERT_TRUE(client.ok()) << client.status();
    client_ = *std::move(client);
    const absl::Status warm = testing::WarmUpTokens(*client_, HaloConfig(), absl::Seconds(10));
    ASSERT_TRUE(warm.ok()) << warm;
    ASSERT_TRUE(sim_->SetFaults({.rate_limit_requests = kHaloPsaLimit, .rate_limit_window = kWindow}).ok());
  }

  void TearDown() override {
    client_.reset();
    LoopbackStackTest::TearDown();
  }

  lc::testing::Config HaloConfig() const {
    return {{"instance_url", sim_->base_url()}, {"client_id", kClientId}, {"client_secret", kHaloSecret}};
  }

  std::unique_ptr<testing::LimaCharlieClient> client_;
};

TEST_P(StormTest, NoDetectionIsLostOrDuplicatedAndHaloPsaNeverAnswers429) {
  const testing::StormShape shape{.storm_detections = 80,
                                  .storm_keys = kStormKeys,
                                  .storm_length = kWindow,
                                  .quiet_every = absl::Milliseconds(500),
                                  .dedupe = GetParam() == Dedupe::kOn};
  const std::vector<testing::StormDetection> detections = testing::PlanStorm(shape, HaloConfig());
  auto outcomes = testing::RunStorm(*client_, detections, absl::Seconds(45));
  ASSERT_TRUE(outcomes.ok()) << outcomes.status();
  auto state = testing::Fetch(sim_->port(), /*tls=*/true, "GET", "/_sim/state");
  ASSERT_TRUE(state.ok()) << state.status();
  auto tallies = testing::TallyStorm(detections, *outcomes, state->body);
  ASSERT_TRUE(tallies.ok()) << tallies.status();

  for (const char* org : {"A", "B", "C"}) {
    const testing::OrgTally& tally = (*tallies)[org];
    SCOPED_TRACE(absl::StrCat("org ", org, ", first failures: ", absl::StrJoin(tally.failures, " | ")));
    EXPECT_GT(tally.fired, 0);
    EXPECT_EQ(tally.succeeded, tally.fired);
    EXPECT_EQ(tally.lost, 0);
    EXPECT_EQ(tally.duplicated, 0);
  }
  if (shape.dedupe) {
    EXPECT_EQ((*tallies)["A"].tickets, kStormKeys);
    EXPECT_EQ((*tallies)["A"].deduplicated, shape.storm_detections - kStormKeys);
  }
  EXPECT_EQ((*tallies)["B"].tickets, (*tallies)["B"].fired);
  EXPECT_EQ((*tallies)["C"].tickets, (*tallies)["C"].fired);
  EXPECT_EQ(sim_->fault_counters().rate_limited, 0);
  EXPECT_LE(sim_->fault_counters().peak_window_requests, kHaloPsaLimit);
}

INSTANTIATE_TEST_SUITE_P(Storm, StormTest, ::testing::Values(Dedupe::kOn, Dedupe::kOff),
                         [](const ::testing::TestParamInfo<Dedupe>& info) {
                           return info.param == Dedupe::kOn ? "WithDedupeKeys" : "WithoutDedupeKeys";
                         });

}  // namespace
}  // namespace halopsa

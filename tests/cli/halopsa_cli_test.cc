// The halopsa-cli binary against a running server (gRPC and gateway) and
// the simulator: every RPC, health, and a signed webhook envelope.

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "app/server_app.h"
#include "server/json_values.h"
#include "simulator/halo_simulator.h"
#include "tests/testing/test_support.h"

namespace halopsa {
namespace {

using ::testing::HasSubstr;

constexpr char kSigningSecret[] = "cli-test-signing-secret";

struct CliRun {
  int exit_code;
  std::string output;  // stdout and stderr
};

// Runs the CLI with `args` (each quoted for the shell).
CliRun Cli(const std::vector<std::string>& args) {
  std::vector<std::string> quoted = {HALOPSA_CLI_BINARY};
  for (const std::string& arg : args) quoted.push_back(absl::StrCat("'", arg, "'"));
  std::FILE* pipe = popen(absl::StrCat(absl::StrJoin(quoted, " "), " 2>&1").c_str(), "r");
  CliRun run{-1, ""};
  if (pipe == nullptr) return run;
  char buffer[4096];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof(buffer), pipe)) > 0) run.output.append(buffer, n);
  int status = pclose(pipe);
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return run;
}

class HalopsaCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto sim = testing::StartTlsSimulator("sim-client", "sim-secret");
    ASSERT_TRUE(sim.ok()) << sim.status();
    sim_ = *std::move(sim);

    ServerConfig config;
    config.grpc_listen = "127.0.0.1:0";
    config.grpc_plaintext = true;
    config.log_output = log_sink_;
    auto connection = std::make_shared<HaloConnection>();
    connection->instance_url = sim_->base_url();
    connection->client_id = "sim-client";
    connection->client_secret = "sim-secret";
    config.default_connection = connection;
    config.transport.extra_ca_file = testing::CertPath("ca.pem");
    config.transport.allow_private_addresses = true;
    config.gateway_listen = "127.0.0.1:0";
    config.gateway.signing_secret = kSigningSecret;
    auto app = ServerApp::Start(config);
    ASSERT_TRUE(app.ok()) << app.status();
    app_ = *std::move(app);
    target_ = absl::StrCat("--target=127.0.0.1:", app_->grpc_port());

    std::ofstream(secret_file_) << kSigningSecret << "\n";
  }

  void TearDown() override {
    app_.reset();
    sim_.reset();
    std::fclose(log_sink_);
    std::remove(secret_file_.c_str());
  }

  std::FILE* log_sink_ = std::tmpfile();
  // Per process: ctest runs each test of this fixture in its own, in parallel.
  std::string secret_file_ = absl::StrCat(::testing::TempDir(), "/cli-test-lc-secret-", getpid());
  std::unique_ptr<sim::HaloSimulator> sim_;
  std::unique_ptr<ServerApp> app_;
  std::string target_;
};

TEST_F(HalopsaCliTest, DrivesEveryRpcAndPrintsJson) {
  CliRun created = Cli({target_, "create_ticket", R"({"summary": "from the cli", "client_id": 12})"});
  ASSERT_EQ(created.exit_code, 0) << created.output;
  absl::StatusOr<google::protobuf::Value> json = ParseJson(created.output);
  ASSERT_TRUE(json.ok()) << created.output;
  int id = static_cast<int>(json->struct_value().fields().at("id").number_value());
  ASSERT_TRUE(sim_->ticket(id).has_value());

  std::vector<std::pair<std::string, std::string>> calls = {
      {"UpdateTicket", absl::StrCat(R"({"id": )", id, R"(, "status_id": 2})")},
      {"search_tickets", R"({"client_id": 12})"},
      {"add_action", absl::StrCat(R"({"ticket_id": )", id, R"(, "note": "cli note"})")},
      {"link_asset_to_ticket", absl::StrCat(R"({"ticket_id": )", id, R"(, "hostname": "CONTOSO-LT-7"})")},
      {"lookup_client_site", R"({"type": "site", "client_id": 12})"},
      {"mirror_case", R"({"case_id": "cli-case-1", "summary": "from the cli", "note": "cli case note"})"},
      {"PullTicketChanges", R"({"limit": 10})"},
  };
  for (const auto& [action, request] : calls) {
    CliRun run = Cli({target_, action, request});
    EXPECT_EQ(run.exit_code, 0) << action << ": " << run.output;
    EXPECT_TRUE(ParseJson(run.output).ok()) << action << ": " << run.output;
  }
  EXPECT_EQ(sim_->ticket(id)->fields().at("status_id").number_value(), 2);
  EXPECT_EQ(sim_->actions(id).back().fields().at("note").string_value(), "cli note");
}

TEST_F(HalopsaCliTest, DedupeKeyOverGrpcAndThroughTheGateway) {
  const std::string request = R"({"summary": "storm", "client_id": 12, "dedupe_key": "cli-storm-1"})";
  CliRun opened = Cli({target_, "create_ticket", request});
  ASSERT_EQ(opened.exit_code, 0) << opened.output;
  absl::StatusOr<google::protobuf::Value> json = ParseJson(opened.output);
  ASSERT_TRUE(json.ok()) << opened.output;
  const double id = json->struct_value().fields().at("id").number_value();
  EXPECT_THAT(opened.output, ::testing::Not(HasSubstr("deduplicated")));  // proto3 JSON leaves false out

  CliRun again = Cli({target_, "create_ticket", request});
  ASSERT_EQ(again.exit_code, 0) << again.output;
  EXPECT_THAT(again.output, HasSubstr(R"("deduplicated": true)"));
  EXPECT_THAT(again.output, HasSubstr(absl::StrCat(R"("id": )", id)));

  std::string gateway = absl::StrCat("--gateway_url=http://127.0.0.1:", app_->gateway_port(), "/");
  std::string secret = absl::StrCat("--lc_extension_secret_file=", secret_file_);
  std::string config = absl::StrCat(R"(--org_config={"instance_url": ")", sim_->base_url(),
                                    R"(", "client_id": "sim-client", "client_secret": "sim-secret"})");
  CliRun webhook = Cli({gateway, secret, config, "webhook", "create_ticket",
                        R"({"summary": "storm", "client_id": "12", "dedupe_key": "cli-storm-1", "dedupe_window_min": "30"})"});
  EXPECT_EQ(webhook.exit_code, 0) << webhook.output;
  EXPECT_THAT(webhook.output, HasSubstr(R"("deduplicated":true)"));
  EXPECT_THAT(webhook.output, HasSubstr(absl::StrCat(R"("id":)", id)));
}

TEST_F(HalopsaCliTest, ReportsErrorsWithDetails) {
  CliRun run = Cli({target_, "create_ticket", R"({"details": "no summary"})"});
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_THAT(run.output, HasSubstr("summary: is required"));
  EXPECT_THAT(run.output, HasSubstr("INVALID_FIELD"));
  EXPECT_EQ(Cli({target_, "no_such_action", "{}"}).exit_code, 2);
  EXPECT_EQ(Cli({target_, "create_ticket", "{not json"}).exit_code, 2);
}

TEST_F(HalopsaCliTest, Health) {
  CliRun run = Cli({target_, "health"});
  EXPECT_EQ(run.exit_code, 0) << run.output;
  EXPECT_THAT(run.output, HasSubstr("SERVING"));
}

TEST_F(HalopsaCliTest, SignsAndSendsWebhookEnvelopes) {
  std::string gateway = absl::StrCat("--gateway_url=http://127.0.0.1:", app_->gateway_port(), "/");
  std::string secret = absl::StrCat("--lc_extension_secret_file=", secret_file_);
  CliRun heartbeat = Cli({gateway, secret, "webhook", R"({"version": 20221218, "heartbeat": {}})"});
  EXPECT_EQ(heartbeat.exit_code, 0) << heartbeat.output;
  EXPECT_THAT(heartbeat.output, HasSubstr("HTTP 200"));

  std::string config = absl::StrCat(R"(--org_config={"instance_url": ")", sim_->base_url(),
                                    R"(", "client_id": "sim-client", "client_secret": "sim-secret"})");
  CliRun request = Cli({gateway, secret, config, "webhook", "create_ticket", R"({"summary": "via webhook", "client_id": "12"})"});
  EXPECT_EQ(request.exit_code, 0) << request.output;
  EXPECT_THAT(request.output, HasSubstr("via webhook"));

  std::ofstream(secret_file_) << "not-the-key\n";
  CliRun unsigned_right = Cli({gateway, secret, "webhook", R"({"version": 20221218, "heartbeat": {}})"});
  EXPECT_EQ(unsigned_right.exit_code, 1);
  EXPECT_THAT(unsigned_right.output, HasSubstr("HTTP 401"));
}

}  // namespace
}  // namespace halopsa

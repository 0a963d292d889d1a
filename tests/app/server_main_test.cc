// halopsa-server as an operator starts it: settings from the environment,
// and a refusal reported as one JSON log line and exit code 2.

#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "tests/testing/child_process.h"

namespace halopsa {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

constexpr int kRefusedExitCode = 2;

struct Refusal {
  std::string name;
  std::string setting;   // NAME=value
  std::string message;   // part of the logged error
};

// The lines halopsa-server wrote before it exited, given `env` besides
// plaintext gRPC, a signing key and port-0 listeners.
std::vector<std::string> LinesOfARefusedStart(const std::string& name, const std::vector<std::string>& env) {
  std::vector<std::string> environment = {"HALOPSA_GRPC_PLAINTEXT=true", "LC_EXTENSION_SECRET=signing-key"};
  environment.insert(environment.end(), env.begin(), env.end());
  const std::string log = absl::StrCat(::testing::TempDir(), "/server_main_", name, ".log");
  auto server = testing::ChildProcess::Spawn(
      HALOPSA_SERVER_BINARY, {"--grpc_listen=127.0.0.1:0", "--gateway_listen=127.0.0.1:0", "--admin_listen="},
      environment, log);
  if (!server.ok()) {
    ADD_FAILURE() << server.status();
    return {};
  }
  absl::StatusOr<int> exit_code = (*server)->WaitForExit(absl::Seconds(20));
  EXPECT_TRUE(exit_code.ok()) << exit_code.status();
  EXPECT_EQ(exit_code.value_or(0), kRefusedExitCode);
  return absl::StrSplit(testing::ReadFile(log).value_or(""), '\n', absl::SkipEmpty());
}

class ServerMainRefusesTest : public ::testing::TestWithParam<Refusal> {};

TEST_P(ServerMainRefusesTest, WithOneJsonLineNamingTheSetting) {
  std::vector<std::string> lines = LinesOfARefusedStart(GetParam().name, {GetParam().setting});
  ASSERT_EQ(lines.size(), 1u) << absl::StrJoin(lines, "\n");
  EXPECT_THAT(lines[0], AllOf(StartsWith("{\"ts\":"), HasSubstr(R"("level":"error","msg":"not_started")"),
                              HasSubstr(GetParam().message)));
}

INSTANTIATE_TEST_SUITE_P(
    Settings, ServerMainRefusesTest,
    ::testing::Values(
        Refusal{"zero_count", "HALOPSA_MAX_CALLS_IN_FLIGHT=0",
                "HALOPSA_MAX_CALLS_IN_FLIGHT / --max_calls_in_flight must be at least 1, not 0"},
        // Raised to 1 without a word before.
        Refusal{"negative_count", "HALOPSA_MAX_CALLS_IN_FLIGHT=-1",
                "HALOPSA_MAX_CALLS_IN_FLIGHT: Illegal value '-1'"},
        Refusal{"reply_cache_entries", "HALOPSA_GATEWAY_REPLY_CACHE_MAX_ENTRIES=0",
                "HALOPSA_GATEWAY_REPLY_CACHE_MAX_ENTRIES / --gateway_reply_cache_max_entries must be at least 1"},
        Refusal{"reply_cache_bytes", "HALOPSA_GATEWAY_REPLY_CACHE_MAX_BYTES=0",
                "HALOPSA_GATEWAY_REPLY_CACHE_MAX_BYTES / --gateway_reply_cache_max_bytes must be at least 1"},
        Refusal{"log_level", "HALOPSA_LOG_LEVEL=loud", "HALOPSA_LOG_LEVEL / --log_level: unknown log level 'loud'"},
        Refusal{"allowed_upstreams", "HALOPSA_ALLOWED_UPSTREAMS=10.0.0.0/99",
                "HALOPSA_ALLOWED_UPSTREAMS / --allowed_upstreams: allowed upstream '10.0.0.0/99' has a bad prefix"},
        Refusal{"unparsable_duration", "HALOPSA_IO_TIMEOUT=soon", "HALOPSA_IO_TIMEOUT: Illegal value 'soon'"}),
    [](const ::testing::TestParamInfo<Refusal>& info) { return info.param.name; });

TEST(ServerMainTest, ARefusalNeverCarriesASecret) {
  std::vector<std::string> lines = LinesOfARefusedStart(
      "secret", {"HALOPSA_INSTANCE_URL=https://acme.halopsa.com", "HALOPSA_CLIENT_SECRET=hunter2-client-secret",
                 "LC_EXTENSION_SECRET_FILE=/run/secrets/lc"});
  ASSERT_EQ(lines.size(), 1u) << absl::StrJoin(lines, "\n");
  EXPECT_THAT(lines[0], AllOf(HasSubstr("HALOPSA_CLIENT_ID"), HasSubstr("LC_EXTENSION_SECRET_FILE"),
                              Not(HasSubstr("hunter2")), Not(HasSubstr("signing-key"))));
}

}  // namespace
}  // namespace halopsa

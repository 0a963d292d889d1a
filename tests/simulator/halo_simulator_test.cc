// OAuth2, bearer checks, test controls, HTTPS and the halopsa-sim binary.

#include "simulator/halo_simulator.h"

#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "simulator/json.h"
#include "tests/simulator/sim_test_fixture.h"

extern char** environ;

namespace halopsa::sim {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::Pair;
using ::testing::SizeIs;
using ::testing::StartsWith;

// ---- /auth/token ----

TEST_F(SimulatorTest, TokenAnswerHasBearerTypeAndLifetime) {
  const Value token = Json(RequestToken(*simulator_, kGoodForm));
  EXPECT_THAT(Text(token, "access_token"), SizeIs(32));
  EXPECT_NE(Text(token, "access_token"), token_);
  EXPECT_EQ(Text(token, "token_type"), "Bearer");
  EXPECT_EQ(Number(token, "expires_in"), 3600);
  EXPECT_EQ(simulator_->token_requests(), 2);  // SetUp's and this one
}

TEST_F(SimulatorTest, WrongCredentialsAreInvalidClient) {
  for (const char* form :
       {"grant_type=client_credentials&client_id=sim-client&client_secret=wrong&scope=all",
        "grant_type=client_credentials&client_id=other&client_secret=sim-secret&scope=all",
        "grant_type=client_credentials&scope=all"}) {
    const testing::TestResponse response = RequestToken(*simulator_, form);
    EXPECT_EQ(response.status, 401) << form;
    EXPECT_EQ(response.body, R"({"error":"invalid_client"})");
  }
  EXPECT_EQ(simulator_->token_requests(), 1);
}

TEST_F(SimulatorTest, TokenRequestMustBeAClientCredentialsForm) {
  const testing::TestResponse password = RequestToken(
      *simulator_, "grant_type=password&client_id=sim-client&client_secret=sim-secret&scope=all");
  EXPECT_EQ(password.status, 400);
  EXPECT_EQ(Text(Json(password), "error"), "unsupported_grant_type");

  const testing::TestResponse json =
      Call(simulator_->port(), false, "POST", "/auth/token",
           R"({"grant_type": "client_credentials"})", {{"Content-Type", "application/json"}});
  EXPECT_EQ(json.status, 400);
  EXPECT_EQ(Text(Json(json), "error"), "invalid_request");
}

TEST(SimulatorAuthTest, FormValuesArePercentAndPlusDecoded) {
  SimulatorOptions options;
  options.client_secret = "p+ss/&word x";
  std::unique_ptr<HaloSimulator> simulator = StartSimulator(options);
  ASSERT_NE(simulator, nullptr);
  EXPECT_EQ(RequestToken(*simulator,
                         "grant_type=client_credentials&client_id=sim-client"
                         "&client_secret=p%2Bss%2F%26word+x&scope=all")
                .status,
            200);
  EXPECT_EQ(RequestToken(*simulator,
                         "grant_type=client_credentials&client_id=sim-client"
                         "&client_secret=p+ss/&word x&scope=all")
                .status,
            401);
}

TEST(SimulatorAuthTest, TenantMustMatchWhenConfigured) {
  SimulatorOptions options;
  options.tenant = "acme";
  std::unique_ptr<HaloSimulator> simulator = StartSimulator(options);
  ASSERT_NE(simulator, nullptr);
  EXPECT_EQ(RequestToken(*simulator, kGoodForm).status, 401);
  const testing::TestResponse wrong = RequestToken(*simulator, kGoodForm, "?tenant=globex");
  EXPECT_EQ(wrong.status, 401);
  EXPECT_EQ(Text(Json(wrong), "error"), "invalid_client");
  EXPECT_EQ(RequestToken(*simulator, kGoodForm, "?tenant=acme").status, 200);
  EXPECT_EQ(simulator->token_requests(), 1);
}

TEST_F(SimulatorTest, TokenWithoutScopeIsIssuedButRejectedByTheApi) {
  for (const char* form :
       {"grant_type=client_credentials&client_id=sim-client&client_secret=sim-secret",
        "grant_type=client_credentials&client_id=sim-client&client_secret=sim-secret&scope="}) {
    const testing::TestResponse token = RequestToken(*simulator_, form);
    ASSERT_EQ(token.status, 200) << form;
    const testing::TestResponse api =
        Call(simulator_->port(), false, "GET", "/api/Tickets", "",
             {{"Authorization", "Bearer " + Text(Json(token), "access_token")}});
    EXPECT_EQ(api.status, 401) << form;
  }
}

TEST(SimulatorAuthTest, ExpiredTokenIsRejected) {
  SimulatorOptions options;
  options.token_lifetime = absl::ZeroDuration();
  std::unique_ptr<HaloSimulator> simulator = StartSimulator(options);
  ASSERT_NE(simulator, nullptr);
  const testing::TestResponse token = RequestToken(*simulator, kGoodForm);
  ASSERT_EQ(token.status, 200);
  EXPECT_EQ(Number(Json(token), "expires_in"), 0);
  EXPECT_EQ(Call(simulator->port(), false, "GET", "/api/Client", "",
                 {{"Authorization", "Bearer " + Text(Json(token), "access_token")}})
                .status,
            401);
}

// ---- Bearer checks ----

TEST_F(SimulatorTest, ApiCallsNeedAValidBearerToken) {
  const auto status_with = [&](const testing::TestHeaders& headers) {
    return Call(simulator_->port(), false, "GET", "/api/Client", "", headers).status;
  };
  EXPECT_EQ(status_with({}), 401);
  EXPECT_EQ(status_with({{"Authorization", "Bearer not-a-token"}}), 401);
  EXPECT_EQ(status_with({{"Authorization", "Basic " + token_}}), 401);
  EXPECT_EQ(status_with({{"Authorization", "bearer " + token_}}), 200);
  EXPECT_EQ(Api("GET", "/api/Client").status, 200);
}

TEST_F(SimulatorTest, RevokedTokensAreRejectedAndNewOnesWork) {
  simulator_->RevokeTokens();
  EXPECT_EQ(Api("GET", "/api/Client").status, 401);

  const testing::TestResponse fresh = RequestToken(*simulator_, kGoodForm);
  token_ = Text(Json(fresh), "access_token");
  EXPECT_EQ(Api("GET", "/api/Client").status, 200);

  EXPECT_EQ(Call(simulator_->port(), false, "POST", "/_sim/revoke_tokens").status, 204);
  EXPECT_EQ(Api("GET", "/api/Client").status, 401);
}

// ---- Injected failures ----

TEST_F(SimulatorTest, InjectedFailuresAnswerTheNextMatchingRequests) {
  const std::string rate_limited = "Rate Limit Reached - 300 Requests per rolling 5 minute window";
  simulator_->InjectFailure("GET", "/api/Tickets", 429, rate_limited, 2);

  EXPECT_EQ(Api("GET", "/api/Client").status, 200);  // other path
  EXPECT_EQ(Api("POST", "/api/Tickets", R"([{"summary": "s"}])").status, 200);  // other method
  for (int i = 0; i < 2; ++i) {
    const testing::TestResponse failed = Api("GET", "/api/Tickets/2884");
    EXPECT_EQ(failed.status, 429);
    EXPECT_EQ(failed.body, rate_limited);
    EXPECT_EQ(failed.Header("Content-Type"), "text/plain; charset=utf-8");
  }
  EXPECT_EQ(Api("GET", "/api/Tickets/2884").status, 200);
}

TEST_F(SimulatorTest, InjectedFailuresOverHttpIncludingTheTokenEndpoint) {
  const testing::TestResponse accepted =
      Call(simulator_->port(), false, "POST", "/_sim/fail",
           R"({"method": "POST", "path_prefix": "/auth/token", "status": 503,
               "body": "{\"error\":\"maintenance\"}", "count": 1})");
  EXPECT_EQ(accepted.status, 204);

  const testing::TestResponse failed = RequestToken(*simulator_, kGoodForm);
  EXPECT_EQ(failed.status, 503);
  EXPECT_EQ(failed.body, R"({"error":"maintenance"})");
  EXPECT_EQ(failed.Header("Content-Type"), "application/json; charset=utf-8");
  EXPECT_EQ(RequestToken(*simulator_, kGoodForm).status, 200);
  EXPECT_EQ(simulator_->token_requests(), 2);

  EXPECT_EQ(Call(simulator_->port(), false, "POST", "/_sim/fail", R"({"status": 42})").status, 400);
  EXPECT_EQ(Call(simulator_->port(), false, "POST", "/_sim/fail", "[]").status, 400);
}

// ---- Recorded requests and state ----

TEST_F(SimulatorTest, RequestsAreRecordedDecodedExceptControlCalls) {
  simulator_->ClearRequests();
  ASSERT_EQ(RequestToken(*simulator_, kGoodForm).status, 200);
  ASSERT_EQ(Api("GET", "/api/Tickets?search=a+b%26c&client_id=2").status, 200);
  ASSERT_EQ(Call(simulator_->port(), false, "GET", "/_sim/requests").status, 200);

  const std::vector<RecordedRequest> recorded = simulator_->requests();
  ASSERT_THAT(recorded, SizeIs(2));
  EXPECT_EQ(recorded[0].method, "POST");
  EXPECT_EQ(recorded[0].path, "/auth/token");
  EXPECT_EQ(recorded[0].content_type, kFormType);
  EXPECT_EQ(recorded[0].body, kGoodForm);
  EXPECT_EQ(recorded[1].method, "GET");
  EXPECT_EQ(recorded[1].path, "/api/Tickets");
  EXPECT_THAT(recorded[1].query, ElementsAre(Pair("search", "a b&c"), Pair("client_id", "2")));
  EXPECT_EQ(recorded[1].authorization, "Bearer " + token_);

  const Value listed = Json(Call(simulator_->port(), false, "GET", "/_sim/requests"));
  ASSERT_THAT(listed.list_value().values(), SizeIs(2));
  const Value& second = listed.list_value().values(1);
  EXPECT_EQ(Text(second, "path"), "/api/Tickets");
  EXPECT_EQ(Text(Get(second, "query").list_value().values(0), "value"), "a b&c");

  EXPECT_EQ(Call(simulator_->port(), false, "DELETE", "/_sim/requests").status, 204);
  EXPECT_THAT(simulator_->requests(), IsEmpty());
}

TEST_F(SimulatorTest, StateEndpointShowsTicketsActionsAndAssets) {
  ASSERT_EQ(Api("POST", "/api/Tickets", R"([{"summary": "fresh", "details": "body"}])").status,
            200);
  const Value state = Json(Call(simulator_->port(), false, "GET", "/_sim/state"));
  EXPECT_THAT(Get(state, "tickets").list_value().values(), SizeIs(126));  // 125 seeded
  EXPECT_THAT(Get(state, "actions").list_value().values(), SizeIs(126));  // one body each
  EXPECT_THAT(Ids(Get(state, "assets")), ElementsAre(1, 2, 3));
  EXPECT_EQ(Text(Get(state, "tickets").list_value().values(125), "summary"), "fresh");
}

// ---- Transport ----

TEST(SimulatorTransportTest, ServesHttpsWithTheTestCertificate) {
  SimulatorOptions options;
  options.tls_cert_file = HALOPSA_TESTDATA_DIR "/certs/server.pem";
  options.tls_key_file = HALOPSA_TESTDATA_DIR "/certs/server.key";
  std::unique_ptr<HaloSimulator> simulator = StartSimulator(options);
  ASSERT_NE(simulator, nullptr);
  EXPECT_EQ(simulator->base_url(), absl::StrCat("https://127.0.0.1:", simulator->port()));

  const testing::TestResponse token = RequestToken(*simulator, kGoodForm);
  ASSERT_EQ(token.status, 200);
  const testing::TestResponse ticket =
      Call(simulator->port(), /*tls=*/true, "GET", "/api/Tickets/2884", "",
           {{"Authorization", "Bearer " + Text(Json(token), "access_token")}});
  EXPECT_EQ(ticket.status, 200);
  EXPECT_EQ(Text(Json(ticket), "summary"), "Suspicious login");
}

TEST(SimulatorTransportTest, BaseUrlNamesAReachableHost) {
  SimulatorOptions options;
  options.listen = "0.0.0.0:0";
  std::unique_ptr<HaloSimulator> simulator = StartSimulator(options);
  ASSERT_NE(simulator, nullptr);
  EXPECT_EQ(simulator->base_url(), absl::StrCat("http://127.0.0.1:", simulator->port()));
}

TEST(SimulatorTransportTest, StartFailsOnBadListenAddress) {
  SimulatorOptions options;
  options.listen = "127.0.0.1:notaport";
  EXPECT_FALSE(HaloSimulator::Start(options).ok());
}

TEST(SimulatorTransportTest, ConcurrentCreatesGetDistinctIds) {
  SimulatorOptions options;
  options.threads = 2;
  std::unique_ptr<HaloSimulator> simulator = StartSimulator(options);
  ASSERT_NE(simulator, nullptr);
  const std::string bearer = "Bearer " + Text(Json(RequestToken(*simulator, kGoodForm)),
                                              "access_token");
  constexpr int kPerThread = 10;
  std::vector<std::vector<int64_t>> ids(2);
  std::vector<std::thread> writers;
  for (int w = 0; w < 2; ++w) {
    writers.emplace_back([&, w] {
      for (int i = 0; i < kPerThread; ++i) {
        const testing::TestResponse created =
            Call(simulator->port(), false, "POST", "/api/Tickets", R"([{"summary": "c"}])",
                 {{"Authorization", bearer}});
        ids[w].push_back(IntField(Json(created).struct_value(), "id").value_or(-1));
      }
    });
  }
  for (std::thread& writer : writers) writer.join();
  std::set<int64_t> distinct(ids[0].begin(), ids[0].end());
  distinct.insert(ids[1].begin(), ids[1].end());
  ASSERT_THAT(distinct, SizeIs(2 * kPerThread));
  EXPECT_EQ(*distinct.begin(), 2885);
  EXPECT_EQ(*distinct.rbegin(), 2885 + 2 * kPerThread - 1);
}

// ---- The halopsa-sim binary ----

// Reads from `fd` until a newline (when `line`) or EOF; nullopt if that does
// not happen within `timeout`.
std::optional<std::string> ReadFrom(int fd, bool line, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  std::string out;
  while (!line || out.find('\n') == std::string::npos) {
    pollfd readable{.fd = fd, .events = POLLIN, .revents = 0};
    const int wait_ms = static_cast<int>(absl::ToInt64Milliseconds(deadline - absl::Now()));
    if (wait_ms <= 0 || poll(&readable, 1, wait_ms) <= 0) return std::nullopt;
    char buffer[256];
    const ssize_t n = read(fd, buffer, sizeof(buffer));
    if (n <= 0) return line ? std::nullopt : std::optional<std::string>(out);
    out.append(buffer, static_cast<size_t>(n));
  }
  return out;
}

TEST(SimulatorBinaryTest, AnnouncesItsUrlServesAndStopsOnSigterm) {
  int pipe_fds[2];
  ASSERT_EQ(pipe(pipe_fds), 0);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_addclose(&actions, pipe_fds[0]);
  posix_spawn_file_actions_addclose(&actions, pipe_fds[1]);
  std::string binary = HALOPSA_SIM_BINARY;
  std::string lifetime = "--token_lifetime=90s";
  std::string secret = "--client_secret=binary-secret";
  char* argv[] = {binary.data(), lifetime.data(), secret.data(), nullptr};
  pid_t pid = 0;
  const int spawned = posix_spawn(&pid, binary.c_str(), &actions, nullptr, argv, environ);
  posix_spawn_file_actions_destroy(&actions);
  close(pipe_fds[1]);
  ASSERT_EQ(spawned, 0);

  const std::optional<std::string> announced = ReadFrom(pipe_fds[0], true, absl::Seconds(10));
  int port = 0;
  if (announced.has_value()) {
    EXPECT_THAT(*announced, ::testing::MatchesRegex(
                                "halopsa-sim listening on http://127\\.0\\.0\\.1:[0-9]+\n"));
    EXPECT_TRUE(absl::SimpleAtoi(announced->substr(announced->rfind(':') + 1,
                                                   announced->size() - announced->rfind(':') - 2),
                                 &port));
  }
  if (port > 0) {
    const testing::TestResponse token =
        Call(port, false, "POST", "/auth/token",
             "grant_type=client_credentials&client_id=sim-client"
             "&client_secret=binary-secret&scope=all",
             {{"Content-Type", kFormType}});
    EXPECT_EQ(token.status, 200);
    EXPECT_EQ(Number(Json(token), "expires_in"), 90);
  } else {
    ADD_FAILURE() << "no listening line: " << announced.value_or("(timeout)");
  }

  kill(pid, SIGTERM);
  // stdout closes when the process exits.
  const std::optional<std::string> rest = ReadFrom(pipe_fds[0], false, absl::Seconds(10));
  if (!rest.has_value()) kill(pid, SIGKILL);
  close(pipe_fds[0]);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_EQ(rest, "");
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
}

}  // namespace
}  // namespace halopsa::sim

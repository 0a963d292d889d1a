// Fault injection: each kind over loopback, its HTTP control, its counters,
// the state accessors a fault-injection suite asserts on, and the delayed
// answers behind latency.

#include <cstddef>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "simulator/delayed_answers.h"
#include "simulator/faults.h"
#include "simulator/halo_simulator.h"
#include "simulator/json.h"
#include "tests/simulator/sim_test_fixture.h"
#include "tests/testing/test_http_client.h"

namespace halopsa::sim {
namespace {

using ::testing::AnyOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::SizeIs;

constexpr char kProbeSummary[] = "fault probe";
constexpr char kCreateProbe[] = R"([{"summary": "fault probe"}])";
constexpr int kSeededTickets = 125;

class SimulatorFaultsTest : public SimulatorTest {
 protected:
  void SetFaults(FaultConfig config) {
    const absl::Status set = simulator_->SetFaults(std::move(config));
    ASSERT_TRUE(set.ok()) << set;
  }

  testing::TestResponse Control(const std::string& method, const std::string& body = "") {
    return Call(simulator_->port(), /*tls=*/false, method, "/_sim/faults", body);
  }

  // Tickets the tests created, as the simulator holds them.
  int ProbeTickets() const {
    int count = 0;
    for (const Struct& ticket : simulator_->tickets()) {
      if (StringField(ticket, "summary") == kProbeSummary) ++count;
    }
    return count;
  }

  // Searches for the probe ticket over HTTP until it shows up (true) or
  // `within` has passed: each search answered is one not held up behind a
  // delayed answer.
  bool SearchUntilProbeTicketShows(absl::Duration within) {
    const absl::Time deadline = absl::Now() + within;
    while (absl::Now() < deadline) {
      const testing::TestResponse search = Api("GET", "/api/Tickets?search=fault+probe");
      if (search.status != 200) return false;
      if (Number(Json(search), "record_count") > 0) return true;
    }
    return false;
  }

  // Sends an authorized request on a fresh connection; true when the server
  // closes it without sending a single byte.
  bool ClosedWithoutAnswer(const std::string& method, const std::string& target,
                           const std::string& body = "") {
    absl::StatusOr<std::unique_ptr<testing::TestHttpClient>> client =
        testing::TestHttpClient::Connect(simulator_->port());
    EXPECT_TRUE(client.ok()) << client.status();
    if (!client.ok()) return false;
    const absl::Status written = (*client)->WriteRaw(absl::StrCat(
        method, " ", target, " HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ", token_,
        "\r\nContent-Type: application/json\r\nContent-Length: ", body.size(), "\r\n\r\n", body));
    EXPECT_TRUE(written.ok()) << written;
    return written.ok() && (*client)->WaitForClose();
  }
};

// ---- Configuration ----

TEST_F(SimulatorFaultsTest, EverythingIsOffByDefault) {
  EXPECT_EQ(simulator_->faults(), FaultConfig());
  EXPECT_EQ(Api("POST", "/api/Tickets", kCreateProbe).status, 200);
  EXPECT_EQ(Api("GET", "/api/Client").status, 200);
  EXPECT_EQ(simulator_->fault_counters(), FaultCounters());

  const Value state = Json(Control("GET"));
  EXPECT_EQ(Number(Get(state, "config"), "error_before_probability"), 0);
  EXPECT_EQ(Number(Get(state, "config"), "rate_limit_window_ms"), 300000);
  EXPECT_EQ(Number(Get(state, "counters"), "requests"), 0);
  EXPECT_EQ(Number(Get(state, "counters"), "failed"), 0);
}

TEST_F(SimulatorFaultsTest, ConfigIsSetReadAndClearedOverHttp) {
  const testing::TestResponse set = Control("POST", R"({
      "seed": 42, "method": "PATCH",
      "latency_min_ms": 5, "latency_max_ms": 10.5, "token_delay_ms": 3,
      "rate_limit_requests": 1000, "rate_limit_window_ms": 60000,
      "error_before_probability": 0.1, "drop_before_probability": 0.05,
      "revoke_tokens_probability": 0.01,
      "error_after_probability": 0.02, "drop_after_probability": 0.03})");
  ASSERT_EQ(set.status, 204) << set.body;

  const FaultConfig expected{.seed = 42,
                             .method = "PATCH",
                             .latency_min = absl::Milliseconds(5),
                             .latency_max = absl::Microseconds(10500),
                             .token_delay = absl::Milliseconds(3),
                             .rate_limit_requests = 1000,
                             .rate_limit_window = absl::Minutes(1),
                             .error_before_probability = 0.1,
                             .drop_before_probability = 0.05,
                             .revoke_tokens_probability = 0.01,
                             .error_after_probability = 0.02,
                             .drop_after_probability = 0.03};
  EXPECT_EQ(simulator_->faults(), expected);
  const Value config = Get(Json(Control("GET")), "config");
  EXPECT_EQ(Number(config, "seed"), 42);
  EXPECT_EQ(Text(config, "method"), "PATCH");
  EXPECT_EQ(Number(config, "latency_max_ms"), 10.5);
  EXPECT_EQ(Number(config, "rate_limit_window_ms"), 60000);
  EXPECT_EQ(Number(config, "drop_after_probability"), 0.03);

  EXPECT_EQ(Control("DELETE").status, 204);
  EXPECT_EQ(simulator_->faults(), FaultConfig());
}

TEST_F(SimulatorFaultsTest, InvalidConfigIsRefusedAndChangesNothing) {
  SetFaults({.seed = 9});
  for (const char* body : {
           "not json",
           "[]",
           R"({"eror_before_probability": 0.1})",
           R"({"error_before_probability": 1.5})",
           R"({"drop_after_probability": -0.1})",
           R"({"error_before_probability": 0.6, "drop_before_probability": 0.6})",
           R"({"latency_min_ms": -1})",
           R"({"latency_min_ms": 20, "latency_max_ms": 10})",
           R"({"token_delay_ms": "5"})",
           R"({"seed": -1})",
           R"({"seed": 1.5})",
           R"({"rate_limit_requests": 2.5})",
           R"({"rate_limit_requests": 5, "rate_limit_window_ms": 0})",
           R"({"method": 1})",
       }) {
    const testing::TestResponse refused = Control("POST", body);
    EXPECT_EQ(refused.status, 400) << body;
    EXPECT_TRUE(Has(Json(refused), "error")) << body;
  }
  EXPECT_THAT(Control("POST", R"({"eror_before_probability": 0.1})").body,
              HasSubstr("eror_before_probability: unknown field"));
  EXPECT_EQ(simulator_->faults(), FaultConfig{.seed = 9});

  EXPECT_EQ(simulator_->SetFaults({.latency_max = absl::Milliseconds(-1)}).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(simulator_->SetFaults({.revoke_tokens_probability = 2}).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(simulator_->faults(), FaultConfig{.seed = 9});
}

// ---- Each fault ----

TEST_F(SimulatorFaultsTest, LatencyDelaysTheAnswerWithoutBlockingOtherRequests) {
  constexpr absl::Duration kLatency = absl::Seconds(3);
  SetFaults({.method = "POST", .latency_min = kLatency, .latency_max = kLatency});

  const absl::Time start = absl::Now();
  absl::Notification answered;
  testing::TestResponse created;
  std::thread creator([&] {
    created = Api("POST", "/api/Tickets", kCreateProbe);
    answered.Notify();
  });
  // GETs (not delayed: other method) are answered by the same single server
  // thread while the POST's ticket exists and its answer is held back.
  EXPECT_TRUE(SearchUntilProbeTicketShows(kLatency));
  EXPECT_FALSE(answered.HasBeenNotified());

  creator.join();
  EXPECT_EQ(created.status, 200);
  EXPECT_EQ(Text(Json(created), "summary"), kProbeSummary);
  EXPECT_GE(absl::Now() - start, kLatency);
  EXPECT_EQ(simulator_->fault_counters().delayed, 1);
  EXPECT_EQ(simulator_->fault_counters().failed(), 0);
}

TEST_F(SimulatorFaultsTest, ShutdownSendsAnswersStillHeldBack) {
  SetFaults({.method = "POST", .latency_min = absl::Hours(1), .latency_max = absl::Hours(1)});
  testing::TestResponse created;
  std::thread creator([&] { created = Api("POST", "/api/Tickets", kCreateProbe); });
  EXPECT_TRUE(SearchUntilProbeTicketShows(absl::Seconds(10)));
  simulator_->Shutdown();
  creator.join();
  EXPECT_EQ(created.status, 200);
}

TEST_F(SimulatorFaultsTest, SlowTokenEndpointDelaysTokenAnswersOnly) {
  constexpr absl::Duration kDelay = absl::Seconds(1);
  SetFaults({.token_delay = kDelay});

  const absl::Time start = absl::Now();
  const testing::TestResponse token = RequestToken(*simulator_, kGoodForm);
  EXPECT_GE(absl::Now() - start, kDelay);
  ASSERT_EQ(token.status, 200);
  EXPECT_EQ(Api("GET", "/api/Client").status, 200);

  const FaultCounters counters = simulator_->fault_counters();
  EXPECT_EQ(counters.token_delayed, 1);
  EXPECT_EQ(counters.delayed, 0);
  EXPECT_EQ(counters.requests, 2);
}

TEST_F(SimulatorFaultsTest, RateLimitAnswers429WithoutProcessing) {
  SetFaults({.rate_limit_requests = 2, .rate_limit_window = absl::Minutes(10)});
  EXPECT_EQ(Api("GET", "/api/Client").status, 200);
  EXPECT_EQ(Api("GET", "/api/Site").status, 200);

  const testing::TestResponse limited = Api("POST", "/api/Tickets", kCreateProbe);
  EXPECT_EQ(limited.status, 429);
  EXPECT_EQ(limited.body, "Rate Limit Reached - 2 Requests per rolling 10 minute window");
  EXPECT_EQ(limited.Header("Content-Type"), "text/plain; charset=utf-8");
  EXPECT_EQ(limited.Header("Retry-After"), "");
  EXPECT_EQ(ProbeTickets(), 0);
  EXPECT_EQ(RequestToken(*simulator_, kGoodForm).status, 429);
  EXPECT_EQ(simulator_->token_requests(), 1);  // SetUp's

  const FaultCounters counters = simulator_->fault_counters();
  EXPECT_EQ(counters.rate_limited, 2);
  EXPECT_EQ(counters.requests, 4);
  // Refused requests arrived too: the per-window figures count them.
  const Value json = Get(Json(Control("GET")), "counters");
  EXPECT_EQ(Number(json, "peak_window_requests"), 4);
  ASSERT_EQ(Get(json, "requests_per_window").list_value().values_size(), 1);
  EXPECT_EQ(Get(json, "requests_per_window").list_value().values(0).number_value(), 4);
}

// Times are given, so windows are counted without waiting for them.
TEST(FaultInjectorTest, CountsArrivalsPerWindowAndTheRollingPeakRefusedOnesIncluded) {
  FaultInjector injector;
  injector.Configure({.rate_limit_requests = 3, .rate_limit_window = absl::Seconds(10)});
  const absl::Time start = absl::FromUnixSeconds(1000);
  for (int second : {0, 1, 2, 3}) injector.Plan("GET", FaultedEndpoint::kApi, start + absl::Seconds(second));
  injector.Plan("GET", FaultedEndpoint::kApi, start + absl::Seconds(12));
  injector.Plan("GET", FaultedEndpoint::kApi, start + absl::Seconds(35));

  const FaultCounters& counters = injector.counters();
  EXPECT_EQ(counters.rate_limited, 1);  // the fourth within the first ten seconds
  EXPECT_THAT(counters.requests_per_window, ElementsAre(4, 1, 0, 1));
  EXPECT_EQ(counters.peak_window_requests, 4);

  // A rolling window across two fixed ones: 2 + 3 arrivals within 10 s.
  injector.Configure({.rate_limit_requests = 100, .rate_limit_window = absl::Seconds(10)});
  for (int second : {0, 8, 9, 11, 12, 13}) injector.Plan("GET", FaultedEndpoint::kApi, start + absl::Seconds(second));
  EXPECT_THAT(injector.counters().requests_per_window, ElementsAre(3, 3));
  EXPECT_EQ(injector.counters().peak_window_requests, 5);
}

TEST(FaultInjectorTest, WithoutARateLimitNothingIsCountedPerWindow) {
  FaultInjector injector;
  injector.Configure({.error_before_probability = 0.5});
  injector.Plan("GET", FaultedEndpoint::kApi, absl::FromUnixSeconds(1000));
  EXPECT_EQ(injector.counters().requests, 1);
  EXPECT_THAT(injector.counters().requests_per_window, ElementsAre());
  EXPECT_EQ(injector.counters().peak_window_requests, 0);
}

TEST_F(SimulatorFaultsTest, RateLimitWindowRolls) {
  constexpr absl::Duration kWindow = absl::Milliseconds(300);
  SetFaults({.rate_limit_requests = 1, .rate_limit_window = kWindow});
  EXPECT_EQ(Api("GET", "/api/Client").status, 200);
  const testing::TestResponse limited = Api("GET", "/api/Client");
  EXPECT_EQ(limited.status, 429);
  EXPECT_EQ(limited.body, "Rate Limit Reached - 1 Requests per rolling 0.3 second window");

  absl::SleepFor(kWindow);  // the passing of time is what is tested
  EXPECT_EQ(Api("GET", "/api/Client").status, 200);
  EXPECT_EQ(simulator_->fault_counters().rate_limited, 1);
}

TEST_F(SimulatorFaultsTest, ErrorBeforeProcessingAnswers5xxAndChangesNothing) {
  SetFaults({.error_before_probability = 1});
  std::set<int> statuses;
  for (int i = 0; i < 8; ++i) {
    const testing::TestResponse failed = Api("POST", "/api/Tickets", kCreateProbe);
    EXPECT_THAT(failed.status, AnyOf(500, 502, 503, 504));
    statuses.insert(failed.status);
  }
  EXPECT_GT(statuses.size(), 1u);  // drawn, not fixed
  EXPECT_EQ(ProbeTickets(), 0);
  EXPECT_EQ(simulator_->fault_counters().errors_before, 8);
  EXPECT_EQ(simulator_->fault_counters().failed(), 8);
}

TEST_F(SimulatorFaultsTest, ErrorAfterProcessingAnswers500ButTheWorkIsDone) {
  SetFaults({.error_after_probability = 1});
  const testing::TestResponse failed = Api("POST", "/api/Tickets", kCreateProbe);
  EXPECT_EQ(failed.status, 500);
  EXPECT_EQ(ProbeTickets(), 1);
  EXPECT_EQ(simulator_->fault_counters().errors_after, 1);
}

TEST_F(SimulatorFaultsTest, DropBeforeProcessingClosesUnansweredAndChangesNothing) {
  SetFaults({.drop_before_probability = 1});
  EXPECT_TRUE(ClosedWithoutAnswer("POST", "/api/Tickets", kCreateProbe));
  EXPECT_FALSE(testing::Fetch(simulator_->port(), /*tls=*/false, "POST", "/auth/token", kGoodForm,
                              {{"Content-Type", kFormType}})
                   .ok());
  EXPECT_EQ(ProbeTickets(), 0);
  EXPECT_EQ(simulator_->token_requests(), 1);  // SetUp's
  EXPECT_EQ(simulator_->fault_counters().dropped_before, 2);
}

TEST_F(SimulatorFaultsTest, DropAfterProcessingClosesUnansweredButTheWorkIsDone) {
  SetFaults({.drop_after_probability = 1});
  EXPECT_TRUE(ClosedWithoutAnswer("POST", "/api/Tickets", kCreateProbe));
  EXPECT_EQ(ProbeTickets(), 1);
  EXPECT_EQ(simulator_->fault_counters().dropped_after, 1);
}

TEST_F(SimulatorFaultsTest, TokenRevocationMakesTheApiAnswer401) {
  SetFaults({.revoke_tokens_probability = 1});
  EXPECT_EQ(Api("GET", "/api/Client").status, 401);
  EXPECT_EQ(simulator_->fault_counters().tokens_revoked, 1);

  // The token endpoint itself never revokes.
  const testing::TestResponse fresh = RequestToken(*simulator_, kGoodForm);
  ASSERT_EQ(fresh.status, 200);
  EXPECT_EQ(simulator_->fault_counters().tokens_revoked, 1);

  simulator_->ClearFaults();
  EXPECT_EQ(Api("GET", "/api/Client").status, 401);  // the old token stays revoked
  token_ = Text(Json(fresh), "access_token");
  EXPECT_EQ(Api("GET", "/api/Client").status, 200);
}

// ---- Which requests ----

TEST_F(SimulatorFaultsTest, MethodFilterLimitsFaultsToThatMethod) {
  SetFaults({.method = "POST", .error_before_probability = 1});
  EXPECT_EQ(Api("GET", "/api/Client").status, 200);
  EXPECT_THAT(Api("POST", "/api/Tickets", kCreateProbe).status, AnyOf(500, 502, 503, 504));
  EXPECT_EQ(ProbeTickets(), 0);
  EXPECT_EQ(simulator_->fault_counters().requests, 1);
}

TEST_F(SimulatorFaultsTest, ControlEndpointsAndFailureRulesAreNeverFaulted) {
  SetFaults({.drop_before_probability = 1});
  EXPECT_EQ(Call(simulator_->port(), false, "GET", "/_sim/state").status, 200);
  EXPECT_EQ(Control("GET").status, 200);
  EXPECT_EQ(Call(simulator_->port(), false, "GET", "/_sim/requests").status, 200);

  // A failure rule answers first, as before faults existed.
  simulator_->InjectFailure("GET", "/api/Client", 418, "", 1);
  EXPECT_EQ(Api("GET", "/api/Client").status, 418);
  EXPECT_EQ(simulator_->fault_counters().requests, 0);
}

TEST_F(SimulatorFaultsTest, TheSameSeedGivesTheSameFaults) {
  const auto outcomes = [&](uint64_t seed) {
    SetFaults({.seed = seed, .error_before_probability = 0.3, .error_after_probability = 0.3});
    std::vector<int> statuses;
    for (int i = 0; i < 32; ++i) statuses.push_back(Api("GET", "/api/Client").status);
    return statuses;
  };
  const std::vector<int> first = outcomes(7);
  EXPECT_EQ(outcomes(7), first);
  EXPECT_NE(outcomes(8), first);
  const std::set<int> distinct(first.begin(), first.end());
  EXPECT_TRUE(distinct.contains(200) && distinct.contains(500) && distinct.size() > 2);
}

// ---- Counters and state ----

TEST_F(SimulatorFaultsTest, CountersAreReadOverHttpAndOutliveDelete) {
  SetFaults({.error_before_probability = 1});
  for (int i = 0; i < 3; ++i) Api("GET", "/api/Client");
  EXPECT_EQ(Control("DELETE").status, 204);
  EXPECT_EQ(Api("GET", "/api/Client").status, 200);

  const Value counters = Get(Json(Control("GET")), "counters");
  EXPECT_EQ(Number(counters, "requests"), 3);
  EXPECT_EQ(Number(counters, "errors_before"), 3);
  EXPECT_EQ(Number(counters, "failed"), 3);
  EXPECT_EQ(Number(counters, "dropped_after"), 0);

  SetFaults({.error_before_probability = 0.5});
  EXPECT_EQ(simulator_->fault_counters(), FaultCounters());
}

TEST_F(SimulatorFaultsTest, AccessorsShowEveryTicketWithItsAssetsActionsAndAssets) {
  const Value created =
      ApiJson("POST", "/api/Tickets", R"([{"summary": "fault probe", "assets": [{"id": 2}]}])");
  const int id = static_cast<int>(Number(created, "id"));
  ASSERT_EQ(Api("POST", "/api/Actions",
                absl::StrCat(R"([{"ticket_id": )", id, R"(, "note": "n", "outcome": "Note"}])"))
                .status,
            200);

  const std::vector<Struct> tickets = simulator_->tickets();
  ASSERT_THAT(tickets, SizeIs(kSeededTickets + 1));
  EXPECT_EQ(IntField(tickets.back(), "id"), id);
  EXPECT_THAT(Ids(*Field(tickets.back(), "assets")), ElementsAre(2));
  EXPECT_THAT(simulator_->actions(id), SizeIs(2));  // the body and the note
  EXPECT_THAT(simulator_->assets(), SizeIs(3));
}

// ---- DelayedAnswers, behind latency ----

// Records the bodies of the answers it is given, in order.
class AnswerLog {
 public:
  net::Responder Responder() {
    return [this](net::ServerResponse response) {
      absl::MutexLock lock(&mu_);
      bodies_.push_back(std::move(response.body));
    };
  }
  // The bodies once there are `count` of them, or what arrived within 5 s.
  std::vector<std::string> Await(size_t count) {
    absl::MutexLock lock(&mu_);
    const auto enough = [&]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return bodies_.size() >= count; };
    mu_.AwaitWithTimeout(absl::Condition(&enough), absl::Seconds(5));
    return bodies_;
  }

 private:
  absl::Mutex mu_;
  std::vector<std::string> bodies_ ABSL_GUARDED_BY(mu_);
};

net::ServerResponse Body(std::string body) {
  net::ServerResponse response;
  response.body = std::move(body);
  return response;
}

TEST(DelayedAnswersTest, EarlierDueAnswerOvertakesAndStopSendsTheRestAtOnce) {
  AnswerLog log;
  DelayedAnswers delayed;
  delayed.Send(absl::Hours(1), log.Responder(), Body("slow"));
  delayed.Send(absl::Milliseconds(10), log.Responder(), Body("fast"));
  EXPECT_THAT(log.Await(1), ElementsAre("fast"));

  delayed.Stop();
  EXPECT_THAT(log.Await(2), ElementsAre("fast", "slow"));
  delayed.Send(absl::Hours(1), log.Responder(), Body("after stop"));
  EXPECT_THAT(log.Await(3), ElementsAre("fast", "slow", "after stop"));
}

TEST(DelayedAnswersTest, NoDelayAnswersOnTheCallingThread) {
  AnswerLog log;
  DelayedAnswers delayed;
  delayed.Send(absl::ZeroDuration(), log.Responder(), Body("now"));
  EXPECT_THAT(log.Await(0), ElementsAre("now"));
}

}  // namespace
}  // namespace halopsa::sim

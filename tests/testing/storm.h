#ifndef HALOPSA_TESTS_TESTING_STORM_H_
#define HALOPSA_TESTS_TESTING_STORM_H_

// An alert storm (issue 12) as the storm benchmark and the storm end-to-end
// test run it: three LimaCharlie orgs share one HaloPSA tenant; org "A"
// fires a storm of create_ticket calls on a few dedupe keys, orgs "B" and
// "C" one detection now and then. Every detection carries a marker
// ("det:A-0042;") in its summary and details, so that HaloPSA's state shows
// afterwards whether it was lost (in no ticket or note) or written twice.

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "tests/testing/limacharlie_client.h"

namespace halopsa::testing {

struct StormShape {
  int storm_detections = 600;  // org A's
  int storm_keys = 6;          // A's distinct dedupe keys (and summaries)
  absl::Duration storm_length = absl::Seconds(60);
  absl::Duration quiet_every = absl::Seconds(5);  // B's and C's pace over the same length
  bool dedupe = true;  // A's detections carry dedupe_key / dedupe_window_min
  int dedupe_window_min = 60;
};

struct StormDetection {
  std::string org;     // "A", "B" or "C"
  std::string marker;  // unique; "det:A-0042;"
  absl::Duration at;   // after the storm's start
  LimaCharlieCall call;
};

// Every detection of the storm in firing order; `halo_config` is each org's
// extension config (the one tenant they share).
std::vector<StormDetection> PlanStorm(const StormShape& shape, const lc::testing::Config& halo_config);

// Fires every detection at its time through `client` and waits until each
// chain has ended (bounded by `bound`); the outcomes in `detections` order.
// DEADLINE_EXCEEDED when calls were still under way at the bound.
absl::StatusOr<std::vector<CallOutcome>> RunStorm(LimaCharlieClient& client,
                                                  const std::vector<StormDetection>& detections,
                                                  absl::Duration bound);

// Delivers one call at once and waits (bounded) until it has ended.
absl::StatusOr<CallOutcome> CallOnce(LimaCharlieClient& client, LimaCharlieCall call, absl::Duration bound);

// One lookup through the gateway per org, so that the service fetches each
// org connection's token: the storm's runs set HaloPSA's limit after it,
// since the service's budget counts API requests, not token requests.
absl::Status WarmUpTokens(LimaCharlieClient& client, const lc::testing::Config& halo_config, absl::Duration bound);

// What happened to one org's detections.
struct OrgTally {
  int fired = 0;
  int succeeded = 0;   // LimaCharlie saw the chain end with a 200
  int lost = 0;        // marker in no ticket and no note
  int duplicated = 0;  // marker in more than one ticket or note
  int tickets = 0;     // tickets carrying this org's markers
  int notes = 0;       // notes (not the ticket body) on those tickets
  int deliveries = 0;
  int retries = 0;
  int deferrals = 0;
  int deduplicated = 0;  // answers with "deduplicated": true
  std::vector<absl::Duration> waits;  // first delivery to last answer, per detection
  std::vector<std::string> failures;  // final errors of chains that did not succeed (first few)
};

// Tallies per org from the outcomes and the simulator's GET /_sim/state.
absl::StatusOr<std::map<std::string, OrgTally>> TallyStorm(const std::vector<StormDetection>& detections,
                                                          const std::vector<CallOutcome>& outcomes,
                                                          absl::string_view sim_state_json);

// The simulator's request figures (GET /_sim/faults).
struct SimWindowFigures {
  int64_t rate_limited = 0;  // 429s
  int64_t peak_window_requests = 0;
  std::vector<int64_t> requests_per_window;
};
absl::StatusOr<SimWindowFigures> ParseSimWindowFigures(absl::string_view sim_faults_json);

// The `fraction` percentile (0..1, nearest rank) of `values`; zero when empty.
absl::Duration Percentile(std::vector<absl::Duration> values, double fraction);

}  // namespace halopsa::testing

#endif  // HALOPSA_TESTS_TESTING_STORM_H_

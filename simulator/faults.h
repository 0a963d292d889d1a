#ifndef HALOPSA_SIMULATOR_FAULTS_H_
#define HALOPSA_SIMULATOR_FAULTS_H_

#include <cstdint>
#include <deque>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "adapters/net/http_server.h"
#include "simulator/json.h"

namespace halopsa::sim {

// Faults the simulator injects into /auth/token and /api/* requests (never
// /_sim/*), drawn from a generator seeded with `seed`: the same config and
// the same sequence of requests give the same faults (with concurrent
// clients, which request gets which draw follows arrival order). Everything
// is off by default.
struct FaultConfig {
  uint64_t seed = 0;
  // Only requests with exactly this method ("POST") get faults and count
  // toward the rate limit; empty = all.
  // ({} lets designated initializers omit it without -Wextra warnings.)
  std::string method{};

  // Extra delay, drawn uniformly from [latency_min, latency_max], before an
  // /api/* answer is written, after the request was processed.
  absl::Duration latency_min = absl::ZeroDuration();
  absl::Duration latency_max = absl::ZeroDuration();
  // Extra delay before a processed /auth/token answer is written.
  absl::Duration token_delay = absl::ZeroDuration();

  // Hosted Halo's limit: at most rate_limit_requests requests (0 = no limit)
  // per rolling rate_limit_window, counted globally (the simulator is one
  // tenant); the others get 429 without being processed and do not count
  // toward the limit (they do count in the per-window figures below).
  int rate_limit_requests = 0;
  absl::Duration rate_limit_window = absl::Minutes(5);

  // Before processing, one draw: 500/502/503/504 (uniformly) with
  // error_before_probability, else the connection closes unanswered with
  // drop_before_probability; the two add up to at most 1.
  double error_before_probability = 0;
  double drop_before_probability = 0;
  // For each /api/* request that gets through: every issued token is revoked
  // first, so the request (and the client's token) gets 401.
  double revoke_tokens_probability = 0;
  // After processing (the work is done), one draw: 500 instead of the
  // answer with error_after_probability, else the connection closes
  // unanswered with drop_after_probability; at most 1 together.
  double error_after_probability = 0;
  double drop_after_probability = 0;

  bool operator==(const FaultConfig&) const = default;
};

// Faults injected since the config was last set, by kind.
struct FaultCounters {
  int64_t requests = 0;  // requests the faults applied to
  int64_t rate_limited = 0;
  int64_t errors_before = 0;
  int64_t dropped_before = 0;
  int64_t tokens_revoked = 0;
  int64_t errors_after = 0;
  int64_t dropped_after = 0;
  int64_t delayed = 0;  // /api/* answers held back by latency
  int64_t token_delayed = 0;
  // With a rate limit: the most requests that arrived within any rolling
  // rate_limit_window (refused ones included), and the requests that arrived
  // in each consecutive window, the first starting at the first request
  // (at most kMaxCountedWindows windows are listed). What a storm benchmark
  // compares with the limit.
  int64_t peak_window_requests = 0;
  std::vector<int64_t> requests_per_window{};

  static constexpr size_t kMaxCountedWindows = 10000;

  // Requests whose client got no answer or an error instead of Halo's answer
  // (a 401 after revoked tokens is Halo's own answer: not counted).
  int64_t failed() const;
  bool operator==(const FaultCounters&) const = default;
};

// INVALID_ARGUMENT naming the field when a probability is outside 0..1, a
// pair of probabilities adds up to more than 1, a duration is negative or
// infinite, latency_min exceeds latency_max, or a rate limit has no window.
absl::Status ValidateFaultConfig(const FaultConfig& config);

// The JSON form used by /_sim/faults: "seed", "method", "latency_min_ms",
// "latency_max_ms", "token_delay_ms", "rate_limit_requests",
// "rate_limit_window_ms", and the five "*_probability" fields as named
// above. Absent fields keep their defaults; unknown fields and wrong types
// are INVALID_ARGUMENT (values are checked by ValidateFaultConfig).
absl::StatusOr<FaultConfig> ParseFaultConfig(absl::string_view json_text);
Value FaultConfigToJson(const FaultConfig& config);
// The counters by the field names above, plus "failed".
Value FaultCountersToJson(const FaultCounters& counters);

enum class FaultedEndpoint { kToken, kApi };

// What to do to one request.
struct FaultPlan {
  // Answer this without processing the request.
  std::optional<net::ServerResponse> instead_of_processing;
  bool revoke_tokens = false;  // before processing
  // Process the request, then answer this instead.
  std::optional<net::ServerResponse> instead_of_answer;
  absl::Duration delay = absl::ZeroDuration();  // before the answer is written
};

// Draws the faults of each request and counts them. Not thread-safe:
// HaloSimulator serializes calls.
class FaultInjector {
 public:
  const FaultConfig& config() const { return config_; }
  const FaultCounters& counters() const { return counters_; }

  // Takes a config ValidateFaultConfig accepted; restarts the random
  // sequence from its seed and zeroes the counters and the rate-limit window.
  void Configure(FaultConfig config);
  // Turns every fault off; the counters stay readable until the next
  // Configure().
  void TurnOff();

  FaultPlan Plan(absl::string_view method, FaultedEndpoint endpoint, absl::Time now);

 private:
  enum class Outcome { kNone, kError, kDrop };

  double Fraction();  // uniform in [0, 1)
  // One draw deciding between two faults whose probabilities add up.
  Outcome Draw(double error_probability, double drop_probability);
  // Counts `now` as a request when it is within the limit.
  bool RateLimited(absl::Time now);
  // Counts an arrival at `now` in the per-window figures.
  void CountArrival(absl::Time now);
  absl::Duration Latency();

  FaultConfig config_;
  bool enabled_ = false;  // any fault configured
  FaultCounters counters_;
  std::mt19937_64 random_;
  std::deque<absl::Time> window_;  // requests let through within the rolling window
  // Every request that arrived within the rolling window, refused ones too
  // (the oldest are forgotten beyond kMaxTrackedArrivals, which can only
  // under-count a peak far above any limit).
  std::deque<absl::Time> arrivals_;
  absl::Time first_arrival_ = absl::InfinitePast();
  static constexpr size_t kMaxTrackedArrivals = size_t{1} << 20;
};

}  // namespace halopsa::sim

#endif  // HALOPSA_SIMULATOR_FAULTS_H_

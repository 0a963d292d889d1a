#ifndef HALOPSA_BENCH_ACTION_BENCH_H_
#define HALOPSA_BENCH_ACTION_BENCH_H_

// One action's measurements on a fresh stack: upstream request counts, a
// cold-start burst, throughput, latency and CPU per path and concurrency,
// and the calls the service refuses before any HaloPSA work.

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "bench/stack.h"
#include "bench/workloads.h"

namespace halopsa::bench {

inline constexpr int kRefusedConcurrency = 16;
inline constexpr char kGatewaySecret[] = "bench-lc-extension-secret";

enum Path { kDirect, kGrpc, kGateway, kPathCount };
inline constexpr std::array<const char*, kPathCount> kPathNames = {"direct", "gRPC", "gateway"};

struct Settings {
  StackOptions stack;
  std::vector<int> concurrencies;
  absl::Duration warmup;
  absl::Duration phase;
  int count_calls;
  int cold_burst;
  bool gateway;
  std::array<bool, kPathCount> measured_paths;
  // gRPC calls carry a fresh x-idempotency-key each, as the gateway's do.
  bool grpc_idempotency_keys = false;
};

struct Phase {
  bool ran = false;
  int64_t completed = 0;
  int64_t errors = 0;
  std::string first_error;
  double throughput = 0;
  absl::Duration p50, p99, max;
  std::optional<double> cpu_us;    // server CPU per completed call
  double sim_cpu_us = 0;           // simulator CPU per completed call
  double client_cpu_us = 0;        // this process's (the load generator's) CPU per completed call
  std::optional<double> upstream;  // server upstream requests per completed call
  // Redis mode: the server's Redis round trips (writes to Redis, pipelined
  // commands sharing one) and commands per completed call.
  std::optional<double> redis_round_trips;
  std::optional<double> redis_commands;
};

struct Count {
  std::string label;
  Path path;
  int64_t errors = 0;
  double per_call = 0;
  int expected = 0;
  bool at_most = false;
};

struct ActionResult {
  std::string action;
  std::string failure;  // why the run stopped early, "" when it did not
  std::map<int, std::array<Phase, kPathCount>> phases;
  int64_t idle_rss_kb = 0;
  int64_t peak_rss_kb = 0;
  double connections_opened = 0;
  double tokens_total = 0;
  std::array<std::optional<double>, kPathCount> cold_tokens;
  std::array<int64_t, kPathCount> cold_errors{};
  std::vector<Count> counts;
  // Calls refused before any HaloPSA work, at kRefusedConcurrency.
  std::array<Phase, kPathCount> refused;
};

// Starts a stack for `workload` (logs named after `label`) and measures it;
// a failure is recorded in the result.
ActionResult RunAction(const Settings& settings, const Workload& workload, bool with_counts,
                       const std::string& label);

}  // namespace halopsa::bench

#endif  // HALOPSA_BENCH_ACTION_BENCH_H_

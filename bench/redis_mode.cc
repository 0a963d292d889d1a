#include "bench/redis_mode.h"

#include <algorithm>
#include <array>
#include <iostream>
#include <optional>
#include <memory>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "tests/testing/redis_server_process.h"

namespace halopsa::bench {
namespace {

constexpr int kConcurrency = 16;
// Round trips are counted one call at a time: at 16 in flight, concurrent
// calls share Redis writes (pipelining), which would hide a call's own.
constexpr int kCountingConcurrency = 1;
constexpr std::array<const char*, 4> kComparedActions = {"create_ticket", "add_action", "link_asset_to_ticket",
                                                         "search_tickets"};
// Keyed creates and links: the calls the issue bounds to 2 round trips.
constexpr std::array<const char*, 3> kCoordinatedActions = {"create_ticket", "add_action", "link_asset_to_ticket"};
constexpr double kMaxRoundTrips = 2;

std::string Micros(absl::Duration d) { return absl::StrFormat("%.0f", absl::ToDoubleMicroseconds(d)); }
std::string SignedMicros(absl::Duration d) { return absl::StrFormat("%+.0f", absl::ToDoubleMicroseconds(d)); }
std::string Fixed(const std::optional<double>& value, int digits) {
  return value ? absl::StrFormat("%.*f", digits, *value) : "-";
}

// "<in process> / <Redis> (<added>)" in µs.
std::string BesideAdded(absl::Duration in_process, absl::Duration redis) {
  return absl::StrCat(Micros(in_process), " / ", Micros(redis), " (", SignedMicros(redis - in_process), ")");
}

const Phase* PhaseAt(const ActionResult& result, Path path, int concurrency = kConcurrency) {
  auto it = result.phases.find(concurrency);
  return it == result.phases.end() || !it->second[path].ran ? nullptr : &it->second[path];
}

}  // namespace

std::vector<ModePair> RunBesideRedis(const Settings& settings, const std::vector<std::string>& wanted) {
  Settings compared = settings;
  compared.concurrencies = {kCountingConcurrency, kConcurrency};
  compared.measured_paths = {false, true, settings.gateway};
  compared.stack.rate_limit_requests = 1000000;
  compared.stack.rate_limit_window = "1s";
  compared.grpc_idempotency_keys = true;  // keyed creates on both paths
  std::vector<ModePair> pairs;
  for (const Workload& workload : Workloads()) {
    if (std::find(kComparedActions.begin(), kComparedActions.end(), workload.action) == kComparedActions.end() ||
        (!wanted.empty() && std::find(wanted.begin(), wanted.end(), workload.action) == wanted.end())) {
      continue;
    }
    ModePair pair;
    pair.in_process = RunAction(compared, workload, /*with_counts=*/false, workload.action + "-in-process");
    absl::StatusOr<std::unique_ptr<testing::RedisServerProcess>> redis = testing::RedisServerProcess::Start();
    if (!redis.ok()) {
      pair.redis.action = workload.action;
      pair.redis.failure = redis.status().ToString();
      std::cerr << "bench: redis-server: " << pair.redis.failure << std::endl;
    } else {
      Settings with_redis = compared;
      with_redis.stack.redis_url = (*redis)->url();
      pair.redis = RunAction(with_redis, workload, /*with_counts=*/false, workload.action + "-redis");
    }
    pairs.push_back(std::move(pair));
  }
  return pairs;
}

Table RedisModeTable(const std::vector<ModePair>& pairs) {
  Table table({"action", "path", "calls/s in process / Redis", "p50 µs in process / Redis (added)",
               "p99 µs in process / Redis (added)", "server CPU µs/call in process / Redis (added)",
               "Redis round trips/call (c=1)", "Redis commands/call (c=1)", "errors in process / Redis"});
  for (const ModePair& pair : pairs) {
    for (Path path : {kGrpc, kGateway}) {
      const Phase* memory = PhaseAt(pair.in_process, path);
      const Phase* redis = PhaseAt(pair.redis, path);
      const Phase* counted = PhaseAt(pair.redis, path, kCountingConcurrency);
      if (memory == nullptr || redis == nullptr || counted == nullptr) continue;
      std::string added_cpu = "-";
      if (memory->cpu_us && redis->cpu_us) added_cpu = absl::StrFormat("%+.1f", *redis->cpu_us - *memory->cpu_us);
      table.AddRow({pair.in_process.action, kPathNames[path],
                    absl::StrFormat("%.0f / %.0f", memory->throughput, redis->throughput),
                    BesideAdded(memory->p50, redis->p50), BesideAdded(memory->p99, redis->p99),
                    absl::StrCat(Fixed(memory->cpu_us, 1), " / ", Fixed(redis->cpu_us, 1), " (", added_cpu, ")"),
                    Fixed(counted->redis_round_trips, 2), Fixed(counted->redis_commands, 2),
                    absl::StrCat(memory->errors, " / ", redis->errors)});
    }
  }
  return table;
}

Table RedisRoundTripTargets(const std::vector<ModePair>& pairs) {
  Table lines({"target", "measured", "verdict"});
  for (const ModePair& pair : pairs) {
    if (std::find(kCoordinatedActions.begin(), kCoordinatedActions.end(), pair.redis.action) ==
        kCoordinatedActions.end()) {
      continue;
    }
    const Phase* gateway = PhaseAt(pair.redis, kGateway, kCountingConcurrency);
    // No round trip at all: this server keeps its state in process.
    const bool measured = gateway != nullptr && gateway->redis_round_trips.value_or(0) > 0;
    const bool pass = measured && gateway->errors == 0 && *gateway->redis_round_trips <= kMaxRoundTrips;
    lines.AddRow({absl::StrCat(pair.redis.action, " through the gateway (keyed): Redis round trips per call <= ",
                                  kMaxRoundTrips, " (one call at a time)"),
                     measured ? Fixed(gateway->redis_round_trips, 2) : "-",
                     !measured ? "N/A" : pass ? "PASS" : "FAIL"});
  }
  return lines;
}

}  // namespace halopsa::bench

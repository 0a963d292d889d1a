#ifndef HALOPSA_BENCH_REDIS_MODE_H_
#define HALOPSA_BENCH_REDIS_MODE_H_

// Issue 11's figures: the same calls with the shared state in process and in
// a real redis-server (HALOPSA_REDIS_URL on a unix socket), both with a
// request budget per tenant switched on (set far above the load, so it is
// consulted on every request but never waits): throughput, latency and
// server CPU at concurrency 16, Redis round trips per call one call at a
// time (halopsa_shared_state_round_trips_total: writes to Redis, commands
// pipelined together counting once).

#include <string>
#include <vector>

#include "bench/action_bench.h"
#include "bench/table.h"

namespace halopsa::bench {

struct ModePair {
  ActionResult in_process;
  ActionResult redis;
};

// Runs create_ticket, add_action, link_asset_to_ticket and search_tickets
// (those of them in `wanted`, when it is not empty) over gRPC and the
// gateway in both modes.
std::vector<ModePair> RunBesideRedis(const Settings& settings, const std::vector<std::string>& wanted);

// The two modes side by side, and what Redis adds.
Table RedisModeTable(const std::vector<ModePair>& pairs);

// Target, measured, verdict for Redis round trips per keyed create and per
// link (the gateway's calls carry LimaCharlie's idempotency key): at most 2.
Table RedisRoundTripTargets(const std::vector<ModePair>& pairs);

}  // namespace halopsa::bench

#endif  // HALOPSA_BENCH_REDIS_MODE_H_

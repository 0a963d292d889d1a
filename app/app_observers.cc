#include "app/app_observers.h"

#include <unistd.h>

#include <cstdint>
#include <fstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "adapters/limacharlie/actions.h"
#include "adapters/limacharlie/deferral.h"

namespace halopsa {
namespace {

// VmRSS from /proc/self/statm (pages), for the memory-near-limit alert.
double ResidentBytes() {
  std::ifstream statm("/proc/self/statm");
  double size_pages = 0;
  double resident_pages = 0;
  statm >> size_pages >> resident_pages;
  return resident_pages * static_cast<double>(sysconf(_SC_PAGESIZE));
}

}  // namespace

// Figures the upstream adapters keep themselves, read at scrape time.
void AddUpstreamMetrics(MetricsRegistry& registry, const TokenCache* tokens, const net::BeastHttpTransport* upstream) {
  registry.AddCallback("halopsa_token_requests_total", "OAuth2 token requests sent to HaloPSA.", "counter",
                       [tokens] { return static_cast<double>(tokens->token_requests()); });
  registry.AddCallback("halopsa_token_cache_hits_total", "Calls served a cached HaloPSA token.", "counter",
                       [tokens] { return static_cast<double>(tokens->cache_hits()); });
  registry.AddCallback("halopsa_upstream_open_connections", "Open connections to HaloPSA hosts.", "gauge",
                       [upstream] { return static_cast<double>(upstream->open_connections()); });
  registry.AddCallback("halopsa_resident_memory_bytes", "Resident memory of halopsa-server.", "gauge", ResidentBytes);
  registry.AddCallback("halopsa_upstream_connections_opened_total", "Connections ever opened to HaloPSA.", "counter",
                       [upstream] { return static_cast<double>(upstream->connections_opened()); });
}

void AddSharedStateMetrics(MetricsRegistry& registry, const redis::RedisClient* client) {
  registry.AddCallback("halopsa_shared_state_up", "1 while the shared state (Redis) answers, else 0.", "gauge",
                       [client] { return client->up() ? 1.0 : 0.0; });
  registry.AddCallback("halopsa_shared_state_errors_total", "Failed Redis commands and connection attempts.",
                       "counter", [client] { return static_cast<double>(client->errors()); });
  registry.AddCallback("halopsa_shared_state_commands_total", "Commands sent to Redis.", "counter",
                       [client] { return static_cast<double>(client->commands_sent()); });
  registry.AddCallback("halopsa_shared_state_round_trips_total",
                       "Writes to Redis that sent commands (pipelined commands share one).", "counter",
                       [client] { return static_cast<double>(client->round_trips()); });
}

// One log line and the metrics of each answered webhook.
std::function<void(const lc::GatewayCall&)> GatewayObserver(ServiceMetrics* metrics, Logger* logger) {
  return [metrics, logger](const lc::GatewayCall& call) {
    // Label values come from known names only: anything a caller invents
    // counts under one label.
    const bool known = lc::FindAction(call.action) != nullptr || call.action == lc::kDeferredAction;
    std::string kind(call.action.empty() ? call.kind : (known ? call.action : "unknown"));
    metrics->gateway_requests.With({kind, absl::StrCat(call.http_status)}).Increment();
    metrics->gateway_latency.With({kind}).Observe(absl::ToDoubleSeconds(call.duration));
    if (call.replayed) metrics->idempotency_replays.With({}).Increment();
    if (call.deferred_sec > 0) metrics->gateway_deferrals.With({kind}).Increment();
    logger->Log(call.http_status == 200 ? LogLevel::kInfo : LogLevel::kWarning, "webhook",
                {{"kind", call.kind},
                 {"action", call.action},
                 {"org", call.org},
                 {"idempotency_key", call.idempotency_key},
                 {"http_status", static_cast<int64_t>(call.http_status)},
                 {"replayed", call.replayed},
                 {"deferred_sec", static_cast<int64_t>(call.deferred_sec)},
                 {"duration_ms", absl::ToDoubleMilliseconds(call.duration)}});
    if (!call.error_report.empty()) {
      logger->Log(LogLevel::kWarning, "limacharlie_error_report", {{"org", call.org}, {"error", call.error_report}});
    }
  };
}

}  // namespace halopsa

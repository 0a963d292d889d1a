#ifndef HALOPSA_APP_APP_OBSERVERS_H_
#define HALOPSA_APP_APP_OBSERVERS_H_

#include <functional>

#include "adapters/halopsa/token_cache.h"
#include "adapters/limacharlie/gateway.h"
#include "adapters/net/beast_http_transport.h"
#include "adapters/redis/redis_client.h"
#include "server/logger.h"
#include "server/metrics.h"
#include "server/service_metrics.h"

namespace halopsa {

// What halopsa-server reports of the parts ServerApp wires: figures the
// adapters keep themselves (read at scrape time) and each webhook's log line
// and metrics.

// Token requests and cache hits, open and opened upstream connections, and
// the process's resident memory. `tokens` and `upstream` must outlive
// `registry`'s scrapes.
void AddUpstreamMetrics(MetricsRegistry& registry, const TokenCache* tokens, const net::BeastHttpTransport* upstream);

// Whether Redis answers, its failed commands, commands and round trips.
void AddSharedStateMetrics(MetricsRegistry& registry, const redis::RedisClient* client);

// The gateway's observer: one "webhook" log line and the gateway metrics per
// answered callback (plus a line per LimaCharlie error_report).
std::function<void(const lc::GatewayCall&)> GatewayObserver(ServiceMetrics* metrics, Logger* logger);

}  // namespace halopsa

#endif  // HALOPSA_APP_APP_OBSERVERS_H_

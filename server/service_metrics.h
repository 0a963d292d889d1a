#ifndef HALOPSA_SERVER_SERVICE_METRICS_H_
#define HALOPSA_SERVER_SERVICE_METRICS_H_

#include "server/metrics.h"

namespace halopsa {

// The metric families the service records, registered once at wiring.
struct ServiceMetrics {
  explicit ServiceMetrics(MetricsRegistry& registry);

  CounterFamily& rpc_calls;             // {method, code}
  HistogramFamily& rpc_latency;         // {method}
  CounterFamily& upstream_requests;     // {endpoint, status}
  CounterFamily& upstream_retries;      // {reason}
  CounterFamily& gateway_requests;      // {kind, status}
  HistogramFamily& gateway_latency;     // {kind}
  CounterFamily& idempotency_replays;   // {}
};

}  // namespace halopsa

#endif  // HALOPSA_SERVER_SERVICE_METRICS_H_

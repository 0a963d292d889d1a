#ifndef HALOPSA_SERVER_SERVICE_METRICS_H_
#define HALOPSA_SERVER_SERVICE_METRICS_H_

#include "server/metrics.h"

namespace halopsa {

// The metric families the service records, registered once at wiring.
struct ServiceMetrics {
  explicit ServiceMetrics(MetricsRegistry& registry);

  CounterFamily& rpc_calls;             // {method, code}
  CounterFamily& rpc_errors;            // {method, reason}: failed calls by ErrorInfo reason
  HistogramFamily& rpc_latency;         // {method}
  CounterFamily& upstream_requests;     // {endpoint, status}
  CounterFamily& upstream_retries;      // {reason}
  CounterFamily& rate_limit_waits;      // {}: requests that waited for the tenant's budget
  GaugeFamily& budget_queue_depth;      // {tenant}: requests queued for their org's turn
  HistogramFamily& budget_wait;         // {tenant}: from asking for a slot to the slot
  CounterFamily& gateway_requests;      // {kind, status}
  HistogramFamily& gateway_latency;     // {kind}
  CounterFamily& idempotency_replays;   // {}
  CounterFamily& gateway_deferrals;     // {kind}: writes answered with a continuation
  CounterFamily& dedupe_detections;     // {outcome}: creates with a dedupe_key that opened or noted
};

}  // namespace halopsa

#endif  // HALOPSA_SERVER_SERVICE_METRICS_H_

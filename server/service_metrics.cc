#include "server/service_metrics.h"

namespace halopsa {

ServiceMetrics::ServiceMetrics(MetricsRegistry& registry)
    : rpc_calls(registry.AddCounter("halopsa_rpc_calls_total", "HaloPsaService calls by method and gRPC code.",
                                    {"method", "code"})),
      rpc_errors(registry.AddCounter("halopsa_rpc_errors_total",
                                     "Failed HaloPsaService calls by method and ErrorInfo reason.", {"method", "reason"})),
      rpc_latency(registry.AddHistogram("halopsa_rpc_duration_seconds",
                                        "HaloPsaService call latency by method, upstream work included.",
                                        {"method"})),
      upstream_requests(registry.AddCounter("halopsa_upstream_requests_total",
                                            "HaloPSA API requests by endpoint and HTTP status (0 = no answer).",
                                            {"endpoint", "status"})),
      upstream_retries(registry.AddCounter("halopsa_upstream_retries_total",
                                           "HaloPSA requests sent again, by reason.", {"reason"})),
      rate_limit_waits(registry.AddCounter("halopsa_rate_limit_waits_total",
                                           "HaloPSA requests that waited for a slot of the tenant's request budget.",
                                           {})),
      budget_queue_depth(registry.AddGauge(
          "halopsa_budget_queue_depth",
          "HaloPSA requests queued in this process for their org's turn at the tenant's budget, by instance URL.",
          {"tenant"})),
      budget_wait(registry.AddHistogram(
          "halopsa_budget_wait_seconds",
          "Time from asking for a slot of the tenant's request budget to the slot, by instance URL.", {"tenant"},
          {0.001, 0.01, 0.1, 0.5, 1, 2, 3, 5, 10, 20, 30, 60, 90, 120, 300})),
      gateway_requests(registry.AddCounter("halopsa_gateway_requests_total",
                                           "LimaCharlie webhooks by envelope kind or action and HTTP status.",
                                           {"kind", "status"})),
      gateway_latency(registry.AddHistogram("halopsa_gateway_duration_seconds",
                                            "LimaCharlie webhook latency by envelope kind or action.", {"kind"})),
      idempotency_replays(registry.AddCounter("halopsa_idempotency_replays_total",
                                              "Webhook retries answered from the idempotency store.", {})),
      gateway_deferrals(registry.AddCounter(
          "halopsa_gateway_deferrals_total",
          "Webhook writes deferred (answered with a continuation) because the request budget could not serve them "
          "within the gateway's wait, by action (run_deferred: deferred again).",
          {"kind"})),
      dedupe_detections(registry.AddCounter(
          "halopsa_dedupe_detections_total",
          "create_ticket calls with a dedupe_key answered, by outcome: opened (a new ticket) or noted (a private "
          "note on the key's open ticket).",
          {"outcome"})) {}

}  // namespace halopsa

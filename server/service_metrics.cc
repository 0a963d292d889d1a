#include "server/service_metrics.h"

namespace halopsa {

ServiceMetrics::ServiceMetrics(MetricsRegistry& registry)
    : rpc_calls(registry.AddCounter("halopsa_rpc_calls_total", "HaloPsaService calls by method and gRPC code.",
                                    {"method", "code"})),
      rpc_latency(registry.AddHistogram("halopsa_rpc_duration_seconds",
                                        "HaloPsaService call latency by method, upstream work included.",
                                        {"method"})),
      upstream_requests(registry.AddCounter("halopsa_upstream_requests_total",
                                            "HaloPSA API requests by endpoint and HTTP status (0 = no answer).",
                                            {"endpoint", "status"})),
      upstream_retries(registry.AddCounter("halopsa_upstream_retries_total",
                                           "HaloPSA requests sent again, by reason.", {"reason"})),
      gateway_requests(registry.AddCounter("halopsa_gateway_requests_total",
                                           "LimaCharlie webhooks by envelope kind or action and HTTP status.",
                                           {"kind", "status"})),
      gateway_latency(registry.AddHistogram("halopsa_gateway_duration_seconds",
                                            "LimaCharlie webhook latency by envelope kind or action.", {"kind"})),
      idempotency_replays(registry.AddCounter("halopsa_idempotency_replays_total",
                                              "Webhook retries answered from the idempotency store.", {})) {}

}  // namespace halopsa

#ifndef HALOPSA_ADAPTERS_LIMACHARLIE_GATEWAY_H_
#define HALOPSA_ADAPTERS_LIMACHARLIE_GATEWAY_H_

#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "adapters/limacharlie/failure_throttle.h"
#include "adapters/limacharlie/reply_cache.h"
#include "adapters/net/http_server.h"
#include "adapters/net/http_transport.h"
#include "server/json_values.h"
#include "server/service_calls.h"

namespace halopsa::lc {

// What the gateway reports of each answered callback (for logs and metrics).
struct GatewayCall {
  absl::string_view kind;             // envelope kind; "invalid" when refused before parsing
  absl::string_view action;           // request action, "" otherwise
  absl::string_view org;              // oid, "" when the envelope carries none
  absl::string_view idempotency_key;  // "" when absent
  int http_status;
  bool replayed;  // answered from the idempotency store
  int deferred_sec;  // a write deferred (answered with a continuation): its delay; 0 otherwise
  absl::Duration duration;
  absl::string_view error_report;  // an error_report's text (bounded), "" otherwise
};

struct GatewayOptions {
  std::string signing_secret;               // LC_EXTENSION_SECRET; never logged. Empty: every call is refused (401)
  size_t max_body_bytes = 1 << 20;          // as received (compressed); more -> 413
  // After gunzip; more -> 413. The largest envelope accepted at all
  // (kRequestJsonLimits.max_bytes), so inflating never costs more than that.
  size_t max_decoded_body_bytes = kRequestJsonLimits.max_bytes;
  std::string lc_api_url = "https://api.limacharlie.io";
  // Bounds each callback's work, all RPCs included, and so how long a call
  // waits for HaloPSA's request budget: well inside LimaCharlie's ~2-minute
  // webhook timeout. A write whose budget slot would come later is deferred
  // at once (a continuation), not failed.
  absl::Duration call_deadline = absl::Seconds(90);
  size_t idempotency_max_entries = 100000;
  // Bodies of the replies kept for retries, in total: well inside the pod's
  // memory limit (a reply holds the whole ticket, up to ~1 MiB).
  size_t idempotency_max_bytes = 32 << 20;
  absl::Duration idempotency_ttl = absl::Hours(24);
  size_t secret_cache_max_entries = 10000;
  // Sources that keep failing the signature are refused (429) before their
  // bodies are inflated or hashed.
  FailureThrottleOptions signature_failures;
  // Replies shared by every replica (Redis); null = this process' own
  // (bounded by the idempotency_* options). Must outlive the Gateway.
  ReplyCache* shared_replies = nullptr;
  // Called once per answered callback, on the answering thread; may be empty.
  std::function<void(const GatewayCall&)> observer;
};

// LimaCharlie's signed-webhook extension protocol in front of
// HaloPsaService: verifies and decodes each callback, answers heartbeats,
// schema requests and events itself, and turns conf_validation and action
// requests into HaloPsaService calls on the org's own HaloPSA connection (from its
// config, hive secrets resolved). Retried callbacks with the same
// idempotency_key are answered from memory instead of running twice.
class Gateway {
 public:
  // `service`: HaloPsaService, in this process or over gRPC. `lc_api`:
  // transport for LimaCharlie's REST API (hive secrets); must outlive the
  // Gateway.
  Gateway(GatewayOptions options, std::unique_ptr<ServiceCalls> service, net::HttpTransport& lc_api);
  // Stop().
  ~Gateway();

  // Answers the callbacks still in flight (500, retriable: LimaCharlie
  // delivers them again) and new ones alike, and waits until every callback
  // taken by Handle() has been answered. Idempotent.
  void Stop();

  Gateway(const Gateway&) = delete;
  Gateway& operator=(const Gateway&) = delete;

  // A net::RequestHandler: never blocks; `respond` runs exactly once, on
  // this thread or a gRPC or transport thread.
  void Handle(net::ServerRequest request, net::Responder respond);

 private:
  class Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace halopsa::lc

#endif  // HALOPSA_ADAPTERS_LIMACHARLIE_GATEWAY_H_

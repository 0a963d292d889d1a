#ifndef HALOPSA_APP_SERVER_APP_H_
#define HALOPSA_APP_SERVER_APP_H_

#include <cstdio>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "adapters/halopsa/rate_limiter.h"
#include "adapters/halopsa/retry_policy.h"
#include "adapters/halopsa/token_cache.h"
#include "adapters/limacharlie/gateway.h"
#include "adapters/net/beast_http_transport.h"
#include "server/halo_api.h"
#include "server/logger.h"

namespace halopsa {

// Everything halopsa-server is configured with (see app/main.cc for the
// flags and environment variables that fill it).
struct ServerConfig {
  std::string grpc_listen = "0.0.0.0:50051";
  // gRPC transport security: TLS from these PEM files; with a client CA,
  // callers must present a certificate it signed (mTLS). Without a
  // certificate the server refuses to start unless grpc_plaintext is set.
  std::string grpc_tls_cert_file;
  std::string grpc_tls_key_file;
  std::string grpc_client_ca_file;
  bool grpc_plaintext = false;
  // /healthz, /readyz, /metrics; empty = no admin listener.
  std::string admin_listen;
  LogLevel log_level = LogLevel::kInfo;
  std::FILE* log_output = stdout;
  // The default HaloPSA connection; null when none is configured.
  std::shared_ptr<const HaloConnection> default_connection;
  net::BeastTransportOptions transport;
  TokenCacheOptions tokens;
  RateLimitOptions rate_limit;  // per HaloPSA tenant
  RetryOptions retry;
  absl::Duration default_deadline = absl::Seconds(30);
  // gRPC calls (the gateway's included) served at once; more are shed.
  size_t max_calls_in_flight = 4096;
  // How long shutdown waits for calls in flight before cancelling them.
  absl::Duration shutdown_grace = absl::Seconds(20);

  // The LimaCharlie webhook gateway; empty listen = none.
  std::string gateway_listen;
  // Its connections: at most this many open (the longest idle is closed for
  // a newcomer when full), at most this many from one peer address.
  size_t gateway_max_connections = 1024;
  size_t gateway_max_connections_per_source = 256;
  // Gateway and admin connections: wait for a request's first byte this long.
  absl::Duration connection_idle_timeout = absl::Seconds(10);
  lc::GatewayOptions gateway;
  // HaloPsaService the gateway calls: empty = this process (direct calls,
  // no gRPC), else a host:port (plaintext, e.g. a sidecar or local service).
  std::string gateway_service_target;
  // Transport to LimaCharlie's API (hive secrets).
  net::BeastTransportOptions lc_api_transport;

  // Where cross-call state lives (gateway replies, the unknown-outcome
  // journal, request budgets, link locks): empty = in this process (one
  // replica), else a Redis URL shared by every replica (README).
  std::string redis_url;
  // /readyz answers 503 once Redis has been unreachable this long.
  absl::Duration redis_unready_after = absl::Seconds(10);
  // Bound of one Redis command (within the call's deadline).
  absl::Duration redis_timeout = absl::Seconds(1);
};

// The composition root: builds the transport, token cache, HaloPSA REST
// client, actions, gRPC server, webhook gateway and admin listener, and
// tears them down in order. Used by
// main and by the integration tests, so both run the same wiring.
class ServerApp {
 public:
  static absl::StatusOr<std::unique_ptr<ServerApp>> Start(ServerConfig config);
  ~ServerApp();

  // The bound gRPC port (useful when listening on port 0).
  int grpc_port() const;

  // Health and /readyz turn NOT_SERVING, the gRPC and gateway listeners
  // refuse new connections, calls and webhooks in flight get
  // `shutdown_grace` to finish; then what is left is answered retriable and
  // its creates journaled. Idempotent.
  void Shutdown();

  // The bound admin port; 0 without an admin listener.
  int admin_port() const;

  // The bound gateway port; 0 without a gateway.
  int gateway_port() const;

  const TokenCache& tokens() const;

 private:
  struct Parts;
  explicit ServerApp(std::unique_ptr<Parts> parts);
  static absl::Status StartGateway(Parts& parts);
  static absl::Status ConnectSharedState(Parts& parts);
  static void AbandonRemaining(Parts& parts);
  std::unique_ptr<Parts> parts_;
};

}  // namespace halopsa

#endif  // HALOPSA_APP_SERVER_APP_H_

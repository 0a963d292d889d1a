#ifndef HALOPSA_APP_SERVER_CONFIG_H_
#define HALOPSA_APP_SERVER_CONFIG_H_

#include <cstdio>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "adapters/halopsa/rate_limiter.h"
#include "adapters/halopsa/retry_policy.h"
#include "adapters/halopsa/token_cache.h"
#include "adapters/limacharlie/gateway.h"
#include "adapters/net/beast_http_transport.h"
#include "server/halo_api.h"
#include "server/logger.h"

namespace halopsa {

// Everything halopsa-server is configured with (app/main.cc fills it from
// its flags and environment variables; README "Configuration").
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
  // A file holding the default connection's client secret (a mounted
  // Kubernetes Secret), read at start instead of
  // default_connection->client_secret; ignored without a default connection.
  std::string client_secret_file;
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
  // A file holding the webhook signing key, read at start instead of
  // gateway.signing_secret.
  std::string lc_extension_secret_file;
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

// LimaCharlie gives up on a webhook after about 2 minutes: the answer must
// be out before then, so the gateway's call deadline stays below this.
inline constexpr absl::Duration kMaxGatewayCallDeadline = absl::Seconds(115);

// The environment variable of a flag: HALOPSA_<FLAG>, or LC_<...> for the
// lc_* flags (the names LimaCharlie's docs use).
std::string EnvironmentVariableOf(absl::string_view flag);

// How messages name a setting: "HALOPSA_<FLAG> / --<flag>".
std::string SettingName(absl::string_view flag);

// The one check of a configuration, before anything starts: every setting
// that is out of range, missing what it needs, or contradicts another is
// refused (INVALID_ARGUMENT), each named by its environment variable and
// flag ("HALOPSA_MAX_CALLS_IN_FLIGHT / --max_calls_in_flight must be at
// least 1, not 0"; several are joined by "; "). Never quotes a secret or a
// URL. Files are not read here: ServerApp::Start reads them and names the
// setting when one cannot be read.
absl::Status ValidateConfig(const ServerConfig& config);

// Reads the secret files of a valid `config` into the secrets they stand
// for. INVALID_ARGUMENT, naming the setting and the path, when one cannot be
// read or, where the secret is needed, is empty.
absl::Status ReadSecretFiles(ServerConfig& config);

}  // namespace halopsa

#endif  // HALOPSA_APP_SERVER_CONFIG_H_

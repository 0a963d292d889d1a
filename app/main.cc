// halopsa-server: reads its configuration (flags, each also settable from
// the environment as HALOPSA_<NAME>), starts the ServerApp (which checks
// it and wires the service) and serves until SIGTERM or SIGINT.

#include <malloc.h>
#include <sys/resource.h>

#include <csignal>
#include <cstdlib>
#include <memory>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/reflection.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "app/server_app.h"
#include "server/logger.h"

ABSL_FLAG(std::string, grpc_listen, "0.0.0.0:50051", "address:port the gRPC service listens on");
ABSL_FLAG(std::string, grpc_tls_cert_file, "", "PEM certificate chain of the gRPC listener");
ABSL_FLAG(std::string, grpc_tls_key_file, "", "PEM private key of the gRPC listener");
ABSL_FLAG(std::string, grpc_client_ca_file, "",
          "PEM CA bundle; when set, gRPC callers must present a client certificate it signed (mTLS)");
ABSL_FLAG(bool, grpc_plaintext, false, "serve gRPC without TLS (local use only); required when no certificate is set");
ABSL_FLAG(std::string, gateway_listen, "0.0.0.0:8080",
          "address:port of the LimaCharlie webhook gateway (HTTP; TLS ends at the ingress); empty = off");
ABSL_FLAG(std::string, lc_extension_secret, "",
          "the extension's webhook signing key; prefer lc_extension_secret_file (env LC_EXTENSION_SECRET)");
ABSL_FLAG(std::string, lc_extension_secret_file, "", "file holding the webhook signing key (env LC_EXTENSION_SECRET_FILE)");
ABSL_FLAG(std::string, lc_api_url, "https://api.limacharlie.io", "LimaCharlie API for hive secrets (env LC_API_URL)");
ABSL_FLAG(std::string, gateway_service_target, "",
          "HaloPsaService the gateway calls: empty = this process, else host:port (plaintext)");
ABSL_FLAG(std::string, admin_listen, "0.0.0.0:9090",
          "address:port of /healthz, /readyz and /metrics (keep it off the public network); empty = off");
ABSL_FLAG(std::string, log_level, "info", "least severe log level written: debug, info, warning or error");
ABSL_FLAG(std::string, instance_url, "",
          "default HaloPSA tenant, e.g. https://acme.halopsa.com (calls may name their own, see README)");
ABSL_FLAG(std::string, client_id, "", "HaloPSA API application client id of the default connection");
ABSL_FLAG(std::string, client_secret, "",
          "client secret of the default connection; prefer client_secret_file (flags show in ps)");
ABSL_FLAG(std::string, client_secret_file, "", "file holding the client secret (e.g. a mounted Kubernetes Secret)");
ABSL_FLAG(std::string, tenant, "", "HaloPSA tenant for hosted shared-auth deployments (?tenant= on /auth/token)");
ABSL_FLAG(std::string, scope, "all",
          "OAuth2 scopes requested with each token (space-separated); least privilege for the six actions: "
          "\"edit:tickets edit:assets read:customers\"");
ABSL_FLAG(std::string, auth_url, "",
          "HaloPSA authorisation server, e.g. https://auth.haloservicedesk.com/auth; empty = discover it from "
          "{instance_url}/api/authinfo (Halo-hosted), else {instance_url}/auth");
ABSL_FLAG(std::string, default_outcome, "", "add_action outcome when the request names none (default Note)");
ABSL_FLAG(int, default_outcome_id, 0, "add_action outcome id when the request names none; wins over default_outcome");
ABSL_FLAG(bool, idempotency_marker, true,
          "creates with an idempotency key carry a visible 'ext-halopsa ref <hex>' line that retries search for; "
          "false = no line, and a retry after a lost answer may create a duplicate");
ABSL_FLAG(std::string, ca_file, "", "PEM bundle trusted for HaloPSA TLS in addition to the system roots");
ABSL_FLAG(bool, allow_insecure_http, false, "allow plain http:// HaloPSA URLs (local use and tests only)");
ABSL_FLAG(bool, allow_private_upstream, false,
          "allow HaloPSA URLs that resolve to loopback, private, link-local or metadata addresses");
ABSL_FLAG(std::string, allowed_upstreams, "",
          "comma-separated host names and CIDR ranges that HaloPSA and LimaCharlie URLs may use although private "
          "(e.g. halo.corp.example,10.20.0.0/16): a scoped allow_private_upstream");
ABSL_FLAG(size_t, gateway_max_connections, 1024,
          "open webhook connections at most; when full, the longest idle one is closed for a newcomer");
ABSL_FLAG(size_t, gateway_max_connections_per_source, 256,
          "open webhook connections from one peer address at most (behind an ingress, its address)");
ABSL_FLAG(absl::Duration, gateway_budget_wait, absl::Seconds(90),
          "deadline of each webhook call, so how long it may wait for HaloPSA's request budget: keep it inside "
          "LimaCharlie's ~2-minute webhook timeout (at most 115s); a write whose budget slot would come later is "
          "deferred at once (200 with a continuation)");
ABSL_FLAG(size_t, gateway_reply_cache_max_entries, halopsa::lc::GatewayOptions().idempotency_max_entries,
          "completed webhook replies kept in this process for retried callbacks (without redis_url)");
ABSL_FLAG(size_t, gateway_reply_cache_max_bytes, halopsa::lc::GatewayOptions().idempotency_max_bytes,
          "bytes of the reply bodies kept in this process for retried callbacks, in total (without redis_url)");
ABSL_FLAG(absl::Duration, connection_idle_timeout, absl::Seconds(10),
          "gateway and admin connections wait at most this long for a request's first byte");
ABSL_FLAG(int, io_threads, 2, "threads running upstream network I/O");
ABSL_FLAG(size_t, max_connections_per_host, 16, "upper bound of pooled HTTPS connections per HaloPSA host");
ABSL_FLAG(absl::Duration, connect_timeout, absl::Seconds(5), "bound on DNS + TCP connect + TLS handshake");
ABSL_FLAG(absl::Duration, io_timeout, absl::Seconds(30), "bound on each upstream write and response read");
ABSL_FLAG(int, rate_limit_requests, 300,
          "upstream requests per HaloPSA tenant in any rolling rate_limit_window (hosted Halo allows 300 per 5 "
          "minutes); 0 = no client-side limit");
ABSL_FLAG(absl::Duration, rate_limit_window, absl::Minutes(5), "the rolling window of rate_limit_requests");
ABSL_FLAG(size_t, rate_limit_org_queue, 250,
          "requests of one org (LimaCharlie oid, or x-halopsa-org-id) waiting in this process for the org's turn at "
          "a tenant's budget; beyond, RESOURCE_EXHAUSTED");
ABSL_FLAG(size_t, max_calls_in_flight, 4096,
          "calls served at once; beyond, calls are refused with RESOURCE_EXHAUSTED and a RetryInfo");
ABSL_FLAG(int, max_upstream_attempts, 6, "requests one call may send to HaloPSA, retries included");
ABSL_FLAG(absl::Duration, max_backoff, absl::Seconds(60), "longest wait between two attempts (429/503 back off "
          "exponentially from 2 s, other transient failures from 250 ms, with jitter)");
ABSL_FLAG(absl::Duration, default_deadline, absl::Seconds(30), "work bound of calls that carry no gRPC deadline");
ABSL_FLAG(std::string, redis_url, "",
          "Redis holding the state replicas share (redis://[[user]:password@]host:port/db or unix:///path); "
          "empty = this process only (one replica)");
ABSL_FLAG(absl::Duration, redis_unready_after, absl::Seconds(10),
          "/readyz answers 503 once Redis has been unreachable this long");
ABSL_FLAG(absl::Duration, redis_timeout, absl::Seconds(1), "bound of one Redis command (within the call's deadline)");
ABSL_FLAG(absl::Duration, shutdown_grace, absl::Seconds(20), "time calls in flight get to finish on SIGTERM");

namespace {

constexpr int kAllocatorMmapThreshold = 128 << 10;
constexpr int kConfigurationExitCode = 2;

// The one way halopsa-server reports that it cannot start: a JSON line on
// stdout like every other line, then exit. Messages name settings and never
// carry a secret (ValidateConfig, the flag parser and the secret files do not
// quote secret values).
[[noreturn]] void ExitNotStarted(const absl::Status& status) {
  halopsa::Logger(halopsa::LogLevel::kError)
      .Log(halopsa::LogLevel::kError, "not_started",
           {{"code", absl::StatusCodeToString(status.code())}, {"error", status.message()}});
  std::exit(kConfigurationExitCode);
}

bool IsServerFlag(const absl::CommandLineFlag& flag) { return absl::EndsWith(flag.Filename(), "app/main.cc"); }

// Sets every flag defined in this file from its environment variable when
// present; the command line, parsed afterwards, still wins.
absl::Status ApplyEnvironment() {
  for (const auto& [name, flag] : absl::GetAllFlags()) {
    if (!IsServerFlag(*flag)) continue;
    const std::string variable = halopsa::EnvironmentVariableOf(name);
    const char* value = std::getenv(variable.c_str());
    std::string error;
    if (value != nullptr && !flag->ParseFrom(value, &error)) {
      return absl::InvalidArgumentError(absl::StrCat(variable, ": ", error));
    }
  }
  return absl::OkStatus();
}

std::shared_ptr<const halopsa::HaloConnection> DefaultConnection() {
  std::string url = absl::GetFlag(FLAGS_instance_url);
  if (url.empty()) return nullptr;
  auto connection = std::make_shared<halopsa::HaloConnection>();
  connection->instance_url = std::string(absl::StripSuffix(url, "/"));
  connection->client_id = absl::GetFlag(FLAGS_client_id);
  connection->client_secret = absl::GetFlag(FLAGS_client_secret);
  connection->tenant = absl::GetFlag(FLAGS_tenant);
  connection->scope = absl::GetFlag(FLAGS_scope);
  connection->auth_url = std::string(absl::StripSuffix(absl::GetFlag(FLAGS_auth_url), "/"));
  connection->default_outcome = absl::GetFlag(FLAGS_default_outcome);
  connection->default_outcome_id = absl::GetFlag(FLAGS_default_outcome_id);
  connection->idempotency_marker = absl::GetFlag(FLAGS_idempotency_marker);
  return connection;
}

void ReadListeners(halopsa::ServerConfig& config) {
  config.grpc_listen = absl::GetFlag(FLAGS_grpc_listen);
  config.grpc_tls_cert_file = absl::GetFlag(FLAGS_grpc_tls_cert_file);
  config.grpc_tls_key_file = absl::GetFlag(FLAGS_grpc_tls_key_file);
  config.grpc_client_ca_file = absl::GetFlag(FLAGS_grpc_client_ca_file);
  config.grpc_plaintext = absl::GetFlag(FLAGS_grpc_plaintext);
  config.admin_listen = absl::GetFlag(FLAGS_admin_listen);
  config.connection_idle_timeout = absl::GetFlag(FLAGS_connection_idle_timeout);
  config.shutdown_grace = absl::GetFlag(FLAGS_shutdown_grace);
}

absl::Status ReadUpstream(halopsa::ServerConfig& config) {
  config.default_connection = DefaultConnection();
  config.client_secret_file = absl::GetFlag(FLAGS_client_secret_file);
  config.transport.threads = absl::GetFlag(FLAGS_io_threads);
  config.transport.extra_ca_file = absl::GetFlag(FLAGS_ca_file);
  config.transport.allow_insecure_http = absl::GetFlag(FLAGS_allow_insecure_http);
  config.transport.allow_private_addresses = absl::GetFlag(FLAGS_allow_private_upstream);
  absl::StatusOr<halopsa::net::UpstreamAllowance> allowed =
      halopsa::net::UpstreamAllowance::Parse(absl::GetFlag(FLAGS_allowed_upstreams));
  if (!allowed.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(halopsa::SettingName("allowed_upstreams"), ": ", allowed.status().message()));
  }
  config.transport.allowed_upstreams = *std::move(allowed);
  config.transport.max_connections_per_host = absl::GetFlag(FLAGS_max_connections_per_host);
  config.transport.connect_timeout = absl::GetFlag(FLAGS_connect_timeout);
  config.transport.io_timeout = absl::GetFlag(FLAGS_io_timeout);
  config.default_deadline = absl::GetFlag(FLAGS_default_deadline);
  config.rate_limit.max_requests = absl::GetFlag(FLAGS_rate_limit_requests);
  config.rate_limit.window = absl::GetFlag(FLAGS_rate_limit_window);
  config.rate_limit.max_waiting_per_org = absl::GetFlag(FLAGS_rate_limit_org_queue);
  config.retry.max_attempts = absl::GetFlag(FLAGS_max_upstream_attempts);
  config.retry.max_backoff = absl::GetFlag(FLAGS_max_backoff);
  config.max_calls_in_flight = absl::GetFlag(FLAGS_max_calls_in_flight);
  return absl::OkStatus();
}

void ReadGateway(halopsa::ServerConfig& config) {
  config.gateway_listen = absl::GetFlag(FLAGS_gateway_listen);
  config.gateway_max_connections = absl::GetFlag(FLAGS_gateway_max_connections);
  config.gateway_max_connections_per_source = absl::GetFlag(FLAGS_gateway_max_connections_per_source);
  config.gateway.call_deadline = absl::GetFlag(FLAGS_gateway_budget_wait);
  config.gateway.idempotency_max_entries = absl::GetFlag(FLAGS_gateway_reply_cache_max_entries);
  config.gateway.idempotency_max_bytes = absl::GetFlag(FLAGS_gateway_reply_cache_max_bytes);
  config.gateway.signing_secret = absl::GetFlag(FLAGS_lc_extension_secret);
  config.lc_extension_secret_file = absl::GetFlag(FLAGS_lc_extension_secret_file);
  config.gateway.lc_api_url = std::string(absl::StripSuffix(absl::GetFlag(FLAGS_lc_api_url), "/"));
  config.gateway_service_target = absl::GetFlag(FLAGS_gateway_service_target);
  // LimaCharlie's API is reached under the same trust and address rules as HaloPSA.
  config.lc_api_transport = config.transport;
}

// The flags as a ServerConfig. Fails only on text that does not parse;
// ServerApp::Start checks the values (ValidateConfig).
absl::StatusOr<halopsa::ServerConfig> ReadConfig() {
  halopsa::ServerConfig config;
  absl::StatusOr<halopsa::LogLevel> log_level = halopsa::ParseLogLevel(absl::GetFlag(FLAGS_log_level));
  if (!log_level.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(halopsa::SettingName("log_level"), ": ", log_level.status().message()));
  }
  config.log_level = *log_level;
  ReadListeners(config);
  if (absl::Status upstream = ReadUpstream(config); !upstream.ok()) return upstream;
  ReadGateway(config);
  config.redis_url = absl::GetFlag(FLAGS_redis_url);
  config.redis_unready_after = absl::GetFlag(FLAGS_redis_unready_after);
  config.redis_timeout = absl::GetFlag(FLAGS_redis_timeout);
  return config;
}

void ParseFlags(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "halopsa-server: the ext-halopsa gRPC service.\n"
      "Every flag --name can also be set with the environment variable HALOPSA_<NAME>\n"
      "(e.g. --instance_url as HALOPSA_INSTANCE_URL; --lc_* flags as LC_<NAME>, e.g.\n"
      "LC_EXTENSION_SECRET_FILE); the command line wins.");
  absl::FlagsUsageConfig usage;
  usage.contains_help_flags = [](absl::string_view path) { return absl::EndsWith(path, "app/main.cc"); };
  absl::SetFlagsUsageConfig(usage);
  if (absl::Status environment = ApplyEnvironment(); !environment.ok()) ExitNotStarted(environment);
  absl::ParseCommandLine(argc, argv);
}

// Large blocks (request bodies, JSON texts) straight from mmap, so they go
// back to the system when freed, and two arenas instead of eight per core,
// so that RSS falls back after bursts of worst-case requests (measured
// against glibc's defaults and tcmalloc in the README, Security).
void TuneAllocator() {
  mallopt(M_MMAP_THRESHOLD, kAllocatorMmapThreshold);
  mallopt(M_TRIM_THRESHOLD, kAllocatorMmapThreshold);
  mallopt(M_ARENA_MAX, 2);
}

// Every connection is a descriptor: take the hard limit, so the connection
// caps, not the descriptor limit, decide who is refused.
void RaiseDescriptorLimit() {
  rlimit files{};
  if (getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
    files.rlim_cur = files.rlim_max;
    setrlimit(RLIMIT_NOFILE, &files);
  }
}

// Blocked in every thread (threads inherit the mask); main waits for them.
sigset_t BlockShutdownSignals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  return signals;
}

}  // namespace

int main(int argc, char** argv) {
  ParseFlags(argc, argv);
  absl::StatusOr<halopsa::ServerConfig> config = ReadConfig();
  if (!config.ok()) ExitNotStarted(config.status());
  // Debian's Abseil leaves lock-order checking on; it costs on every lock.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  TuneAllocator();
  RaiseDescriptorLimit();
  const sigset_t signals = BlockShutdownSignals();

  // Start-up and drain are logged by the app as JSON lines, like everything on stdout.
  absl::StatusOr<std::unique_ptr<halopsa::ServerApp>> app = halopsa::ServerApp::Start(*std::move(config));
  if (!app.ok()) ExitNotStarted(app.status());
  int signal_number = 0;
  sigwait(&signals, &signal_number);
  (*app)->Shutdown();
  return 0;
}

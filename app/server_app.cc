#include "app/server_app.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>

#include <fstream>
#include <sstream>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "adapters/halopsa/fair_budget.h"
#include "adapters/halopsa/halo_rest_client.h"
#include "adapters/net/http_server.h"
#include "adapters/redis/redis_client.h"
#include "adapters/redis/redis_link_locks.h"
#include "adapters/redis/redis_outcome_journal.h"
#include "adapters/redis/redis_reply_cache.h"
#include "adapters/redis/redis_request_budget.h"
#include "adapters/redis/redis_url.h"
#include "app/admin_endpoints.h"
#include "app/app_observers.h"
#include "app/memory_trimmer.h"
#include "server/grpc_service.h"
#include "server/grpc_service_calls.h"
#include "server/halopsa_operations.h"
#include "server/error_mapping.h"
#include "server/in_process_service_calls.h"
#include "server/json_values.h"
#include "server/service_metrics.h"

namespace halopsa {

// Declared in dependency order: members are destroyed bottom-up, so the
// gRPC server goes before the service it calls, and the transport last.
struct ServerApp::Parts {
  ServerConfig config;
  MetricsRegistry registry;
  std::unique_ptr<ServiceMetrics> metrics;
  std::unique_ptr<Logger> logger;
  std::unique_ptr<net::BeastHttpTransport> transport;
  std::unique_ptr<AuthDiscovery> discovery;
  std::unique_ptr<TokenCache> tokens;
  std::unique_ptr<TenantRateLimiter> limiter;
  // Redis mode only: the client (on the transport's io_context, so it goes
  // before the transport) and the shared state built on it.
  std::unique_ptr<redis::RedisClient> redis;
  std::unique_ptr<SlotSource> shared_budget;
  std::unique_ptr<UnknownOutcomeJournal> shared_journal;
  std::unique_ptr<LinkLocks> shared_link_locks;
  std::unique_ptr<lc::ReplyCache> shared_replies;  // the gateway's
  // Queues requests for their org's turn; its timers run on the scheduler,
  // which goes first.
  std::unique_ptr<FairRequestBudget> budget;
  std::unique_ptr<HaloRestClient> halo;
  // Runs the REST client's delayed sends and the budget's turns on the
  // transport's io_context, so it goes before the client and the transport.
  std::unique_ptr<net::IoContextScheduler> scheduler;
  std::unique_ptr<HaloPsaOperations> operations;
  std::unique_ptr<CallRunner> runner;
  std::unique_ptr<HaloPsaGrpcService> service;
  std::unique_ptr<grpc::Server> server;
  // Declared after what they call, so that they are destroyed first: the
  // gateway's HTTP server, then the gateway (cancelling its calls), before
  // the gRPC server and the transports.
  std::unique_ptr<net::BeastHttpTransport> lc_api_transport;
  std::unique_ptr<lc::Gateway> gateway;
  std::unique_ptr<net::HttpServer> gateway_http;
  std::unique_ptr<net::HttpServer> admin;
  std::unique_ptr<MemoryTrimmer> trimmer;  // on the transport's io_context
  int grpc_port = 0;
  std::atomic<bool> ready{false};
  absl::Mutex shutdown_mutex;
  bool shut_down ABSL_GUARDED_BY(shutdown_mutex) = false;
};

namespace {

// Time the answers given at the end of a drain get to be written.
constexpr absl::Duration kLastAnswersTime = absl::Seconds(2);

// How often free heap pages go back to the system.
constexpr absl::Duration kMemoryTrimPeriod = absl::Seconds(5);

constexpr int kGatewayThreads = 2;
constexpr size_t kAdminMaxConnections = 64;
constexpr size_t kAdminMaxConnectionsPerSource = 16;

constexpr size_t kMaxGrpcReceiveBytes = 2 * kRequestJsonLimits.max_bytes;

absl::StatusOr<std::string> ReadPem(const std::string& path, absl::string_view flag) {
  std::ifstream file(path);
  std::stringstream content;
  content << file.rdbuf();
  if (!file || content.str().empty()) {
    return absl::InvalidArgumentError(absl::StrCat("cannot read ", SettingName(flag), " ", path));
  }
  return content.str();
}

// TLS from the configured PEM files, or plaintext (ValidateConfig allowed
// exactly one of them).
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> GrpcCredentials(const ServerConfig& c) {
  if (c.grpc_plaintext) return grpc::InsecureServerCredentials();
  absl::StatusOr<std::string> cert = ReadPem(c.grpc_tls_cert_file, "grpc_tls_cert_file");
  absl::StatusOr<std::string> key = ReadPem(c.grpc_tls_key_file, "grpc_tls_key_file");
  if (!cert.ok()) return cert.status();
  if (!key.ok()) return key.status();
  grpc::SslServerCredentialsOptions options;
  options.pem_key_cert_pairs.push_back({*key, *cert});
  if (!c.grpc_client_ca_file.empty()) {
    absl::StatusOr<std::string> client_ca = ReadPem(c.grpc_client_ca_file, "grpc_client_ca_file");
    if (!client_ca.ok()) return client_ca.status();
    options.pem_root_certs = *client_ca;
    options.client_certificate_request = GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY;
  }
  return grpc::SslServerCredentials(options);
}

// A listener that cannot start names its setting.
absl::Status ListenerFailed(absl::string_view flag, const absl::Status& status) {
  return absl::Status(status.code(), absl::StrCat(SettingName(flag), ": ", status.message()));
}

// In this process the gateway hands calls straight to the runner: a gRPC
// hop here would only serialise every request and response twice.
std::unique_ptr<ServiceCalls> GatewayServiceCalls(const ServerConfig& c, CallRunner& runner) {
  if (c.gateway_service_target.empty()) return std::make_unique<InProcessServiceCalls>(runner);
  return std::make_unique<GrpcServiceCalls>(
      grpc::CreateChannel(c.gateway_service_target, grpc::InsecureChannelCredentials()));
}

net::HttpServerOptions GatewayHttpOptions(const ServerConfig& c) {
  net::HttpServerOptions http;
  http.listen = c.gateway_listen;
  // Twice the gateway's own limit: bodies just over it still reach the
  // gateway, which answers 413 with an envelope; the HTTP server cuts off
  // only what is far beyond.
  http.max_body_bytes = 2 * c.gateway.max_body_bytes;
  http.idle_timeout = c.connection_idle_timeout;
  // Two threads: a sender refused at length (forged signatures, floods)
  // never holds the one thread signed callbacks need.
  http.threads = kGatewayThreads;
  http.max_connections = c.gateway_max_connections;
  http.max_connections_per_source = c.gateway_max_connections_per_source;
  http.shutdown_grace = c.shutdown_grace;
  return http;
}

}  // namespace

absl::StatusOr<std::unique_ptr<ServerApp>> ServerApp::Start(ServerConfig config) {
  if (absl::Status valid = ValidateConfig(config); !valid.ok()) return valid;
  if (absl::Status read = ReadSecretFiles(config); !read.ok()) return read;
  auto parts = std::make_unique<Parts>();
  parts->config = std::move(config);
  if (absl::Status status = ConnectUpstream(*parts); !status.ok()) return status;
  if (absl::Status status = ConnectSharedState(*parts); !status.ok()) return status;
  BuildService(*parts);
  if (absl::Status status = StartGrpc(*parts); !status.ok()) return status;
  if (absl::Status status = StartGateway(*parts); !status.ok()) return status;
  if (absl::Status status = StartAdmin(*parts); !status.ok()) return status;
  AnnounceReady(*parts);
  return std::unique_ptr<ServerApp>(new ServerApp(std::move(parts)));
}

absl::Status ServerApp::ConnectUpstream(Parts& parts) {
  const ServerConfig& c = parts.config;
  absl::StatusOr<std::unique_ptr<net::BeastHttpTransport>> transport = net::BeastHttpTransport::Create(c.transport);
  if (!transport.ok()) return transport.status();
  parts.transport = *std::move(transport);
  parts.metrics = std::make_unique<ServiceMetrics>(parts.registry);
  parts.logger = std::make_unique<Logger>(c.log_level, c.log_output);
  parts.discovery = std::make_unique<AuthDiscovery>(
      *parts.transport, AuthDiscoveryOptions{.allow_insecure_http = c.transport.allow_insecure_http});
  parts.tokens = std::make_unique<TokenCache>(*parts.transport, *parts.discovery, c.tokens);
  parts.limiter = std::make_unique<TenantRateLimiter>(c.rate_limit);
  return absl::OkStatus();
}

absl::Status ServerApp::ConnectSharedState(Parts& parts) {
  const ServerConfig& c = parts.config;
  if (c.redis_url.empty()) return absl::OkStatus();
  absl::StatusOr<redis::RedisEndpoint> endpoint = redis::ParseRedisUrl(c.redis_url, SettingName("redis_url"));
  if (!endpoint.ok()) return endpoint.status();
  redis::RedisOptions options;
  options.endpoint = *endpoint;
  options.command_timeout = c.redis_timeout;
  options.on_state_change = [logger = parts.logger.get(), where = endpoint->Describe()](bool up,
                                                                                        absl::string_view why) {
    logger->Log(up ? LogLevel::kInfo : LogLevel::kWarning, "shared_state",
                {{"state", up ? "up" : "down"}, {"redis", where}, {"error", why}});
  };
  parts.redis = redis::RedisClient::Start(parts.transport->io_context(), std::move(options));
  parts.shared_budget = std::make_unique<redis::RedisRequestBudget>(*parts.redis, c.rate_limit, *parts.limiter);
  parts.shared_journal = std::make_unique<redis::RedisOutcomeJournal>(*parts.redis);
  parts.shared_link_locks = std::make_unique<redis::RedisLinkLocks>(*parts.redis);
  parts.shared_replies = std::make_unique<redis::RedisReplyCache>(*parts.redis);
  AddSharedStateMetrics(parts.registry, parts.redis.get());
  return absl::OkStatus();
}

void ServerApp::BuildService(Parts& parts) {
  const ServerConfig& c = parts.config;
  parts.scheduler = std::make_unique<net::IoContextScheduler>(parts.transport->io_context());
  SlotSource& slots = parts.shared_budget ? *parts.shared_budget : *parts.limiter;
  parts.budget = std::make_unique<FairRequestBudget>(slots, *parts.scheduler, c.rate_limit, parts.metrics.get());
  parts.halo = std::make_unique<HaloRestClient>(
      HaloRestClient::Dependencies{*parts.transport, *parts.tokens, *parts.scheduler, *parts.budget,
                                   parts.metrics.get()},
      c.retry);
  parts.operations = std::make_unique<HaloPsaOperations>(
      *parts.halo, SharedState{parts.shared_journal.get(), parts.shared_link_locks.get()});
  parts.runner = std::make_unique<CallRunner>(
      *parts.operations,
      ServiceOptions{c.default_connection, c.default_deadline, c.max_calls_in_flight, parts.logger.get(),
                     parts.metrics.get()});
  parts.service = std::make_unique<HaloPsaGrpcService>(*parts.runner);
  AddUpstreamMetrics(parts.registry, parts.tokens.get(), parts.transport.get());
}

absl::Status ServerApp::StartGrpc(Parts& parts) {
  const ServerConfig& c = parts.config;
  absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> credentials = GrpcCredentials(c);
  if (!credentials.ok()) return credentials.status();
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  builder.AddListeningPort(c.grpc_listen, *credentials, &parts.grpc_port);
  builder.RegisterService(parts.service.get());
  // Keepalive pings keep idle connections alive through load balancers and
  // find dead peers.
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, 60000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 20000);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 10000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  // Requests up to twice the request limit arrive and are refused with
  // INVALID_ARGUMENT naming it (the service checks them before parsing);
  // gRPC itself refuses anything larger with RESOURCE_EXHAUSTED.
  builder.SetMaxReceiveMessageSize(static_cast<int>(kMaxGrpcReceiveBytes));
  parts.server = builder.BuildAndStart();
  if (!parts.server || parts.grpc_port == 0) {
    return absl::UnavailableError(absl::StrCat(SettingName("grpc_listen"), ": cannot listen for gRPC on ", c.grpc_listen));
  }
  return absl::OkStatus();
}

absl::Status ServerApp::StartGateway(Parts& parts) {
  const ServerConfig& c = parts.config;
  if (c.gateway_listen.empty()) return absl::OkStatus();
  absl::StatusOr<std::unique_ptr<net::BeastHttpTransport>> lc_api = net::BeastHttpTransport::Create(c.lc_api_transport);
  if (!lc_api.ok()) return lc_api.status();
  parts.lc_api_transport = *std::move(lc_api);
  lc::GatewayOptions options = c.gateway;
  options.shared_replies = parts.shared_replies.get();
  options.observer = GatewayObserver(parts.metrics.get(), parts.logger.get());
  parts.gateway = std::make_unique<lc::Gateway>(std::move(options), GatewayServiceCalls(c, *parts.runner),
                                                *parts.lc_api_transport);
  const net::HttpServerOptions http = GatewayHttpOptions(c);
  absl::StatusOr<std::unique_ptr<net::HttpServer>> server = net::HttpServer::Start(
      http, [gateway = parts.gateway.get()](net::ServerRequest request, net::Responder respond) {
        gateway->Handle(std::move(request), std::move(respond));
      });
  if (!server.ok()) return ListenerFailed("gateway_listen", server.status());
  parts.gateway_http = *std::move(server);
  const net::HttpServer* gateway_http = parts.gateway_http.get();
  parts.registry.AddCallback("halopsa_gateway_open_connections", "Open webhook connections now.", "gauge",
                             [gateway_http] { return static_cast<double>(gateway_http->open_connections()); });
  parts.registry.AddCallback("halopsa_gateway_max_connections", "The cap of open webhook connections.", "gauge",
                             [cap = http.max_connections] { return static_cast<double>(cap); });
  return absl::OkStatus();
}

absl::Status ServerApp::StartAdmin(Parts& parts) {
  const ServerConfig& c = parts.config;
  if (c.admin_listen.empty()) return absl::OkStatus();
  net::HttpServerOptions admin_options;
  admin_options.listen = c.admin_listen;
  // Its own slots, never the gateway's: the kubelet's probes and the
  // scrapes get through a gateway flood, and one peer cannot take them all.
  admin_options.idle_timeout = c.connection_idle_timeout;
  admin_options.max_connections = kAdminMaxConnections;
  admin_options.max_connections_per_source = kAdminMaxConnectionsPerSource;
  absl::StatusOr<std::unique_ptr<net::HttpServer>> admin =
      net::HttpServer::Start(admin_options, AdminHandler(parts.registry, [p = &parts] {
                               // A replica that cannot coordinate with the others for a while
                               // leaves the load balancer; a short blip does not flap it.
                               bool shared_state_ok = !p->redis || p->redis->down_for() <= p->config.redis_unready_after;
                               return p->ready.load() && shared_state_ok;
                             }));
  if (!admin.ok()) return ListenerFailed("admin_listen", admin.status());
  parts.admin = *std::move(admin);
  return absl::OkStatus();
}

void ServerApp::AnnounceReady(Parts& parts) {
  const ServerConfig& c = parts.config;
  parts.trimmer = std::make_unique<MemoryTrimmer>(parts.transport->io_context(), kMemoryTrimPeriod);
  parts.server->GetHealthCheckService()->SetServingStatus(true);
  parts.ready = true;
  parts.logger->Log(LogLevel::kInfo, "started",
                    {{"grpc_port", static_cast<int64_t>(parts.grpc_port)},
                     {"gateway_port", static_cast<int64_t>(parts.gateway_http ? parts.gateway_http->port() : 0)},
                     {"admin_port", static_cast<int64_t>(parts.admin ? parts.admin->port() : 0)},
                     {"default_instance_url", c.default_connection ? absl::string_view(c.default_connection->instance_url)
                                                                   : absl::string_view()}});
}

ServerApp::ServerApp(std::unique_ptr<Parts> parts) : parts_(std::move(parts)) {}

ServerApp::~ServerApp() { Shutdown(); }

int ServerApp::grpc_port() const { return parts_->grpc_port; }

int ServerApp::gateway_port() const { return parts_->gateway_http ? parts_->gateway_http->port() : 0; }

int ServerApp::admin_port() const { return parts_->admin ? parts_->admin->port() : 0; }

// One grace for every listener: from SIGTERM, new connections are refused
// and /readyz answers 503; webhooks and RPCs in flight are answered as they
// complete, until the grace ends. What still runs then gets a retriable
// answer (its creates are in the unknown-outcome journal already).
void ServerApp::Shutdown() {
  absl::MutexLock lock(&parts_->shutdown_mutex);
  if (parts_->shut_down) return;
  parts_->shut_down = true;
  Parts& parts = *parts_;
  const absl::Time deadline = absl::Now() + parts.config.shutdown_grace;
  parts.ready = false;
  parts.logger->Log(LogLevel::kInfo, "draining", {{"grace_s", absl::ToDoubleSeconds(parts.config.shutdown_grace)}});
  parts.server->GetHealthCheckService()->SetServingStatus(false);
  if (parts.gateway_http) parts.gateway_http->StopAccepting();
  // gRPC stops listening at once and cancels what is left after the
  // deadline; by then AbandonRemaining has answered it.
  std::thread grpc_stop(
      [&parts, deadline] { parts.server->Shutdown(absl::ToChronoTime(deadline + kLastAnswersTime)); });
  const bool webhooks_answered = !parts.gateway_http || parts.gateway_http->WaitUntilClosed(deadline);
  const bool calls_answered = parts.runner->WaitUntilIdle(deadline);
  if (!webhooks_answered || !calls_answered) AbandonRemaining(parts);
  if (parts.gateway) parts.gateway->Stop();  // answers the webhooks still waiting: retriable
  if (parts.gateway_http) parts.gateway_http->Shutdown(absl::Now() + kLastAnswersTime);
  grpc_stop.join();
  // Calls still waiting for a rate-limit slot or a retry end now; the
  // others end by their deadlines.
  parts.halo->StopWaiting();
  parts.budget->StopWaiting();
  parts.scheduler->RunWaitingNow();
  parts.server->Wait();
  parts.runner->WaitUntilIdle(absl::InfiniteFuture());
  // Commands still in flight (releases, journal clean-ups) end now, while
  // what their callbacks touch still exists.
  if (parts.redis) parts.redis->Close();
}

void ServerApp::AbandonRemaining(Parts& parts) {
  parts.logger->Log(LogLevel::kWarning, "drain_grace_over", {});
  // Creates whose answer this process will not see need no entry here: the
  // unknown-outcome journal holds their keys from before their POST, so
  // their retries, on any replica sharing it, look before writing.
  parts.service->AbandonAll(WithErrorInfo(
      absl::UnavailableError("ext-halopsa stopped before the call finished; retry"), kReasonShuttingDown));
}

const TokenCache& ServerApp::tokens() const { return *parts_->tokens; }

}  // namespace halopsa

#include "app/server_app.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "adapters/halopsa/halo_rest_client.h"
#include "server/grpc_service.h"
#include "server/halopsa_actions.h"

namespace halopsa {

// Declared in dependency order: members are destroyed bottom-up, so the
// gRPC server goes before the service it calls, and the transport last.
struct ServerApp::Parts {
  ServerConfig config;
  std::unique_ptr<net::BeastHttpTransport> transport;
  std::unique_ptr<TokenCache> tokens;
  std::unique_ptr<HaloRestClient> halo;
  std::unique_ptr<HaloPsaActions> actions;
  std::unique_ptr<HaloPsaGrpcService> service;
  std::unique_ptr<grpc::Server> server;
  int grpc_port = 0;
  absl::Mutex shutdown_mutex;
  bool shut_down ABSL_GUARDED_BY(shutdown_mutex) = false;
};

absl::StatusOr<std::unique_ptr<ServerApp>> ServerApp::Start(ServerConfig config) {
  auto parts = std::make_unique<Parts>();
  parts->config = std::move(config);
  const ServerConfig& c = parts->config;

  absl::StatusOr<std::unique_ptr<net::BeastHttpTransport>> transport = net::BeastHttpTransport::Create(c.transport);
  if (!transport.ok()) return transport.status();
  parts->transport = *std::move(transport);
  parts->tokens = std::make_unique<TokenCache>(*parts->transport, c.tokens);
  parts->halo = std::make_unique<HaloRestClient>(*parts->transport, *parts->tokens);
  parts->actions = std::make_unique<HaloPsaActions>(*parts->halo);
  parts->service = std::make_unique<HaloPsaGrpcService>(
      *parts->actions, ServiceOptions{c.default_connection, c.default_deadline});

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  builder.AddListeningPort(c.grpc_listen, grpc::InsecureServerCredentials(), &parts->grpc_port);
  builder.RegisterService(parts->service.get());
  // Keepalive pings keep idle connections alive through load balancers and
  // find dead peers.
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, 60000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 20000);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 10000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  parts->server = builder.BuildAndStart();
  if (!parts->server || parts->grpc_port == 0) {
    return absl::UnavailableError(absl::StrCat("cannot listen for gRPC on ", c.grpc_listen));
  }
  parts->server->GetHealthCheckService()->SetServingStatus(true);
  return std::unique_ptr<ServerApp>(new ServerApp(std::move(parts)));
}

ServerApp::ServerApp(std::unique_ptr<Parts> parts) : parts_(std::move(parts)) {}

ServerApp::~ServerApp() { Shutdown(); }

int ServerApp::grpc_port() const { return parts_->grpc_port; }

void ServerApp::Shutdown() {
  absl::MutexLock lock(&parts_->shutdown_mutex);
  if (parts_->shut_down) return;
  parts_->shut_down = true;
  parts_->server->GetHealthCheckService()->SetServingStatus(false);
  parts_->server->Shutdown(absl::ToChronoTime(absl::Now() + parts_->config.shutdown_grace));
  parts_->server->Wait();
}

const TokenCache& ServerApp::tokens() const { return *parts_->tokens; }

const net::BeastHttpTransport& ServerApp::transport() const { return *parts_->transport; }

}  // namespace halopsa

#ifndef HALOPSA_APP_SERVER_APP_H_
#define HALOPSA_APP_SERVER_APP_H_

#include <memory>

#include "absl/status/statusor.h"
#include "adapters/halopsa/token_cache.h"
#include "app/server_config.h"

namespace halopsa {

// The composition root: checks the configuration (ValidateConfig), builds
// the transport, token cache, HaloPSA REST client, operations, gRPC server,
// webhook gateway and admin listener, and tears them down in order. Used by
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
  // Start's steps, in order; each needs what the ones before it built.
  static absl::Status ConnectUpstream(Parts& parts);
  static absl::Status ConnectSharedState(Parts& parts);
  static void BuildService(Parts& parts);
  static absl::Status StartGrpc(Parts& parts);
  static absl::Status StartGateway(Parts& parts);
  static absl::Status StartAdmin(Parts& parts);
  static void AnnounceReady(Parts& parts);
  static void AbandonRemaining(Parts& parts);
  std::unique_ptr<Parts> parts_;
};

}  // namespace halopsa

#endif  // HALOPSA_APP_SERVER_APP_H_

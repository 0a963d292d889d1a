#ifndef HALOPSA_SERVER_GRPC_SERVICE_H_
#define HALOPSA_SERVER_GRPC_SERVICE_H_

#include <atomic>
#include <cstddef>
#include <map>
#include <memory>
#include <string>

#include <grpcpp/grpcpp.h>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "halopsa/v1/halopsa.grpc.pb.h"
#include "server/halo_api.h"
#include "server/halopsa_actions.h"
#include "server/logger.h"
#include "server/service_metrics.h"

namespace halopsa {

// Metadata keys a multi-tenant caller sets to use its own HaloPSA connection.
inline constexpr char kInstanceUrlHeader[] = "x-halopsa-instance-url";
inline constexpr char kClientIdHeader[] = "x-halopsa-client-id";
inline constexpr char kClientSecretHeader[] = "x-halopsa-client-secret";
inline constexpr char kTenantHeader[] = "x-halopsa-tenant";
inline constexpr char kScopeHeader[] = "x-halopsa-scope";
inline constexpr char kOrgIdHeader[] = "x-halopsa-org-id";
// Correlates a call's log line with the caller's (the gateway sends the
// webhook's idempotency key).
inline constexpr char kRequestIdHeader[] = "x-request-id";
// The caller's key for a call it may retry (the gateway sends the webhook's
// idempotency key): a retried create_ticket or add_action whose first
// outcome was unknown finds the ticket or note made then instead of making
// a second one. Printable ASCII, at most kMaxIdempotencyKeyBytes.
inline constexpr char kIdempotencyKeyHeader[] = "x-idempotency-key";
inline constexpr size_t kMaxIdempotencyKeyBytes = 1024;

struct ServiceOptions {
  // The connection of calls without connection metadata; null = none, and
  // such calls fail with FAILED_PRECONDITION.
  std::shared_ptr<const HaloConnection> default_connection;
  // Bounds the upstream work of calls that carry no gRPC deadline.
  absl::Duration default_deadline = absl::Seconds(30);
  // Calls served at once; beyond, a call is refused at once with
  // RESOURCE_EXHAUSTED (reason OVERLOADED) and a RetryInfo, instead of
  // queueing without bound.
  size_t max_calls_in_flight = 4096;
  // One log line and metrics per call; either may be null.
  Logger* logger = nullptr;
  ServiceMetrics* metrics = nullptr;
};

// The connection a call uses: its metadata's when it carries
// x-halopsa-instance-url, else the default.
absl::StatusOr<std::shared_ptr<const HaloConnection>> ConnectionForCall(
    const std::multimap<grpc::string_ref, grpc::string_ref>& metadata,
    const std::shared_ptr<const HaloConnection>& default_connection);

// What a gRPC metadata value may hold (and so every value that travels as
// one): printable ASCII, no control characters or line breaks.
bool IsPrintableAscii(absl::string_view text);

// The call's x-idempotency-key ("" when absent); INVALID_ARGUMENT when it is
// too long or not printable ASCII.
absl::StatusOr<std::string> IdempotencyKeyForCall(const std::multimap<grpc::string_ref, grpc::string_ref>& metadata);

// HaloPsaService over the callback API: each method starts the action and
// returns at once; the reactor finishes when the action's upstream work does.
class HaloPsaGrpcService final : public v1::HaloPsaService::CallbackService {
 public:
  HaloPsaGrpcService(HaloPsaActions& actions, ServiceOptions options)
      : actions_(actions), options_(std::move(options)) {}

  grpc::ServerUnaryReactor* CreateTicket(grpc::CallbackServerContext* context,
                                         const v1::CreateTicketRequest* request,
                                         v1::CreateTicketResponse* response) override;
  grpc::ServerUnaryReactor* UpdateTicket(grpc::CallbackServerContext* context,
                                         const v1::UpdateTicketRequest* request,
                                         v1::UpdateTicketResponse* response) override;
  grpc::ServerUnaryReactor* SearchTickets(grpc::CallbackServerContext* context,
                                          const v1::SearchTicketsRequest* request,
                                          v1::SearchTicketsResponse* response) override;
  grpc::ServerUnaryReactor* AddAction(grpc::CallbackServerContext* context, const v1::AddActionRequest* request,
                                      v1::AddActionResponse* response) override;
  grpc::ServerUnaryReactor* LinkAssetToTicket(grpc::CallbackServerContext* context,
                                              const v1::LinkAssetToTicketRequest* request,
                                              v1::LinkAssetToTicketResponse* response) override;
  grpc::ServerUnaryReactor* LookupClientSite(grpc::CallbackServerContext* context,
                                             const v1::LookupClientSiteRequest* request,
                                             v1::LookupClientSiteResponse* response) override;

 private:
  template <typename Request, typename Response>
  using Action = void (HaloPsaActions::*)(const CallContext&, const Request&, Reply<Response>);

  // Records the finished call in metrics and the log.
  void Observe(absl::string_view method, const grpc::CallbackServerContext& context, const CallStats& stats,
               absl::Time start, const absl::Status& status) const;

  template <typename Request, typename Response>
  grpc::ServerUnaryReactor* Serve(grpc::CallbackServerContext* context, const Request& request,
                                  Response* response, absl::string_view method, Action<Request, Response> action);

  HaloPsaActions& actions_;
  const ServiceOptions options_;
  std::atomic<size_t> calls_in_flight_{0};
};

}  // namespace halopsa

#endif  // HALOPSA_SERVER_GRPC_SERVICE_H_

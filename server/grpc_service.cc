#include "server/grpc_service.h"

#include <algorithm>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "server/error_mapping.h"

namespace halopsa {
namespace {

std::optional<std::string> MetadataValue(const std::multimap<grpc::string_ref, grpc::string_ref>& metadata,
                                         absl::string_view key) {
  auto it = metadata.find(grpc::string_ref(key.data(), key.size()));
  if (it == metadata.end()) return std::nullopt;
  return std::string(it->second.data(), it->second.size());
}

absl::Status InvalidHeader(absl::string_view header, absl::string_view description) {
  return WithErrorInfo(absl::InvalidArgumentError(absl::StrCat("metadata ", header, " ", description)),
                       kReasonInvalidField, {{"field", std::string(header)}});
}

absl::Status MissingHeader(absl::string_view header) {
  return InvalidHeader(header, absl::StrCat("is required when ", kInstanceUrlHeader, " is given"));
}

// Long enough for calls in flight to drain a little, short against a
// call's deadline.
constexpr absl::Duration kOverloadedRetryDelay = absl::Seconds(1);

}  // namespace

absl::StatusOr<std::shared_ptr<const HaloConnection>> ConnectionForCall(
    const std::multimap<grpc::string_ref, grpc::string_ref>& metadata,
    const std::shared_ptr<const HaloConnection>& default_connection) {
  std::optional<std::string> instance_url = MetadataValue(metadata, kInstanceUrlHeader);
  if (!instance_url) {
    if (default_connection) return default_connection;
    return WithErrorInfo(
        absl::FailedPreconditionError("no HaloPSA connection: the server has no HALOPSA_INSTANCE_URL and the call "
                                      "carries no x-halopsa-instance-url metadata"),
        kReasonNoConnection);
  }
  auto connection = std::make_shared<HaloConnection>();
  connection->instance_url = std::string(absl::StripSuffix(*instance_url, "/"));
  std::optional<std::string> client_id = MetadataValue(metadata, kClientIdHeader);
  std::optional<std::string> client_secret = MetadataValue(metadata, kClientSecretHeader);
  if (!client_id || client_id->empty()) return MissingHeader(kClientIdHeader);
  if (!client_secret || client_secret->empty()) return MissingHeader(kClientSecretHeader);
  connection->client_id = *std::move(client_id);
  connection->client_secret = *std::move(client_secret);
  connection->tenant = MetadataValue(metadata, kTenantHeader).value_or("");
  std::string scope = MetadataValue(metadata, kScopeHeader).value_or("");
  if (!scope.empty()) connection->scope = std::move(scope);
  connection->org_id = MetadataValue(metadata, kOrgIdHeader).value_or("");
  return connection;
}

bool IsPrintableAscii(absl::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) { return c >= 0x20 && c <= 0x7e; });
}

absl::StatusOr<std::string> IdempotencyKeyForCall(const std::multimap<grpc::string_ref, grpc::string_ref>& metadata) {
  std::string key = MetadataValue(metadata, kIdempotencyKeyHeader).value_or("");
  // The key is never echoed: it is the caller's and may be anything.
  if (key.size() > kMaxIdempotencyKeyBytes) {
    return InvalidHeader(kIdempotencyKeyHeader, absl::StrCat("is longer than ", kMaxIdempotencyKeyBytes, " bytes"));
  }
  if (!IsPrintableAscii(key)) return InvalidHeader(kIdempotencyKeyHeader, "must be printable ASCII");
  return key;
}

void HaloPsaGrpcService::Observe(absl::string_view method, const grpc::CallbackServerContext& context,
                                 const CallStats& stats, absl::Time start, const absl::Status& status) const {
  absl::Duration elapsed = absl::Now() - start;
  std::string code = absl::StatusCodeToString(status.code());
  if (options_.metrics != nullptr) {
    options_.metrics->rpc_calls.With({std::string(method), code}).Increment();
    options_.metrics->rpc_latency.With({std::string(method)}).Observe(absl::ToDoubleSeconds(elapsed));
  }
  if (options_.logger == nullptr) return;
  const auto& metadata = context.client_metadata();
  std::string org = MetadataValue(metadata, kOrgIdHeader).value_or("");
  std::string request_id = MetadataValue(metadata, kRequestIdHeader).value_or("");
  std::optional<google::rpc::ErrorInfo> info = GetErrorInfo(status);
  options_.logger->Log(status.ok() ? LogLevel::kInfo : LogLevel::kWarning, "rpc",
                       {{"method", method},
                        {"org", org},
                        {"request_id", request_id},
                        {"code", code},
                        {"reason", info ? absl::string_view(info->reason()) : absl::string_view()},
                        {"error", status.message()},
                        {"duration_ms", absl::ToDoubleMilliseconds(elapsed)},
                        {"upstream_requests", static_cast<int64_t>(stats.upstream_requests.load())}});
}

template <typename Request, typename Response>
grpc::ServerUnaryReactor* HaloPsaGrpcService::Serve(grpc::CallbackServerContext* context, const Request& request,
                                                    Response* response, absl::string_view method,
                                                    Action<Request, Response> action) {
  absl::Time start = absl::Now();
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  auto stats = std::make_shared<CallStats>();
  const size_t calls = calls_in_flight_.fetch_add(1, std::memory_order_relaxed) + 1;
  auto finish = [this, reactor, context, method, start, stats](const absl::Status& status) {
    Observe(method, *context, *stats, start, status);
    calls_in_flight_.fetch_sub(1, std::memory_order_relaxed);
    reactor->Finish(ToGrpcStatus(status));
  };
  if (calls > options_.max_calls_in_flight) {
    finish(WithRetryDelay(WithErrorInfo(absl::ResourceExhaustedError(absl::StrCat(
                                            "the service is at its limit of ", options_.max_calls_in_flight,
                                            " calls in flight; retry later")),
                                        kReasonOverloaded),
                          kOverloadedRetryDelay));
    return reactor;
  }
  absl::StatusOr<std::shared_ptr<const HaloConnection>> connection =
      ConnectionForCall(context->client_metadata(), options_.default_connection);
  if (!connection.ok()) {
    finish(connection.status());
    return reactor;
  }
  absl::StatusOr<std::string> idempotency_key = IdempotencyKeyForCall(context->client_metadata());
  if (!idempotency_key.ok()) {
    finish(idempotency_key.status());
    return reactor;
  }
  // gRPC reports "no deadline" as the far future; min() keeps it bounded.
  absl::Time deadline = std::min(absl::FromChrono(context->deadline()), start + options_.default_deadline);
  CallContext call{*std::move(connection), deadline, stats, *std::move(idempotency_key)};
  (actions_.*action)(call, request, [response, finish](absl::StatusOr<Response> result) {
    if (result.ok()) *response = *std::move(result);
    finish(result.status());
  });
  return reactor;
}

grpc::ServerUnaryReactor* HaloPsaGrpcService::CreateTicket(grpc::CallbackServerContext* context,
                                                           const v1::CreateTicketRequest* request,
                                                           v1::CreateTicketResponse* response) {
  return Serve(context, *request, response, "CreateTicket", &HaloPsaActions::CreateTicket);
}

grpc::ServerUnaryReactor* HaloPsaGrpcService::UpdateTicket(grpc::CallbackServerContext* context,
                                                           const v1::UpdateTicketRequest* request,
                                                           v1::UpdateTicketResponse* response) {
  return Serve(context, *request, response, "UpdateTicket", &HaloPsaActions::UpdateTicket);
}

grpc::ServerUnaryReactor* HaloPsaGrpcService::SearchTickets(grpc::CallbackServerContext* context,
                                                            const v1::SearchTicketsRequest* request,
                                                            v1::SearchTicketsResponse* response) {
  return Serve(context, *request, response, "SearchTickets", &HaloPsaActions::SearchTickets);
}

grpc::ServerUnaryReactor* HaloPsaGrpcService::AddAction(grpc::CallbackServerContext* context,
                                                        const v1::AddActionRequest* request,
                                                        v1::AddActionResponse* response) {
  return Serve(context, *request, response, "AddAction", &HaloPsaActions::AddAction);
}

grpc::ServerUnaryReactor* HaloPsaGrpcService::LinkAssetToTicket(grpc::CallbackServerContext* context,
                                                                const v1::LinkAssetToTicketRequest* request,
                                                                v1::LinkAssetToTicketResponse* response) {
  return Serve(context, *request, response, "LinkAssetToTicket", &HaloPsaActions::LinkAssetToTicket);
}

grpc::ServerUnaryReactor* HaloPsaGrpcService::LookupClientSite(grpc::CallbackServerContext* context,
                                                               const v1::LookupClientSiteRequest* request,
                                                               v1::LookupClientSiteResponse* response) {
  return Serve(context, *request, response, "LookupClientSite", &HaloPsaActions::LookupClientSite);
}

}  // namespace halopsa

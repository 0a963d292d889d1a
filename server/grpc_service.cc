#include "server/grpc_service.h"

#include <optional>
#include <utility>

#include "server/error_mapping.h"

namespace halopsa {

template <typename Request, typename Response>
grpc::ServerUnaryReactor* HaloPsaGrpcService::Serve(grpc::CallbackServerContext* context, const Request& request,
                                                    Response* response, absl::string_view method,
                                                    CallRunner::Action<Request, Response> action) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  const auto& metadata = context->client_metadata();
  const auto lookup = [&metadata](absl::string_view key) -> std::optional<absl::string_view> {
    auto it = metadata.find(grpc::string_ref(key.data(), key.size()));
    if (it == metadata.end()) return std::nullopt;
    return absl::string_view(it->second.data(), it->second.size());
  };
  // gRPC reports "no deadline" as the far future, which the runner bounds.
  runner_.Run<Request, Response>(method, lookup, absl::FromChrono(context->deadline()), request, action,
                                 [response, reactor](absl::StatusOr<Response> result) {
                                   if (result.ok()) *response = *std::move(result);
                                   reactor->Finish(ToGrpcStatus(result.status()));
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

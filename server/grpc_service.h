#ifndef HALOPSA_SERVER_GRPC_SERVICE_H_
#define HALOPSA_SERVER_GRPC_SERVICE_H_

#include <grpcpp/grpcpp.h>

#include "absl/strings/string_view.h"
#include "halopsa/v1/halopsa.grpc.pb.h"
#include "server/call_runner.h"

namespace halopsa {

// HaloPsaService over gRPC's callback API: each method hands the call to
// the CallRunner and returns at once; the reactor finishes when the
// action's upstream work does.
class HaloPsaGrpcService final : public v1::HaloPsaService::CallbackService {
 public:
  // `runner` must outlive the gRPC server.
  explicit HaloPsaGrpcService(CallRunner& runner) : runner_(runner) {}

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
  grpc::ServerUnaryReactor* Serve(grpc::CallbackServerContext* context, const Request& request,
                                  Response* response, absl::string_view method,
                                  CallRunner::Action<Request, Response> action);

  CallRunner& runner_;
};

}  // namespace halopsa

#endif  // HALOPSA_SERVER_GRPC_SERVICE_H_

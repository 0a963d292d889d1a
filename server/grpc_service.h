#ifndef HALOPSA_SERVER_GRPC_SERVICE_H_
#define HALOPSA_SERVER_GRPC_SERVICE_H_

#include <grpcpp/grpcpp.h>

#include <memory>

#include "absl/strings/string_view.h"
#include "halopsa/v1/halopsa.grpc.pb.h"
#include "server/call_runner.h"

namespace halopsa {

// Every method takes its request as bytes, so that its limits
// (kRequestJsonLimits) are checked before protobuf builds any object.
using RawHaloPsaService = v1::HaloPsaService::WithRawCallbackMethod_CreateTicket<
    v1::HaloPsaService::WithRawCallbackMethod_UpdateTicket<v1::HaloPsaService::WithRawCallbackMethod_SearchTickets<
        v1::HaloPsaService::WithRawCallbackMethod_AddAction<v1::HaloPsaService::WithRawCallbackMethod_LinkAssetToTicket<
            v1::HaloPsaService::WithRawCallbackMethod_LookupClientSite<
                v1::HaloPsaService::WithRawCallbackMethod_MirrorCase<
                    v1::HaloPsaService::WithRawCallbackMethod_PullTicketChanges<v1::HaloPsaService::Service>>>>>>>>;

// HaloPsaService over gRPC's callback API: each method checks and parses
// its request, hands the call to the CallRunner and returns at once; the
// reactor finishes when the action's upstream work does.
class HaloPsaGrpcService final : public RawHaloPsaService {
 public:
  // `runner` must outlive the gRPC server.
  explicit HaloPsaGrpcService(CallRunner& runner);
  ~HaloPsaGrpcService() override;

  using Context = grpc::CallbackServerContext;
  using Bytes = grpc::ByteBuffer;
  grpc::ServerUnaryReactor* CreateTicket(Context* context, const Bytes* request, Bytes* response) override;
  grpc::ServerUnaryReactor* UpdateTicket(Context* context, const Bytes* request, Bytes* response) override;
  grpc::ServerUnaryReactor* SearchTickets(Context* context, const Bytes* request, Bytes* response) override;
  grpc::ServerUnaryReactor* AddAction(Context* context, const Bytes* request, Bytes* response) override;
  grpc::ServerUnaryReactor* LinkAssetToTicket(Context* context, const Bytes* request, Bytes* response) override;
  grpc::ServerUnaryReactor* LookupClientSite(Context* context, const Bytes* request, Bytes* response) override;
  grpc::ServerUnaryReactor* MirrorCase(Context* context, const Bytes* request, Bytes* response) override;
  grpc::ServerUnaryReactor* PullTicketChanges(Context* context, const Bytes* request, Bytes* response) override;

  // Answers every call still running with `status` now (the end of a
  // drain's grace: a clean retriable answer instead of gRPC's cancellation);
  // their actions' own answers, when they come, are dropped.
  void AbandonAll(const absl::Status& status);

 private:
  class Unanswered;
  template <typename Request, typename Response>
  grpc::ServerUnaryReactor* Serve(Context* context, const Bytes& request_bytes, Bytes* response_bytes,
                                  absl::string_view method, CallRunner::Operation<Request, Response> operation);

  CallRunner& runner_;
  const std::shared_ptr<Unanswered> unanswered_;
};

}  // namespace halopsa

#endif  // HALOPSA_SERVER_GRPC_SERVICE_H_

#ifndef HALOPSA_TESTS_ADAPTERS_LIMACHARLIE_FAKE_HALOPSA_SERVICE_H_
#define HALOPSA_TESTS_ADAPTERS_LIMACHARLIE_FAKE_HALOPSA_SERVICE_H_

#include <grpcpp/grpcpp.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "halopsa/v1/halopsa.grpc.pb.h"

namespace halopsa::lc::testing {

// HaloPsaService for gateway tests: records every call with its x-halopsa-*
// metadata and answers through a handler. While held, calls stay open until
// Release(), so tests can line up concurrent callbacks without blocking
// gRPC threads.
class FakeHaloPsaService final : public v1::HaloPsaService::CallbackService {
 public:
  struct Call {
    std::string method;  // e.g. "CreateTicket"
    std::shared_ptr<const google::protobuf::Message> request;
    std::map<std::string, std::string> metadata;  // x-halopsa-* only
  };
  // Fills `response` and returns the call's status.
  using Handler = std::function<grpc::Status(const Call&, google::protobuf::Message* response)>;

  void SetHandler(Handler handler);
  void Hold();
  // Answers the held calls, and later ones at once.
  void Release();
  // True once `count` calls are being held (waits up to 10 s).
  bool WaitForHeld(size_t count);

  std::vector<Call> calls() const;

  grpc::ServerUnaryReactor* CreateTicket(grpc::CallbackServerContext* context, const v1::CreateTicketRequest* request,
                                         v1::CreateTicketResponse* response) override;
  grpc::ServerUnaryReactor* UpdateTicket(grpc::CallbackServerContext* context, const v1::UpdateTicketRequest* request,
                                         v1::UpdateTicketResponse* response) override;
  grpc::ServerUnaryReactor* SearchTickets(grpc::CallbackServerContext* context, const v1::SearchTicketsRequest* request,
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
  struct Held {
    grpc::ServerUnaryReactor* reactor;
    grpc::Status status;
  };

  grpc::ServerUnaryReactor* Serve(grpc::CallbackServerContext* context, const std::string& method,
                                  const google::protobuf::Message& request, google::protobuf::Message* response);

  mutable absl::Mutex mu_;
  Handler handler_ ABSL_GUARDED_BY(mu_);
  bool holding_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<Held> held_ ABSL_GUARDED_BY(mu_);
  std::vector<Call> calls_ ABSL_GUARDED_BY(mu_);
};

}  // namespace halopsa::lc::testing

#endif  // HALOPSA_TESTS_ADAPTERS_LIMACHARLIE_FAKE_HALOPSA_SERVICE_H_

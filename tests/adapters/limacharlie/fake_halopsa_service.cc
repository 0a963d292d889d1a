#include "tests/adapters/limacharlie/fake_halopsa_service.h"

#include "absl/strings/match.h"

namespace halopsa::lc::testing {

void FakeHaloPsaService::SetHandler(Handler handler) {
  absl::MutexLock lock(&mu_);
  handler_ = std::move(handler);
}

void FakeHaloPsaService::Hold() {
  absl::MutexLock lock(&mu_);
  holding_ = true;
}

void FakeHaloPsaService::Release() {
  std::vector<Held> held;
  {
    absl::MutexLock lock(&mu_);
    holding_ = false;
    held.swap(held_);
  }
  for (Held& call : held) call.reactor->Finish(call.status);
}

bool FakeHaloPsaService::WaitForHeld(size_t count) {
  absl::MutexLock lock(&mu_);
  auto enough = [this, count]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return held_.size() >= count; };
  return mu_.AwaitWithTimeout(absl::Condition(&enough), absl::Seconds(10));
}

std::vector<FakeHaloPsaService::Call> FakeHaloPsaService::calls() const {
  absl::MutexLock lock(&mu_);
  return calls_;
}

grpc::ServerUnaryReactor* FakeHaloPsaService::Serve(grpc::CallbackServerContext* context, const std::string& method,
                                                    const google::protobuf::Message& request,
                                                    google::protobuf::Message* response) {
  std::shared_ptr<google::protobuf::Message> copy(request.New());
  copy->CopyFrom(request);
  Call call{method, std::move(copy), {}};
  for (const auto& [key, value] : context->client_metadata()) {
    std::string name(key.data(), key.size());
    if (absl::StartsWith(name, "x-halopsa-")) call.metadata[name] = std::string(value.data(), value.size());
  }
  Handler handler;
  {
    absl::MutexLock lock(&mu_);
    calls_.push_back(call);
    handler = handler_;
  }
  grpc::Status status = handler ? handler(call, response) : grpc::Status::OK;
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  {
    absl::MutexLock lock(&mu_);
    if (holding_) {
      held_.push_back({reactor, status});
      return reactor;
    }
  }
  reactor->Finish(status);
  return reactor;
}

grpc::ServerUnaryReactor* FakeHaloPsaService::CreateTicket(grpc::CallbackServerContext* context,
                                                           const v1::CreateTicketRequest* request,
                                                           v1::CreateTicketResponse* response) {
  return Serve(context, "CreateTicket", *request, response);
}

grpc::ServerUnaryReactor* FakeHaloPsaService::UpdateTicket(grpc::CallbackServerContext* context,
                                                           const v1::UpdateTicketRequest* request,
                                                           v1::UpdateTicketResponse* response) {
  return Serve(context, "UpdateTicket", *request, response);
}

grpc::ServerUnaryReactor* FakeHaloPsaService::SearchTickets(grpc::CallbackServerContext* context,
                                                            const v1::SearchTicketsRequest* request,
                                                            v1::SearchTicketsResponse* response) {
  return Serve(context, "SearchTickets", *request, response);
}

grpc::ServerUnaryReactor* FakeHaloPsaService::AddAction(grpc::CallbackServerContext* context,
                                                        const v1::AddActionRequest* request,
                                                        v1::AddActionResponse* response) {
  return Serve(context, "AddAction", *request, response);
}

grpc::ServerUnaryReactor* FakeHaloPsaService::LinkAssetToTicket(grpc::CallbackServerContext* context,
                                                                const v1::LinkAssetToTicketRequest* request,
                                                                v1::LinkAssetToTicketResponse* response) {
  return Serve(context, "LinkAssetToTicket", *request, response);
}

grpc::ServerUnaryReactor* FakeHaloPsaService::LookupClientSite(grpc::CallbackServerContext* context,
                                                               const v1::LookupClientSiteRequest* request,
                                                               v1::LookupClientSiteResponse* response) {
  return Serve(context, "LookupClientSite", *request, response);
}

}  // namespace halopsa::lc::testing

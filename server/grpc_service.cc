#include "server/grpc_service.h"

#include <grpcpp/support/proto_buffer_writer.h>

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "server/error_mapping.h"
#include "server/request_limits.h"

namespace halopsa {
namespace {

// The request's bytes in one piece (at most the server's receive limit).
std::string Flatten(const grpc::ByteBuffer& bytes) {
  std::vector<grpc::Slice> slices;
  std::string flat;
  if (!bytes.Dump(&slices).ok()) return flat;
  flat.reserve(bytes.Length());
  for (const grpc::Slice& slice : slices) flat.append(reinterpret_cast<const char*>(slice.begin()), slice.size());
  return flat;
}

// `request` from `bytes`, once they are within kRequestJsonLimits.
absl::Status Decode(const grpc::ByteBuffer& bytes, google::protobuf::Message& request) {
  const std::string wire = Flatten(bytes);
  if (absl::Status within = CheckSerializedRequest(wire, *request.GetDescriptor()); !within.ok()) return within;
  if (!request.ParseFromString(wire)) return absl::InvalidArgumentError("request is not a valid protobuf message");
  return absl::OkStatus();
}

}  // namespace

// The reactors of the calls not answered yet, by call number: each is taken
// out exactly once, by its operation's answer or by AbandonAll.
class HaloPsaGrpcService::Unanswered {
 public:
  uint64_t Add(grpc::ServerUnaryReactor* reactor) {
    absl::MutexLock lock(&mu_);
    reactors_.emplace(next_id_, reactor);
    return next_id_++;
  }

  grpc::ServerUnaryReactor* Take(uint64_t id) {
    absl::MutexLock lock(&mu_);
    auto it = reactors_.find(id);
    if (it == reactors_.end()) return nullptr;
    grpc::ServerUnaryReactor* reactor = it->second;
    reactors_.erase(it);
    return reactor;
  }

  std::vector<grpc::ServerUnaryReactor*> TakeAll() {
    absl::MutexLock lock(&mu_);
    std::vector<grpc::ServerUnaryReactor*> all;
    for (const auto& [id, reactor] : reactors_) all.push_back(reactor);
    reactors_.clear();
    return all;
  }

 private:
  absl::Mutex mu_;
  uint64_t next_id_ ABSL_GUARDED_BY(mu_) = 0;
  absl::flat_hash_map<uint64_t, grpc::ServerUnaryReactor*> reactors_ ABSL_GUARDED_BY(mu_);
};

HaloPsaGrpcService::HaloPsaGrpcService(CallRunner& runner)
    : runner_(runner), unanswered_(std::make_shared<Unanswered>()) {}

HaloPsaGrpcService::~HaloPsaGrpcService() = default;

void HaloPsaGrpcService::AbandonAll(const absl::Status& status) {
  for (grpc::ServerUnaryReactor* reactor : unanswered_->TakeAll()) reactor->Finish(ToGrpcStatus(status));
}

template <typename Request, typename Response>
grpc::ServerUnaryReactor* HaloPsaGrpcService::Serve(Context* context, const Bytes& request_bytes,
                                                    Bytes* response_bytes, absl::string_view method,
                                                    CallRunner::Operation<Request, Response> operation) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  const auto& metadata = context->client_metadata();
  const auto lookup = [&metadata](absl::string_view key) -> std::optional<absl::string_view> {
    auto it = metadata.find(grpc::string_ref(key.data(), key.size()));
    if (it == metadata.end()) return std::nullopt;
    return absl::string_view(it->second.data(), it->second.size());
  };
  auto request = std::make_shared<Request>();
  if (absl::Status decoded = Decode(request_bytes, *request); !decoded.ok()) {
    runner_.Refuse(method, lookup, decoded);
    reactor->Finish(ToGrpcStatus(decoded));
    return reactor;
  }
  const uint64_t id = unanswered_->Add(reactor);
  // gRPC reports "no deadline" as the far future, which the runner bounds.
  // The callback holds the request: the operation reads it until it ends, even
  // after AbandonAll answered the call.
  runner_.Run<Request, Response>(
      method, lookup, absl::FromChrono(context->deadline()), *request, operation,
      [request, response_bytes, unanswered = unanswered_, id](absl::StatusOr<Response> result) {
        grpc::ServerUnaryReactor* reactor = unanswered->Take(id);
        if (reactor == nullptr) return;  // abandoned: the call has its answer, response_bytes may be gone
        if (!result.ok()) return reactor->Finish(ToGrpcStatus(result.status()));
        bool own_buffer = false;
        reactor->Finish(grpc::GenericSerialize<grpc::ProtoBufferWriter, Response>(*result, response_bytes, &own_buffer));
      });
  return reactor;
}

grpc::ServerUnaryReactor* HaloPsaGrpcService::CreateTicket(Context* context, const Bytes* request, Bytes* response) {
  return Serve<v1::CreateTicketRequest, v1::CreateTicketResponse>(context, *request, response, "CreateTicket",
                                                                   &HaloPsaOperations::CreateTicket);
}

grpc::ServerUnaryReactor* HaloPsaGrpcService::UpdateTicket(Context* context, const Bytes* request, Bytes* response) {
  return Serve<v1::UpdateTicketRequest, v1::UpdateTicketResponse>(context, *request, response, "UpdateTicket",
                                                                   &HaloPsaOperations::UpdateTicket);
}

grpc::ServerUnaryReactor* HaloPsaGrpcService::SearchTickets(Context* context, const Bytes* request, Bytes* response) {
  return Serve<v1::SearchTicketsRequest, v1::SearchTicketsResponse>(context, *request, response, "SearchTickets",
                                                                     &HaloPsaOperations::SearchTickets);
}

grpc::ServerUnaryReactor* HaloPsaGrpcService::AddAction(Context* context, const Bytes* request, Bytes* response) {
  return Serve<v1::AddActionRequest, v1::AddActionResponse>(context, *request, response, "AddAction",
                                                             &HaloPsaOperations::AddAction);
}

grpc::ServerUnaryReactor* HaloPsaGrpcService::LinkAssetToTicket(Context* context, const Bytes* request,
                                                                Bytes* response) {
  return Serve<v1::LinkAssetToTicketRequest, v1::LinkAssetToTicketResponse>(
      context, *request, response, "LinkAssetToTicket", &HaloPsaOperations::LinkAssetToTicket);
}

grpc::ServerUnaryReactor* HaloPsaGrpcService::LookupClientSite(Context* context, const Bytes* request,
                                                               Bytes* response) {
  return Serve<v1::LookupClientSiteRequest, v1::LookupClientSiteResponse>(
      context, *request, response, "LookupClientSite", &HaloPsaOperations::LookupClientSite);
}

grpc::ServerUnaryReactor* HaloPsaGrpcService::MirrorCase(Context* context, const Bytes* request, Bytes* response) {
  return Serve<v1::MirrorCaseRequest, v1::MirrorCaseResponse>(context, *request, response, "MirrorCase",
                                                               &HaloPsaOperations::MirrorCase);
}

grpc::ServerUnaryReactor* HaloPsaGrpcService::PullTicketChanges(Context* context, const Bytes* request,
                                                                Bytes* response) {
  return Serve<v1::PullTicketChangesRequest, v1::PullTicketChangesResponse>(
      context, *request, response, "PullTicketChanges", &HaloPsaOperations::PullTicketChanges);
}

}  // namespace halopsa

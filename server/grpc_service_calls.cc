#include "server/grpc_service_calls.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/impl/codegen/proto_utils.h>  // SerializationTraits for protobuf::Message

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "server/error_mapping.h"

namespace halopsa {
namespace {

std::unique_ptr<google::protobuf::Message> NewMessage(const google::protobuf::Descriptor* type) {
  return std::unique_ptr<google::protobuf::Message>(
      google::protobuf::MessageFactory::generated_factory()->GetPrototype(type)->New());
}

// The service's own errors carry an ErrorInfo and say what happened; the
// rest come from gRPC itself ("Deadline Exceeded") and get the call named.
absl::Status Described(const google::protobuf::MethodDescriptor& method, absl::Status status) {
  if (GetErrorInfo(status).has_value()) return status;
  return absl::Status(status.code(), absl::StrCat("HaloPsaService.", method.name(), ": ", status.message()));
}

}  // namespace

// Shared with the callbacks of calls in flight, so it outlives the
// GrpcServiceCalls until the last of them has run.
class GrpcServiceCalls::Impl : public std::enable_shared_from_this<Impl> {
 public:
  explicit Impl(std::shared_ptr<grpc::Channel> channel) : stub_(std::move(channel)) {}

  void Call(const google::protobuf::MethodDescriptor& method, std::shared_ptr<const google::protobuf::Message> request,
            const Metadata& metadata, absl::Time deadline, Callback done) {
    auto call = std::make_shared<PendingCall>();
    call->request = std::move(request);
    call->response = NewMessage(method.output_type());
    call->done = std::move(done);
    call->context.set_deadline(absl::ToChronoTime(deadline));
    for (const auto& [key, value] : metadata) call->context.AddMetadata(key, value);
    {
      absl::MutexLock lock(&mu_);
      pending_.emplace(call.get(), call);
    }
    stub_.UnaryCall(&call->context, absl::StrCat("/", method.service()->full_name(), "/", method.name()),
                    grpc::StubOptions(), call->request.get(), call->response.get(),
                    [self = shared_from_this(), call, &method](grpc::Status status) {
                      {
                        absl::MutexLock lock(&self->mu_);
                        self->pending_.erase(call.get());
                      }
                      if (status.ok()) {
                        call->done(std::move(call->response));
                      } else {
                        call->done(Described(method, FromGrpcStatus(status)));
                      }
                    });
  }

  void CancelAll() {
    std::vector<std::shared_ptr<PendingCall>> calls;
    {
      absl::MutexLock lock(&mu_);
      for (const auto& [raw, weak] : pending_) {
        if (auto call = weak.lock()) calls.push_back(std::move(call));
      }
    }
    // Outside the lock: a cancelled call's callback may run at once.
    for (const auto& call : calls) call->context.TryCancel();
  }

 private:
  struct PendingCall {
    grpc::ClientContext context;
    std::shared_ptr<const google::protobuf::Message> request;
    std::unique_ptr<google::protobuf::Message> response;
    Callback done;
  };

  grpc::TemplatedGenericStub<google::protobuf::Message, google::protobuf::Message> stub_;
  absl::Mutex mu_;
  absl::flat_hash_map<PendingCall*, std::weak_ptr<PendingCall>> pending_ ABSL_GUARDED_BY(mu_);
};

GrpcServiceCalls::GrpcServiceCalls(std::shared_ptr<grpc::Channel> channel)
    : impl_(std::make_shared<Impl>(std::move(channel))) {}

GrpcServiceCalls::~GrpcServiceCalls() { impl_->CancelAll(); }

void GrpcServiceCalls::Call(const google::protobuf::MethodDescriptor& method,
                         std::shared_ptr<const google::protobuf::Message> request, const Metadata& metadata,
                         absl::Time deadline, Callback done) {
  impl_->Call(method, std::move(request), metadata, deadline, std::move(done));
}

void GrpcServiceCalls::CancelAll() { impl_->CancelAll(); }

}  // namespace halopsa

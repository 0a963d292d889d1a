#include "server/in_process_service_calls.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "halopsa/v1/halopsa.pb.h"

namespace halopsa {
namespace {

using google::protobuf::Message;
using google::protobuf::MethodDescriptor;

using Dispatcher = void (*)(CallRunner&, const MethodDescriptor&, MetadataLookup, absl::Time,
                            std::shared_ptr<const Message>, ServiceCalls::Callback);

template <typename Request, typename Response, CallRunner::Operation<Request, Response> kOperation>
void Dispatch(CallRunner& runner, const MethodDescriptor& method, MetadataLookup metadata, absl::Time deadline,
              std::shared_ptr<const Message> request, ServiceCalls::Callback done) {
  const Request* typed = google::protobuf::DynamicCastToGenerated<Request>(request.get());
  if (typed == nullptr) {
    return done(absl::InvalidArgumentError(absl::StrCat(method.full_name(), " takes ", Request::descriptor()->full_name(),
                                                        ", not ", request->GetDescriptor()->full_name())));
  }
  runner.Run<Request, Response>(
      method.name(), metadata, deadline, *typed, kOperation,
      // Holds the request: the operation reads it until it ends.
      [request = std::move(request), done = std::move(done)](absl::StatusOr<Response> result) mutable {
        if (!result.ok()) return done(result.status());
        done(std::make_unique<Response>(*std::move(result)));
      });
}

const absl::flat_hash_map<const MethodDescriptor*, Dispatcher>& Dispatchers() {
  static const auto* const dispatchers = [] {
    const google::protobuf::ServiceDescriptor* service =
        v1::CreateTicketRequest::descriptor()->file()->FindServiceByName("HaloPsaService");
    return new absl::flat_hash_map<const MethodDescriptor*, Dispatcher>{
        {service->FindMethodByName("CreateTicket"),
         &Dispatch<v1::CreateTicketRequest, v1::CreateTicketResponse, &HaloPsaOperations::CreateTicket>},
        {service->FindMethodByName("UpdateTicket"),
         &Dispatch<v1::UpdateTicketRequest, v1::UpdateTicketResponse, &HaloPsaOperations::UpdateTicket>},
        {service->FindMethodByName("SearchTickets"),
         &Dispatch<v1::SearchTicketsRequest, v1::SearchTicketsResponse, &HaloPsaOperations::SearchTickets>},
        {service->FindMethodByName("AddAction"),
         &Dispatch<v1::AddActionRequest, v1::AddActionResponse, &HaloPsaOperations::AddAction>},
        {service->FindMethodByName("LinkAssetToTicket"),
         &Dispatch<v1::LinkAssetToTicketRequest, v1::LinkAssetToTicketResponse, &HaloPsaOperations::LinkAssetToTicket>},
        {service->FindMethodByName("LookupClientSite"),
         &Dispatch<v1::LookupClientSiteRequest, v1::LookupClientSiteResponse, &HaloPsaOperations::LookupClientSite>},
        {service->FindMethodByName("MirrorCase"),
         &Dispatch<v1::MirrorCaseRequest, v1::MirrorCaseResponse, &HaloPsaOperations::MirrorCase>},
        {service->FindMethodByName("PullTicketChanges"),
         &Dispatch<v1::PullTicketChangesRequest, v1::PullTicketChangesResponse,
                   &HaloPsaOperations::PullTicketChanges>},
    };
  }();
  return *dispatchers;
}

}  // namespace

// The callbacks of the calls in flight, by call number: a call's callback
// is taken out exactly once, by its end or by CancelAll.
class InProcessServiceCalls::PendingCalls {
 public:
  uint64_t Add(Callback done) {
    absl::MutexLock lock(&mu_);
    const uint64_t id = next_id_++;
    callbacks_.emplace(id, std::move(done));
    return id;
  }

  std::optional<Callback> Take(uint64_t id) {
    absl::MutexLock lock(&mu_);
    auto it = callbacks_.find(id);
    if (it == callbacks_.end()) return std::nullopt;
    Callback done = std::move(it->second);
    callbacks_.erase(it);
    return done;
  }

  std::vector<Callback> TakeAll() {
    absl::MutexLock lock(&mu_);
    std::vector<Callback> all;
    all.reserve(callbacks_.size());
    for (auto& [id, done] : callbacks_) all.push_back(std::move(done));
    callbacks_.clear();
    return all;
  }

 private:
  absl::Mutex mu_;
  uint64_t next_id_ ABSL_GUARDED_BY(mu_) = 0;
  absl::flat_hash_map<uint64_t, Callback> callbacks_ ABSL_GUARDED_BY(mu_);
};

InProcessServiceCalls::InProcessServiceCalls(CallRunner& runner)
    : runner_(runner), pending_(std::make_shared<PendingCalls>()) {}

InProcessServiceCalls::~InProcessServiceCalls() { CancelAll(); }

void InProcessServiceCalls::Call(const MethodDescriptor& method, std::shared_ptr<const Message> request,
                                 const Metadata& metadata, absl::Time deadline, Callback done) {
  auto dispatcher = Dispatchers().find(&method);
  if (dispatcher == Dispatchers().end()) {
    return done(absl::InvalidArgumentError(absl::StrCat(method.full_name(), " is not a HaloPsaService method")));
  }
  const auto lookup = [&metadata](absl::string_view key) -> std::optional<absl::string_view> {
    for (const auto& [name, value] : metadata) {
      if (name == key) return value;
    }
    return std::nullopt;
  };
  const uint64_t id = pending_->Add(std::move(done));
  dispatcher->second(runner_, method, lookup, deadline, std::move(request),
                     [pending = pending_, id](absl::StatusOr<std::unique_ptr<Message>> response) {
                       if (std::optional<Callback> done = pending->Take(id)) (*done)(std::move(response));
                     });
}

void InProcessServiceCalls::CancelAll() {
  // Outside the lock: a callback may start another call.
  for (Callback& done : pending_->TakeAll()) done(absl::CancelledError("the call was cancelled"));
}

}  // namespace halopsa

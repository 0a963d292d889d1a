#include "adapters/limacharlie/stoppable_service_calls.h"

#include <google/protobuf/message.h>

#include <utility>

namespace halopsa::lc {

void StoppableServiceCalls::Call(const google::protobuf::MethodDescriptor& method,
                                 std::shared_ptr<const google::protobuf::Message> request, const Metadata& metadata,
                                 absl::Time deadline, Callback done) {
  if (stopped_) return done(absl::CancelledError(stopped_message_));
  service_->Call(method, std::move(request), metadata, deadline,
                 [this, done = std::move(done)](absl::StatusOr<std::unique_ptr<google::protobuf::Message>> response) mutable {
                   if (!response.ok() && response.status().code() == absl::StatusCode::kCancelled && stopped_) {
                     return done(absl::CancelledError(stopped_message_));
                   }
                   done(std::move(response));
                 });
}

void StoppableServiceCalls::CancelAll() {
  stopped_ = true;
  service_->CancelAll();
}

}  // namespace halopsa::lc

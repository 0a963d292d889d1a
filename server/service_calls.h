#ifndef HALOPSA_SERVER_SERVICE_CALLS_H_
#define HALOPSA_SERVER_SERVICE_CALLS_H_

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace google::protobuf {
class Message;
class MethodDescriptor;
}  // namespace google::protobuf

namespace halopsa {

// HaloPsaService's methods called by descriptor, so that one code path
// serves every action: over gRPC to a remote service, or straight into
// this process's CallRunner. The LimaCharlie gateway calls through it.
class ServiceCalls {
 public:
  using Metadata = std::vector<std::pair<std::string, std::string>>;
  using Callback = absl::AnyInvocable<void(absl::StatusOr<std::unique_ptr<google::protobuf::Message>>)>;

  virtual ~ServiceCalls() = default;

  // Calls `method` with `request` (of its input type) and `metadata`,
  // bounded by `deadline`. `done` runs exactly once, on some other thread
  // or before Call returns, with the response (of the method's output
  // type) or the call's status, ErrorInfo kept.
  virtual void Call(const google::protobuf::MethodDescriptor& method,
                    std::shared_ptr<const google::protobuf::Message> request, const Metadata& metadata,
                    absl::Time deadline, Callback done) = 0;

  // Answers the calls in flight at once with CANCELLED (their upstream
  // work may still finish; its result is dropped).
  virtual void CancelAll() = 0;
};

}  // namespace halopsa

#endif  // HALOPSA_SERVER_SERVICE_CALLS_H_

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
//
// From a webhook envelope to CallRunner, file by file:
//   1. adapters/net/http_server.cc: one HTTPS POST per LimaCharlie callback.
//   2. adapters/limacharlie/gateway.cc: has the callback verified and its
//      envelope read (callback_opener.cc), dispatches it by kind, answers
//      repeats from the reply cache, and turns the action's data into the
//      method's request (request_translation.cc).
//   3. adapters/limacharlie/org_service_calls.cc: the org's config as
//      metadata (credential_resolver.cc reads hive secrets), and one more
//      try when HaloPSA refuses a hive secret that may have been rotated.
//   4. ServiceCalls::Call, one of:
//      server/in_process_service_calls.cc (the default): the request as it is;
//      server/grpc_service_calls.cc: over gRPC to server/grpc_service.cc.
//   5. server/call_runner.cc: admission, connection, deadline, log line and
//      metrics around the operation (server/halopsa_operations.cc).
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

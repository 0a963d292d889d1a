#ifndef HALOPSA_TESTS_TESTING_HEALTH_PROBE_H_
#define HALOPSA_TESTS_TESTING_HEALTH_PROBE_H_

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "tests/testing/callback_result.h"

namespace halopsa::testing {

// grpc.health.v1.Health/Check for the whole server. Its messages are not in
// the project's protos, so the bytes are written by hand: the request is
// empty, and SERVING is field 1 = 1, bytes 0x08 0x01.
inline bool IsServing(const std::shared_ptr<grpc::Channel>& channel) {
  grpc::GenericStub stub(channel);
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(5)));
  grpc::Slice no_bytes;  // an empty message still needs one slice
  grpc::ByteBuffer request(&no_bytes, 1);
  grpc::ByteBuffer response;
  CallbackResult<absl::Status> answer("the health check's answer");
  stub.UnaryCall(&context, "/grpc.health.v1.Health/Check", grpc::StubOptions(), &request, &response,
                 [done = answer.Callback()](const grpc::Status& status) {
                   done(status.ok() ? absl::OkStatus() : absl::UnknownError(status.error_message()));
                 });
  std::vector<grpc::Slice> slices;
  if (!answer.Await(absl::Seconds(10)).ok() || !response.Dump(&slices).ok()) return false;
  std::string bytes;
  for (const auto& slice : slices) bytes.append(reinterpret_cast<const char*>(slice.begin()), slice.size());
  return bytes == std::string("\x08\x01", 2);
}

}  // namespace halopsa::testing

#endif  // HALOPSA_TESTS_TESTING_HEALTH_PROBE_H_

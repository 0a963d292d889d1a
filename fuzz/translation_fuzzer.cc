// An action's envelope `data` into its HaloPsaService request, and the
// service's response back into the envelope's `data`.
// Input: one byte choosing the action (modulo their count), the `data` JSON,
// then optionally a NUL byte and the response message in protobuf's JSON.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>
#include <google/protobuf/util/json_util.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "adapters/limacharlie/actions.h"
#include "adapters/limacharlie/request_translation.h"
#include "fuzz/fuzz_check.h"
#include "server/json_values.h"

namespace halopsa::lc {
namespace {

using google::protobuf::Message;

void Run(absl::string_view input) {
  if (input.empty()) return;
  const absl::Span<const ActionSpec> actions = Actions();
  const ActionSpec& action = actions[static_cast<uint8_t>(input[0]) % actions.size()];
  input.remove_prefix(1);
  const size_t split = input.find('\0');

  absl::StatusOr<std::unique_ptr<Message>> request = RequestFromData(action, input.substr(0, split));
  if (!request.ok()) {
    FUZZ_CHECK(request.status().code() == absl::StatusCode::kInvalidArgument);
    return;
  }
  FUZZ_CHECK(*request != nullptr && (*request)->GetDescriptor() == MethodOf(action).input_type());
  if (split == absl::string_view::npos) return;

  const google::protobuf::Descriptor& response_type = *MethodOf(action).output_type();
  std::unique_ptr<Message> response(
      google::protobuf::MessageFactory::generated_factory()->GetPrototype(&response_type)->New());
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;
  if (!google::protobuf::util::JsonStringToMessage(std::string(input.substr(split + 1)), response.get(), options)
           .ok()) {
    return;
  }
  absl::StatusOr<std::string> result = ResultData(action, **request, *response);
  FUZZ_CHECK(result.ok());
  absl::StatusOr<google::protobuf::Value> parsed = ParseJson(*result);
  FUZZ_CHECK(parsed.ok() && parsed->has_struct_value());
}

}  // namespace
}  // namespace halopsa::lc

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  halopsa::lc::Run(absl::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}

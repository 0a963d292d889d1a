// The gateway's request path on raw callback bytes, piece by piece (the
// Gateway itself needs a gRPC channel): gunzip with a bound, the signature
// check, envelope parsing, and the answers built from what was parsed.
// Input: one byte of flags (bit 0: the body is gzip), then the body.

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/string_view.h"
#include "adapters/limacharlie/envelope.h"
#include "adapters/limacharlie/gzip.h"
#include "adapters/limacharlie/signature.h"
#include "fuzz/fuzz_check.h"
#include "server/json_values.h"

namespace halopsa::lc {
namespace {

// A quarter of the gateway's default: the same bound logic, but a fuzzed
// zip bomb costs less time per input.
constexpr size_t kMaxDecodedBytes = 1 << 20;
constexpr absl::string_view kSecret = "fuzz-secret";

// Every answer the gateway sends is a JSON object, whatever it was sent.
void CheckAnswer(const net::ServerResponse& response) {
  absl::StatusOr<google::protobuf::Value> body = ParseJson(response.body);
  FUZZ_CHECK(body.ok() && body->has_struct_value());
}

void CheckSignature(absl::string_view body) {
  const std::string signature = Sign(kSecret, body);
  FUZZ_CHECK(VerifySignature(kSecret, body, signature));
  FUZZ_CHECK(!VerifySignature(kSecret, body, absl::string_view(signature).substr(1)));
  FUZZ_CHECK(!VerifySignature("other-secret", body, signature));
  const std::string upper = absl::AsciiStrToUpper(signature);
  if (upper != signature) FUZZ_CHECK(!VerifySignature(kSecret, body, upper));
}

void Run(absl::string_view input) {
  if (input.empty()) return;
  const bool gzipped = (input[0] & 1) != 0;
  const absl::string_view raw = input.substr(1);

  std::string body(raw);
  if (gzipped) {
    absl::StatusOr<std::string> inflated = Gunzip(raw, kMaxDecodedBytes);
    if (!inflated.ok()) {
      FUZZ_CHECK(inflated.status().code() == absl::StatusCode::kInvalidArgument ||
                 inflated.status().code() == absl::StatusCode::kResourceExhausted);
      CheckAnswer(ErrorResponse(inflated.status()));
      return;
    }
    FUZZ_CHECK(inflated->size() <= kMaxDecodedBytes);
    body = *std::move(inflated);
  } else {
    absl::StatusOr<std::string> round_trip = Gunzip(Gzip(raw), kMaxDecodedBytes);
    FUZZ_CHECK(round_trip.ok() && *round_trip == raw);
  }

  CheckSignature(body);

  absl::StatusOr<RequestEnvelope> envelope = ParseRequestEnvelope(body);
  if (!envelope.ok()) {
    FUZZ_CHECK(envelope.status().code() == absl::StatusCode::kInvalidArgument);
    CheckAnswer(ErrorResponse(envelope.status()));
    return;
  }
  absl::StatusOr<google::protobuf::Value> data = ParseJson(envelope->data_json);
  FUZZ_CHECK(data.ok() && data->has_struct_value());
  CheckAnswer(SuccessResponse(envelope->data_json));
}

}  // namespace
}  // namespace halopsa::lc

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  halopsa::lc::Run(absl::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}

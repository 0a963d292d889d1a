#include "adapters/limacharlie/callback_opener.h"

#include <string_view>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "adapters/limacharlie/gzip.h"
#include "adapters/limacharlie/signature.h"

namespace halopsa::lc {
namespace {

absl::string_view HeaderOf(const net::ServerRequest& request, absl::string_view name) {
  std::string_view value = request.Header(std::string_view(name.data(), name.size()));
  return absl::string_view(value.data(), value.size());
}

net::ServerResponse EmptyResponse() {
  net::ServerResponse response;
  response.content_type.clear();
  return response;
}

}  // namespace

std::variant<RequestEnvelope, net::ServerResponse> CallbackOpener::Open(const net::ServerRequest& request) {
  if (request.body.size() > max_body_bytes_) {
    return ErrorResponse(413, absl::StrCat("request body exceeds ", max_body_bytes_, " bytes"));
  }
  const absl::string_view signature = HeaderOf(request, kSignatureHeader);
  if (signature.empty()) return EmptyResponse();  // what LimaCharlie's SDK answers
  if (!signature_failures_.Allows(request.remote_address)) {
    net::ServerResponse refused =
        ErrorResponse(429, "too many requests with an invalid lc-ext-sig from this address; retry later");
    refused.headers.emplace_back("Retry-After", "1");
    return refused;
  }
  std::variant<std::string, net::ServerResponse> decoded = Decode(request);
  if (auto* refusal = std::get_if<net::ServerResponse>(&decoded)) {
    signature_failures_.RecordFailure(request.remote_address);
    return std::move(*refusal);
  }
  const std::string& body = std::get<std::string>(decoded);
  if (signing_secret_.empty() || !VerifySignature(signing_secret_, body, signature)) {
    signature_failures_.RecordFailure(request.remote_address);
    return ErrorResponse(401, "invalid lc-ext-sig signature");
  }
  absl::StatusOr<RequestEnvelope> envelope = ParseRequestEnvelope(body);
  if (!envelope.ok()) return ErrorResponse(envelope.status());
  return *std::move(envelope);
}

// Inflates at most max_decoded_body_bytes_.
std::variant<std::string, net::ServerResponse> CallbackOpener::Decode(const net::ServerRequest& request) const {
  const std::string encoding = absl::AsciiStrToLower(absl::StripAsciiWhitespace(HeaderOf(request, "Content-Encoding")));
  if (encoding.empty() || encoding == "identity") return request.body;
  if (encoding != "gzip" && encoding != "x-gzip") {
    return ErrorResponse(absl::InvalidArgumentError(absl::StrCat("unsupported Content-Encoding '", encoding, "'")));
  }
  absl::StatusOr<std::string> inflated = Gunzip(request.body, max_decoded_body_bytes_);
  if (inflated.status().code() == absl::StatusCode::kResourceExhausted) {
    return ErrorResponse(413, inflated.status().message());
  }
  if (!inflated.ok()) {
    return ErrorResponse(
        absl::InvalidArgumentError(absl::StrCat("request body is not valid gzip: ", inflated.status().message())));
  }
  return *std::move(inflated);
}

}  // namespace halopsa::lc

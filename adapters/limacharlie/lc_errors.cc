#include "adapters/limacharlie/lc_errors.h"

#include <rapidjson/document.h>

#include <array>
#include <string>

#include "adapters/limacharlie/json_util.h"
#include "server/error_mapping.h"

namespace halopsa::lc {
namespace {

struct EnvelopeRow {
  absl::StatusCode code;
  EnvelopeOutcome outcome;
};

constexpr EnvelopeOutcome kPermanent = {400, false};
constexpr EnvelopeOutcome kTransient = {500, true};

// What a retry cannot fix is permanent; the rest (and anything unlisted) is
// transient, so LimaCharlie retries it.
constexpr std::array<EnvelopeRow, 9> kEnvelopeTable = {{
    {absl::StatusCode::kOk, {200, false}},
    {absl::StatusCode::kInvalidArgument, kPermanent},
    {absl::StatusCode::kNotFound, kPermanent},
    {absl::StatusCode::kAlreadyExists, kPermanent},
    {absl::StatusCode::kPermissionDenied, kPermanent},
    {absl::StatusCode::kUnauthenticated, kPermanent},
    {absl::StatusCode::kFailedPrecondition, kPermanent},
    {absl::StatusCode::kOutOfRange, kPermanent},
    {absl::StatusCode::kUnimplemented, kPermanent},
}};

// LimaCharlie's API answers errors as {"error": "<text>"}; any other body is
// taken as text.
std::string ErrorText(absl::string_view body) {
  JsonDocument parsed;
  rapidjson::Document& document = parsed.get();
  if (ParseJson(body, document).ok() && document.IsObject()) {
    auto error = document.FindMember("error");
    if (error != document.MemberEnd() && error->value.IsString()) return UpstreamErrorText(View(error->value));
  }
  return UpstreamErrorText(body);
}

}  // namespace

EnvelopeOutcome ToEnvelopeOutcome(absl::StatusCode code) {
  for (const EnvelopeRow& row : kEnvelopeTable) {
    if (row.code == code) return row.outcome;
  }
  return kTransient;
}

absl::Status FromLimaCharlieHttpStatus(int http_status, absl::string_view endpoint, absl::string_view body) {
  return UpstreamHttpError("LimaCharlie", kReasonLimaCharlieApi, http_status, endpoint, ErrorText(body));
}

}  // namespace halopsa::lc

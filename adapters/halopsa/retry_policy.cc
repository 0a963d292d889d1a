#include "adapters/halopsa/retry_policy.h"

#include <algorithm>
#include <array>

#include "absl/random/random.h"
#include "server/error_mapping.h"

namespace halopsa {
namespace {

struct HttpRule {
  int http_status;
  AttemptFailure repeatable;
  AttemptFailure create;
};

// Only statuses that may succeed later are listed; the rest are final.
constexpr std::array<HttpRule, 5> kHttpRules = {{
    {429, AttemptFailure::kRateLimited, AttemptFailure::kRateLimited},
    {503, AttemptFailure::kRateLimited, AttemptFailure::kRateLimited},
    {500, AttemptFailure::kTransient, AttemptFailure::kOutcomeUnknown},
    {502, AttemptFailure::kTransient, AttemptFailure::kOutcomeUnknown},
    {504, AttemptFailure::kTransient, AttemptFailure::kOutcomeUnknown},
}};

// Transport failures that a later attempt may not meet; refused addresses,
// TLS failures, bad URLs, a full queue and shutdown are final.
bool IsTransientTransportFailure(absl::StatusCode code) {
  return code == absl::StatusCode::kUnavailable || code == absl::StatusCode::kDeadlineExceeded;
}

}  // namespace

AttemptFailure ClassifyAttempt(const absl::StatusOr<net::HttpResponse>& result, bool repeatable) {
  if (result.ok()) {
    for (const HttpRule& rule : kHttpRules) {
      if (rule.http_status == result->status) return repeatable ? rule.repeatable : rule.create;
    }
    return AttemptFailure::kFinal;
  }
  if (!IsTransientTransportFailure(result.status().code())) return AttemptFailure::kFinal;
  if (repeatable || net::WasNotSent(result.status())) return AttemptFailure::kTransient;
  return AttemptFailure::kOutcomeUnknown;
}

AttemptFailure ClassifyTokenFailure(const absl::Status& failure) {
  if (!IsTransientTransportFailure(failure.code())) return AttemptFailure::kFinal;
  const std::optional<google::rpc::ErrorInfo> info = GetErrorInfo(failure);
  const bool rate_limited = info && info->reason() == kReasonUpstreamRateLimited;
  return rate_limited ? AttemptFailure::kRateLimited : AttemptFailure::kTransient;
}

absl::Duration Backoff(const RetryOptions& options, AttemptFailure kind, int retry) {
  absl::Duration ceiling =
      kind == AttemptFailure::kRateLimited ? options.rate_limited_backoff : options.transient_backoff;
  for (int i = 1; i < retry && ceiling < options.max_backoff; ++i) ceiling *= 2;
  ceiling = std::min(ceiling, options.max_backoff);
  thread_local absl::BitGen random;
  return ceiling * absl::Uniform(random, 0.5, 1.0);
}

}  // namespace halopsa

#ifndef HALOPSA_ADAPTERS_HALOPSA_RETRY_POLICY_H_
#define HALOPSA_ADAPTERS_HALOPSA_RETRY_POLICY_H_

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "adapters/net/http_transport.h"

namespace halopsa {

struct RetryOptions {
  // Requests sent for one call, the first included, resends after a 401
  // with a fresh token too.
  int max_attempts = 6;
  // First wait after a 5xx or a network failure; doubles per retry.
  absl::Duration transient_backoff = absl::Milliseconds(250);
  // First wait after 429 or 503; doubles per retry. Short fixed waits are
  // known not to get through Halo's rolling window.
  absl::Duration rate_limited_backoff = absl::Seconds(2);
  absl::Duration max_backoff = absl::Seconds(60);
};

// What to do after an attempt that did not succeed.
enum class AttemptFailure {
  kFinal,           // answer the error: a retry cannot help or could do harm
  kTransient,       // retry after a short backoff
  kRateLimited,     // retry after a long backoff, and hold back the tenant
  kOutcomeUnknown,  // a create that HaloPSA may have done: never resent
};

// The decision for one attempt's result (any status but 2xx and 401).
// `repeatable`: sending the request twice does no harm (reads, updates).
// Creates are resent only when HaloPSA certainly did not process them: 429
// and 503 (RFC 9110: the server did not handle the request), or a failure
// before the request was written (net::WasNotSent).
AttemptFailure ClassifyAttempt(const absl::StatusOr<net::HttpResponse>& result, bool repeatable);

// Failures of the token request: it is always safe to repeat.
AttemptFailure ClassifyTokenFailure(const absl::Status& failure);

// The wait before retry number `retry` (1 for the first), with jitter: a
// uniform draw between half and all of min(max, first * 2^(retry-1)).
absl::Duration Backoff(const RetryOptions& options, AttemptFailure kind, int retry);

}  // namespace halopsa

#endif  // HALOPSA_ADAPTERS_HALOPSA_RETRY_POLICY_H_

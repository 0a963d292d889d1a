#ifndef HALOPSA_ADAPTERS_HALOPSA_RETRYING_SENDER_H_
#define HALOPSA_ADAPTERS_HALOPSA_RETRYING_SENDER_H_

#include <atomic>
#include <memory>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "adapters/halopsa/halo_request_sender.h"
#include "adapters/halopsa/request_budget.h"
#include "adapters/halopsa/retry_policy.h"
#include "adapters/net/scheduler.h"
#include "server/service_metrics.h"

namespace halopsa {

// Sends a request again while it may still succeed, within RetryOptions'
// attempts and the call's deadline, and turns what it cannot retry into the
// call's error (HaloPSA's tables in halo_errors.h). Answers up: a 2xx answer,
// or that error.
// - 401: the layer below dropped the token; resent at once (a fresh token),
//   counted as reason "unauthorized". A call whose every attempt meets 401
//   ends UNAUTHENTICATED; one that also met other failures ends UNAVAILABLE
//   with a RetryInfo (the credentials were not shown wrong).
// - Other failures follow the retry table (ClassifyAttempt), or the layer's
//   own decision (HaloAnswer::unsent): a backoff with jitter on the
//   scheduler; a 429/503 also pauses the tenant's budget until the retry. A
//   create whose outcome is unknown fails UPSTREAM_OUTCOME_UNKNOWN, never
//   resent; out of attempts or of time, the last error with a RetryInfo.
class RetryingSender final : public HaloRequestSender {
 public:
  // `metrics` may be null.
  RetryingSender(HaloRequestSender& next, RequestBudget& budget, net::Scheduler& scheduler, RetryOptions options,
                 ServiceMetrics* metrics)
      : next_(next), budget_(budget), scheduler_(scheduler), options_(options), metrics_(metrics) {}

  void Send(const CallContext& context, HaloRequest request, Callback done) override;

  // For shutdown: requests waiting for a retry fail (UNAVAILABLE,
  // SHUTTING_DOWN) when their wait ends, and no request waits again.
  void StopWaiting() { stopping_.store(true); }

  struct Call;  // one request through all its attempts (in the .cc)

 private:
  void Attempt(std::shared_ptr<Call> call);
  void OnAnswer(std::shared_ptr<Call> call, HaloAnswer answer);
  void OnUnauthorized(std::shared_ptr<Call> call, const net::HttpResponse& refused);
  void RetryOrFail(std::shared_ptr<Call> call, absl::Status failure, AttemptFailure kind);
  void CountRetry(absl::string_view reason);

  HaloRequestSender& next_;
  RequestBudget& budget_;
  net::Scheduler& scheduler_;
  const RetryOptions options_;
  ServiceMetrics* const metrics_;
  std::atomic<bool> stopping_{false};
};

// `failure` of a create that HaloPSA may have done: reason
// UPSTREAM_OUTCOME_UNKNOWN, the code kept (DEADLINE_EXCEEDED already says
// "may have completed"; answers and broken connections are UNAVAILABLE).
absl::Status OutcomeUnknown(const absl::Status& failure, absl::string_view endpoint);

}  // namespace halopsa

#endif  // HALOPSA_ADAPTERS_HALOPSA_RETRYING_SENDER_H_

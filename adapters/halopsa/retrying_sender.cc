#include "adapters/halopsa/retrying_sender.h"

#include <map>
#include <optional>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "adapters/halopsa/budgeted_sender.h"
#include "adapters/halopsa/halo_errors.h"
#include "adapters/halopsa/rate_limiter.h"
#include "server/error_mapping.h"

namespace halopsa {

absl::Status OutcomeUnknown(const absl::Status& failure, absl::string_view endpoint) {
  std::map<std::string, std::string> metadata = {{"endpoint", std::string(endpoint)}};
  if (std::optional<google::rpc::ErrorInfo> info = GetErrorInfo(failure)) {
    metadata.insert(info->metadata().begin(), info->metadata().end());  // e.g. http_status
  }
  return WithErrorInfo(absl::Status(failure.code(), absl::StrCat(failure.message(),
                                                                 "; HaloPSA may have processed the request, so it "
                                                                 "was not sent again")),
                       kReasonUpstreamOutcomeUnknown, metadata);
}

struct RetryingSender::Call {
  CallContext context;
  HaloRequest request;  // as given: each attempt sends a copy
  Callback done;
  int retries = 0;  // attempts after the first, token refreshes included
  bool saw_transient_failure = false;  // some attempt failed otherwise than 401
};

void RetryingSender::Send(const CallContext& context, HaloRequest request, Callback done) {
  Attempt(std::make_shared<Call>(Call{context, std::move(request), std::move(done)}));
}

void RetryingSender::Attempt(std::shared_ptr<Call> call) {
  CallContext context = call->context;
  HaloRequest request = call->request;
  next_.Send(context, std::move(request), [this, call = std::move(call)](HaloAnswer answer) mutable {
    OnAnswer(std::move(call), std::move(answer));
  });
}

void RetryingSender::OnAnswer(std::shared_ptr<Call> call, HaloAnswer answer) {
  const absl::StatusOr<net::HttpResponse>& response = answer.response;
  if (answer.unsent) return RetryOrFail(std::move(call), response.status(), *answer.unsent);
  if (response.ok() && response->status >= 200 && response->status <= 299) return call->done(std::move(answer));
  if (response.ok() && response->status == 401) return OnUnauthorized(std::move(call), *response);
  const AttemptFailure kind = ClassifyAttempt(response, call->request.repeatable);
  const std::string& endpoint = call->request.endpoint;
  absl::Status failure = response.ok() ? FromHaloHttpStatus(response->status, endpoint, response->body)
                                       : FromTransportFailure(response.status(), endpoint);
  RetryOrFail(std::move(call), std::move(failure), kind);
}

// Tokens revoked while calls use them cost one more attempt each; a call
// whose every attempt meets 401 ends UNAUTHENTICATED.
void RetryingSender::OnUnauthorized(std::shared_ptr<Call> call, const net::HttpResponse& refused_answer) {
  if (call->retries + 1 < options_.max_attempts && absl::Now() < call->context.deadline) {
    ++call->retries;
    CountRetry("unauthorized");
    return Attempt(std::move(call));
  }
  absl::Status refused = FromHaloHttpStatus(refused_answer.status, call->request.endpoint, refused_answer.body);
  if (!call->saw_transient_failure) return call->done(HaloAnswer{std::move(refused)});
  // Out of attempts amid other failures: the credentials were not shown wrong.
  absl::Status unavailable =
      absl::UnavailableError(absl::StrCat(refused.message(), "; out of attempts after transient failures"));
  call->done(HaloAnswer{
      WithRetryDelay(std::move(unavailable), Backoff(options_, AttemptFailure::kTransient, call->retries + 1))});
}

void RetryingSender::RetryOrFail(std::shared_ptr<Call> call, absl::Status failure, AttemptFailure kind) {
  call->saw_transient_failure = true;
  if (kind == AttemptFailure::kFinal) return call->done(HaloAnswer{std::move(failure)});
  if (kind == AttemptFailure::kOutcomeUnknown) {
    return call->done(HaloAnswer{OutcomeUnknown(failure, call->request.endpoint)});
  }
  const absl::Duration wait = Backoff(options_, kind, call->retries + 1);
  const absl::Time resume = absl::Now() + wait;
  // Others share the tenant's limit with us: hold every call back, not only this one.
  if (kind == AttemptFailure::kRateLimited) {
    const HaloConnection& connection = *call->context.connection;
    budget_.PauseUntil(RateLimitKey(connection.instance_url, connection.client_id), resume);
  }
  if (call->retries + 1 >= options_.max_attempts || resume >= call->context.deadline || stopping_.load()) {
    return call->done(HaloAnswer{WithRetryDelay(std::move(failure), wait)});
  }
  ++call->retries;
  CountRetry(kind == AttemptFailure::kRateLimited ? "rate_limited" : "transient");
  scheduler_.RunAt(resume, [this, call = std::move(call)]() mutable {
    if (stopping_.load()) return call->done(HaloAnswer{ShuttingDown()});
    Attempt(std::move(call));
  });
}

void RetryingSender::CountRetry(absl::string_view reason) {
  if (metrics_ != nullptr) metrics_->upstream_retries.With({std::string(reason)}).Increment();
}

}  // namespace halopsa

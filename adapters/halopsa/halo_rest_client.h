#ifndef HALOPSA_ADAPTERS_HALOPSA_HALO_REST_CLIENT_H_
#define HALOPSA_ADAPTERS_HALOPSA_HALO_REST_CLIENT_H_

#include <atomic>
#include <memory>
#include <string>

#include "adapters/halopsa/rate_limiter.h"
#include "adapters/halopsa/request_budget.h"
#include "adapters/halopsa/retry_policy.h"
#include "adapters/halopsa/token_cache.h"
#include "adapters/net/http_transport.h"
#include "adapters/net/scheduler.h"
#include "server/halo_api.h"
#include "server/service_metrics.h"

namespace halopsa {

// HaloApi over HTTP: bearer tokens from the TokenCache, JSON bodies, HaloPSA
// status codes mapped by error_mapping. Every request first takes a slot
// from the tenant's request budget. On a 401 the token is dropped, a new one
// fetched and the call sent again at once. Other failures are
// retried by ClassifyAttempt's rules with exponential backoff and jitter,
// while the call's deadline leaves room: a create whose outcome is unknown
// fails with UPSTREAM_OUTCOME_UNKNOWN instead, and a call that ran out of
// time retrying 429/503 fails UNAVAILABLE, UPSTREAM_RATE_LIMITED, with a
// RetryInfo.
class HaloRestClient final : public HaloApi {
 public:
  struct Dependencies {
    net::HttpTransport& transport;
    TokenCache& tokens;
    net::Scheduler& scheduler;
    RequestBudget& limiter;  // this process' or the replicas' shared one
    ServiceMetrics* metrics = nullptr;  // may be null
  };

  HaloRestClient(Dependencies dependencies, RetryOptions retry)
      : deps_(dependencies), retry_(retry) {}

  // For shutdown: calls waiting for a rate-limit slot or a retry fail
  // (UNAVAILABLE) when their wait ends, and no call waits again. Run the
  // scheduler's waiting tasks next so that they end now.
  void StopWaiting();

  void Get(const CallContext& context, std::string path, Query query, Callback done) override;
  void Post(const CallContext& context, std::string path, google::protobuf::Value body, Callback done) override;

  // One API call through all its attempts (defined in the .cc).
  struct Call;

 private:
  void Start(std::shared_ptr<Call> call);
  void TakeSlot(std::shared_ptr<Call> call, std::string token);
  void Send(std::shared_ptr<Call> call, std::string token);
  void OnAnswer(std::shared_ptr<Call> call, const std::string& token, absl::StatusOr<net::HttpResponse> answer);
  void RetryOrFail(std::shared_ptr<Call> call, absl::Status failure, AttemptFailure kind);
  void Count(const Call& call, int http_status);
  void CountRetry(absl::string_view reason);

  Dependencies deps_;
  const RetryOptions retry_;
  std::atomic<bool> stopping_{false};
};

// The endpoint as a metric label: numeric path segments become {id}, so the
// label has a small fixed set of values.
std::string EndpointLabel(absl::string_view path);

// True when POSTing `body` to HaloPSA twice does no harm: an array of
// objects that all carry an `id` is an update that sets the same values
// again; anything else creates.
bool IsRepeatableWrite(const google::protobuf::Value& body);

}  // namespace halopsa

#endif  // HALOPSA_ADAPTERS_HALOPSA_HALO_REST_CLIENT_H_

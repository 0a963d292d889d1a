#ifndef HALOPSA_ADAPTERS_HALOPSA_HALO_REST_CLIENT_H_
#define HALOPSA_ADAPTERS_HALOPSA_HALO_REST_CLIENT_H_

#include <string>

#include "adapters/halopsa/authenticating_sender.h"
#include "adapters/halopsa/budgeted_sender.h"
#include "adapters/halopsa/halo_request_sender.h"
#include "adapters/halopsa/metered_sender.h"
#include "adapters/halopsa/request_budget.h"
#include "adapters/halopsa/retry_policy.h"
#include "adapters/halopsa/retrying_sender.h"
#include "adapters/halopsa/token_cache.h"
#include "adapters/net/http_transport.h"
#include "adapters/net/scheduler.h"
#include "server/halo_api.h"
#include "server/service_metrics.h"

namespace halopsa {

// HaloApi over HTTP: JSON bodies and answers, through a stack of
// HaloRequestSender layers, each attempt going down all of them:
//   RetryingSender        retries by the retry table, maps what it cannot retry to the call's error
//   AuthenticatingSender  the cached bearer token; a 401 drops it
//   BudgetedSender        a slot of the tenant's request budget
//   MeteredSender         counts each request HaloPSA got
//   TransportSender       the HTTP request, within the call's deadline
// So a retry, a 401's resend included, takes a token and a budget slot
// again, and each attempt is counted once.
class HaloRestClient final : public HaloApi {
 public:
  struct Dependencies {
    net::HttpTransport& transport;
    TokenCache& tokens;
    net::Scheduler& scheduler;
    RequestBudget& limiter;  // this process' or the replicas' shared one
    ServiceMetrics* metrics = nullptr;  // may be null
  };

  HaloRestClient(Dependencies dependencies, RetryOptions retry);

  // For shutdown: calls waiting for a rate-limit slot or a retry fail
  // (UNAVAILABLE) when their wait ends, and no call waits again. Run the
  // scheduler's waiting tasks next so that they end now.
  void StopWaiting();

  void Get(const CallContext& context, std::string path, Query query, Callback done) override;
  void Post(const CallContext& context, std::string path, google::protobuf::Value body, Callback done) override;

 private:
  void Send(const CallContext& context, HaloRequest request, Callback done);

  TransportSender transport_;
  MeteredSender metered_;
  BudgetedSender budgeted_;
  AuthenticatingSender authenticating_;
  RetryingSender retrying_;
};

// True when POSTing `body` to HaloPSA twice does no harm: an array of
// objects that all carry an `id` is an update that sets the same values
// again; anything else creates.
bool IsRepeatableWrite(const google::protobuf::Value& body);

}  // namespace halopsa

#endif  // HALOPSA_ADAPTERS_HALOPSA_HALO_REST_CLIENT_H_

#ifndef HALOPSA_ADAPTERS_HALOPSA_HALO_REST_CLIENT_H_
#define HALOPSA_ADAPTERS_HALOPSA_HALO_REST_CLIENT_H_

#include "adapters/halopsa/token_cache.h"
#include "adapters/net/http_transport.h"
#include "server/halo_api.h"
#include "server/service_metrics.h"

namespace halopsa {

// HaloApi over HTTP: bearer tokens from the TokenCache, JSON bodies, HaloPSA
// status codes mapped by error_mapping. On a 401 the token is dropped, a new
// one fetched and the call sent once more.
class HaloRestClient final : public HaloApi {
 public:
  // `metrics` may be null.
  HaloRestClient(net::HttpTransport& transport, TokenCache& tokens, ServiceMetrics* metrics = nullptr)
      : transport_(transport), tokens_(tokens), metrics_(metrics) {}

  void Get(const CallContext& context, std::string path, Query query, Callback done) override;
  void Post(const CallContext& context, std::string path, google::protobuf::Value body, Callback done) override;

 private:
  struct Call;
  void Authorize(std::shared_ptr<Call> call);
  void Send(std::shared_ptr<Call> call, std::string token);
  void Count(const Call& call, int http_status);

  net::HttpTransport& transport_;
  TokenCache& tokens_;
  ServiceMetrics* const metrics_;
};

// The endpoint as a metric label: numeric path segments become {id}, so the
// label has a small fixed set of values.
std::string EndpointLabel(absl::string_view path);

}  // namespace halopsa

#endif  // HALOPSA_ADAPTERS_HALOPSA_HALO_REST_CLIENT_H_

#include "adapters/halopsa/halo_rest_client.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "adapters/net/url.h"
#include "server/error_mapping.h"
#include "server/json_values.h"

namespace halopsa {

HaloRestClient::HaloRestClient(Dependencies deps, RetryOptions retry)
    : transport_(deps.transport),
      metered_(transport_, deps.metrics),
      budgeted_(metered_, deps.limiter, deps.scheduler, deps.metrics),
      authenticating_(budgeted_, deps.tokens),
      retrying_(authenticating_, deps.limiter, deps.scheduler, retry, deps.metrics) {}

void HaloRestClient::StopWaiting() {
  budgeted_.StopWaiting();
  retrying_.StopWaiting();
}

void HaloRestClient::Get(const CallContext& context, std::string path, Query query, Callback done) {
  HaloRequest request;
  request.method = "GET";
  request.url = net::AppendQuery(absl::StrCat(context.connection->instance_url, path), query);
  request.endpoint = std::move(path);
  Send(context, std::move(request), std::move(done));
}

void HaloRestClient::Post(const CallContext& context, std::string path, google::protobuf::Value body,
                          Callback done) {
  HaloRequest request;
  request.method = "POST";
  request.url = absl::StrCat(context.connection->instance_url, path);
  request.endpoint = std::move(path);
  request.repeatable = IsRepeatableWrite(body);
  request.body = ToJson(body);
  Send(context, std::move(request), std::move(done));
}

void HaloRestClient::Send(const CallContext& context, HaloRequest request, Callback done) {
  std::string endpoint = request.endpoint;
  const bool repeatable = request.repeatable;
  retrying_.Send(context, std::move(request), [endpoint = std::move(endpoint), repeatable,
                                               done = std::move(done)](HaloAnswer answer) mutable {
    if (!answer.response.ok()) return done(answer.response.status());
    absl::StatusOr<google::protobuf::Value> json = ParseJson(answer.response->body);
    if (json.ok()) return done(*std::move(json));
    absl::Status unreadable =
        WithErrorInfo(absl::UnavailableError(absl::StrCat("HaloPSA ", endpoint, " answered malformed JSON")),
                      kReasonUpstreamBadResponse, {{"endpoint", endpoint}});
    // A create that got 2xx was done, whatever the body says.
    done(repeatable ? unreadable : OutcomeUnknown(unreadable, endpoint));
  });
}

bool IsRepeatableWrite(const google::protobuf::Value& body) {
  if (!body.has_list_value() || body.list_value().values().empty()) return false;
  for (const google::protobuf::Value& item : body.list_value().values()) {
    if (!item.has_struct_value() || !item.struct_value().fields().contains("id")) return false;
  }
  return true;
}

}  // namespace halopsa

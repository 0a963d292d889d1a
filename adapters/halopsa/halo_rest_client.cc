#include "adapters/halopsa/halo_rest_client.h"

#include <algorithm>
#include <memory>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "adapters/net/url.h"
#include "server/error_mapping.h"
#include "server/json_values.h"

namespace halopsa {

// One API call through its (at most two) attempts.
struct HaloRestClient::Call {
  CallContext context;
  std::string endpoint;  // path without query: names the call in errors
  std::string method;
  std::string url;
  std::string body;
  Callback done;
  bool retried_after_401 = false;
};

void HaloRestClient::Get(const CallContext& context, std::string path, Query query, Callback done) {
  auto call = std::make_shared<Call>();
  call->context = context;
  call->url = net::AppendQuery(absl::StrCat(context.connection->instance_url, path), query);
  call->endpoint = std::move(path);
  call->method = "GET";
  call->done = std::move(done);
  Authorize(std::move(call));
}

void HaloRestClient::Post(const CallContext& context, std::string path, google::protobuf::Value body,
                          Callback done) {
  auto call = std::make_shared<Call>();
  call->context = context;
  call->url = absl::StrCat(context.connection->instance_url, path);
  call->endpoint = std::move(path);
  call->method = "POST";
  call->body = ToJson(body);
  call->done = std::move(done);
  Authorize(std::move(call));
}

void HaloRestClient::Authorize(std::shared_ptr<Call> call) {
  CallContext context = call->context;
  tokens_.Get(context, [this, call = std::move(call)](absl::StatusOr<std::string> token) mutable {
    if (!token.ok()) return call->done(token.status());
    Send(std::move(call), *std::move(token));
  });
}

void HaloRestClient::Send(std::shared_ptr<Call> call, std::string token) {
  net::HttpRequest request;
  request.method = call->method;
  request.url = call->url;
  request.headers = {{"Authorization", absl::StrCat("Bearer ", token)}, {"Accept", "application/json"}};
  if (call->method == "POST") {
    request.headers.emplace_back("Content-Type", "application/json");
    request.body = call->body;
  }
  absl::Time deadline = call->context.deadline;
  transport_.Send(std::move(request), deadline,
                  [this, call = std::move(call), token = std::move(token)](
                      absl::StatusOr<net::HttpResponse> response) mutable {
                    Count(*call, response.ok() ? response->status : 0);
                    if (!response.ok()) return call->done(FromTransportFailure(response.status(), call->endpoint));
                    if (response->status == 401 && !call->retried_after_401) {
                      call->retried_after_401 = true;
                      if (metrics_ != nullptr) metrics_->upstream_retries.With({"unauthorized"}).Increment();
                      tokens_.Invalidate(*call->context.connection, token);
                      return Authorize(std::move(call));
                    }
                    if (response->status < 200 || response->status > 299) {
                      return call->done(FromHaloHttpStatus(response->status, call->endpoint, response->body));
                    }
                    absl::StatusOr<google::protobuf::Value> json = ParseJson(response->body);
                    if (!json.ok()) {
                      return call->done(WithErrorInfo(
                          absl::UnavailableError(absl::StrCat("HaloPSA ", call->endpoint, " answered malformed JSON")),
                          kReasonUpstreamBadResponse, {{"endpoint", call->endpoint}}));
                    }
                    call->done(*std::move(json));
                  });
}

void HaloRestClient::Count(const Call& call, int http_status) {
  if (call.context.stats) call.context.stats->upstream_requests.fetch_add(1, std::memory_order_relaxed);
  if (metrics_ != nullptr) {
    metrics_->upstream_requests.With({EndpointLabel(call.endpoint), absl::StrCat(http_status)}).Increment();
  }
}

std::string EndpointLabel(absl::string_view path) {
  std::vector<std::string> segments = absl::StrSplit(path, '/');
  for (std::string& segment : segments) {
    if (!segment.empty() && std::all_of(segment.begin(), segment.end(), absl::ascii_isdigit)) segment = "{id}";
  }
  return absl::StrJoin(segments, "/");
}

}  // namespace halopsa

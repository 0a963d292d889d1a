#include "adapters/halopsa/halo_rest_client.h"

#include <algorithm>
#include <map>
#include <optional>
#include <memory>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "adapters/net/url.h"
#include "server/error_mapping.h"
#include "server/json_values.h"

namespace halopsa {
namespace {

// Keeps the failure's code: DEADLINE_EXCEEDED already says "may have
// completed"; answers and broken connections are UNAVAILABLE.
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

absl::Status ShuttingDown() {
  return WithErrorInfo(absl::UnavailableError("the service is shutting down; the call was not sent to HaloPSA"),
                       kReasonShuttingDown);
}

}  // namespace

void HaloRestClient::StopWaiting() { stopping_.store(true); }

struct HaloRestClient::Call {
  CallContext context;
  std::string endpoint;  // path without query: names the call in errors
  std::string method;
  std::string url;
  std::string body;
  bool repeatable = true;
  std::string limit_key;
  Callback done;
  int retries = 0;  // attempts after the first, token refreshes included
  bool saw_transient_failure = false;  // some attempt failed otherwise than 401
};

namespace {

std::shared_ptr<HaloRestClient::Call> NewCall(const CallContext& context, std::string method, std::string url,
                                              std::string path, HaloApi::Callback done) {
  auto call = std::make_shared<HaloRestClient::Call>();
  call->context = context;
  call->method = std::move(method);
  call->url = std::move(url);
  call->endpoint = std::move(path);
  call->limit_key = RateLimitKey(context.connection->instance_url, context.connection->client_id);
  call->done = std::move(done);
  return call;
}

}  // namespace

void HaloRestClient::Get(const CallContext& context, std::string path, Query query, Callback done) {
  std::string url = net::AppendQuery(absl::StrCat(context.connection->instance_url, path), query);
  Start(NewCall(context, "GET", std::move(url), std::move(path), std::move(done)));
}

void HaloRestClient::Post(const CallContext& context, std::string path, google::protobuf::Value body,
                          Callback done) {
  std::string url = absl::StrCat(context.connection->instance_url, path);
  std::shared_ptr<Call> call = NewCall(context, "POST", std::move(url), std::move(path), std::move(done));
  call->repeatable = IsRepeatableWrite(body);
  call->body = ToJson(body);
  Start(std::move(call));
}

void HaloRestClient::Start(std::shared_ptr<Call> call) {
  CallContext context = call->context;
  deps_.tokens.Get(context, [this, call = std::move(call)](absl::StatusOr<std::string> token) mutable {
    if (!token.ok()) return RetryOrFail(std::move(call), token.status(), ClassifyTokenFailure(token.status()));
    TakeSlot(std::move(call), *std::move(token));
  });
}

void HaloRestClient::TakeSlot(std::shared_ptr<Call> call, std::string token) {
  const std::string tenant = call->limit_key;
  const std::string org = call->context.org;
  const absl::Time deadline = call->context.deadline;
  deps_.limiter.Reserve(tenant, org, deadline, [this, call = std::move(call), token = std::move(token)](
                                              absl::StatusOr<absl::Time> slot) mutable {
    if (!slot.ok()) return call->done(slot.status());
    if (*slot <= absl::Now()) return Send(std::move(call), std::move(token));
    if (deps_.metrics != nullptr) deps_.metrics->rate_limit_waits.With({}).Increment();
    deps_.scheduler.RunAt(*slot, [this, call = std::move(call), token = std::move(token)]() mutable {
      if (stopping_.load()) return call->done(ShuttingDown());
      Send(std::move(call), std::move(token));
    });
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
    request.idempotent = call->repeatable;
  }
  absl::Time deadline = call->context.deadline;
  deps_.transport.Send(std::move(request), deadline,
                       [this, call = std::move(call), token = std::move(token)](
                           absl::StatusOr<net::HttpResponse> answer) mutable {
                         OnAnswer(std::move(call), token, std::move(answer));
                       });
}

void HaloRestClient::OnAnswer(std::shared_ptr<Call> call, const std::string& token,
                              absl::StatusOr<net::HttpResponse> answer) {
  Count(*call, answer.ok() ? answer->status : 0);
  // Tokens revoked while calls use them cost one more attempt each; a call
  // whose every attempt meets 401 ends UNAUTHENTICATED.
  if (answer.ok() && answer->status == 401) {
    deps_.tokens.Invalidate(*call->context.connection, token);
    if (call->retries + 1 < retry_.max_attempts && absl::Now() < call->context.deadline) {
      ++call->retries;
      CountRetry("unauthorized");
      return Start(std::move(call));
    }
    absl::Status refused = FromHaloHttpStatus(answer->status, call->endpoint, answer->body);
    if (!call->saw_transient_failure) return call->done(std::move(refused));
    // Out of attempts amid other failures: the credentials were not shown wrong.
    return call->done(WithRetryDelay(
        absl::UnavailableError(absl::StrCat(refused.message(), "; out of attempts after transient failures")),
        Backoff(retry_, AttemptFailure::kTransient, call->retries + 1)));
  }
  if (answer.ok() && answer->status >= 200 && answer->status <= 299) {
    absl::StatusOr<google::protobuf::Value> json = ParseJson(answer->body);
    if (!json.ok()) {
      absl::Status unreadable =
          WithErrorInfo(absl::UnavailableError(absl::StrCat("HaloPSA ", call->endpoint, " answered malformed JSON")),
                        kReasonUpstreamBadResponse, {{"endpoint", call->endpoint}});
      // A create that got 2xx was done, whatever the body says.
      return call->done(call->repeatable ? unreadable : OutcomeUnknown(unreadable, call->endpoint));
    }
    return call->done(*std::move(json));
  }
  const AttemptFailure kind = ClassifyAttempt(answer, call->repeatable);
  absl::Status failure = answer.ok() ? FromHaloHttpStatus(answer->status, call->endpoint, answer->body)
                                     : FromTransportFailure(answer.status(), call->endpoint);
  RetryOrFail(std::move(call), std::move(failure), kind);
}

void HaloRestClient::RetryOrFail(std::shared_ptr<Call> call, absl::Status failure, AttemptFailure kind) {
  call->saw_transient_failure = true;
  if (kind == AttemptFailure::kFinal) return call->done(std::move(failure));
  if (kind == AttemptFailure::kOutcomeUnknown) return call->done(OutcomeUnknown(failure, call->endpoint));
  const absl::Duration wait = Backoff(retry_, kind, call->retries + 1);
  const absl::Time resume = absl::Now() + wait;
  // Others share the tenant's limit with us: hold every call back, not only this one.
  if (kind == AttemptFailure::kRateLimited) deps_.limiter.PauseUntil(call->limit_key, resume);
  if (call->retries + 1 >= retry_.max_attempts || resume >= call->context.deadline || stopping_.load()) {
    return call->done(WithRetryDelay(std::move(failure), wait));
  }
  ++call->retries;
  CountRetry(kind == AttemptFailure::kRateLimited ? "rate_limited" : "transient");
  deps_.scheduler.RunAt(resume, [this, call = std::move(call)]() mutable {
    if (stopping_.load()) return call->done(ShuttingDown());
    Start(std::move(call));
  });
}

void HaloRestClient::Count(const Call& call, int http_status) {
  if (call.context.stats) call.context.stats->upstream_requests.fetch_add(1, std::memory_order_relaxed);
  if (deps_.metrics != nullptr) {
    deps_.metrics->upstream_requests.With({EndpointLabel(call.endpoint), absl::StrCat(http_status)}).Increment();
  }
}

void HaloRestClient::CountRetry(absl::string_view reason) {
  if (deps_.metrics != nullptr) deps_.metrics->upstream_retries.With({std::string(reason)}).Increment();
}

std::string EndpointLabel(absl::string_view path) {
  std::vector<std::string> segments = absl::StrSplit(path, '/');
  for (std::string& segment : segments) {
    if (!segment.empty() && std::all_of(segment.begin(), segment.end(), absl::ascii_isdigit)) segment = "{id}";
  }
  return absl::StrJoin(segments, "/");
}

bool IsRepeatableWrite(const google::protobuf::Value& body) {
  if (!body.has_list_value() || body.list_value().values().empty()) return false;
  for (const google::protobuf::Value& item : body.list_value().values()) {
    if (!item.has_struct_value() || !item.struct_value().fields().contains("id")) return false;
  }
  return true;
}

}  // namespace halopsa

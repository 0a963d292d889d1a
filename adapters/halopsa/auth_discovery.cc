#include "adapters/halopsa/auth_discovery.h"

#include <algorithm>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/strings/strip.h"
#include "adapters/net/url.h"
#include "server/json_values.h"

namespace halopsa {
namespace {

// The token endpoint of `connection` given its authorisation server
// (`auth_url`, empty = {instance_url}/auth): ?tenant= names the connection's
// tenant, else the one authinfo named.
TokenEndpoint TokenEndpointFor(const HaloConnection& connection, absl::string_view auth_url,
                               absl::string_view discovered_tenant_id) {
  absl::string_view tenant = connection.tenant.empty() ? discovered_tenant_id : connection.tenant;
  std::string base = auth_url.empty() ? absl::StrCat(connection.instance_url, "/auth") : std::string(auth_url);
  TokenEndpoint endpoint;
  endpoint.url = absl::StrCat(base, "/token");
  absl::StatusOr<net::Url> parsed = net::ParseUrl(endpoint.url);
  endpoint.endpoint = parsed.ok() ? parsed->target : "/auth/token";
  if (!tenant.empty()) endpoint.url = net::AppendQuery(endpoint.url, {{"tenant", std::string(tenant)}});
  return endpoint;
}

}  // namespace

void AuthDiscovery::Resolve(const CallContext& context, Callback done) {
  const HaloConnection& connection = *context.connection;
  if (!connection.auth_url.empty()) return done(TokenEndpointFor(connection, connection.auth_url, ""));
  std::optional<Discovered> known;
  {
    absl::MutexLock lock(&mutex_);
    auto it = by_instance_.find(connection.instance_url);
    if (it != by_instance_.end()) known = it->second;
  }
  if (known) {
    return done(TokenEndpointFor(connection, known->auth_url, known->tenant_id));
  }
  net::HttpRequest request;
  request.method = "GET";
  request.url = absl::StrCat(connection.instance_url, "/api/authinfo");
  request.headers = {{"Accept", "application/json"}};
  authinfo_requests_.fetch_add(1);
  transport_.Send(std::move(request), std::min(context.deadline, absl::Now() + options_.timeout),
                  [this, connection = context.connection, done = std::move(done)](
                      absl::StatusOr<net::HttpResponse> response) mutable {
                    // No answer says nothing about the tenant: fall back now,
                    // ask again next time.
                    Discovered discovered;
                    if (response.ok() && response->status < 500) {
                      discovered = ReadAuthInfo(*response);
                      Remember(connection->instance_url, discovered);
                    }
                    done(TokenEndpointFor(*connection, discovered.auth_url, discovered.tenant_id));
                  });
}

AuthDiscovery::Discovered AuthDiscovery::ReadAuthInfo(const net::HttpResponse& response) const {
  if (response.status != 200) return {};
  absl::StatusOr<google::protobuf::Value> answer = ParseJson(response.body);
  if (!answer.ok() || !answer->has_struct_value()) return {};
  std::string auth_url(absl::StripSuffix(StringField(answer->struct_value(), "auth_url"), "/"));
  if (auth_url.empty() || !CheckAuthUrl(auth_url).ok()) return {};
  return {std::move(auth_url), StringField(answer->struct_value(), "tenant_id")};
}

absl::Status AuthDiscovery::CheckAuthUrl(absl::string_view auth_url) const {
  absl::StatusOr<net::Url> url = net::ParseUrl(auth_url);
  if (!url.ok()) return url.status();
  if (url->scheme != "https" && !options_.allow_insecure_http) {
    return absl::InvalidArgumentError("the discovered auth_url is not https");
  }
  if (url->target.find('?') != std::string::npos) {
    return absl::InvalidArgumentError("the discovered auth_url carries a query");
  }
  return absl::OkStatus();
}

void AuthDiscovery::Remember(const std::string& instance_url, const Discovered& discovered) {
  absl::MutexLock lock(&mutex_);
  if (by_instance_.size() >= options_.max_instances) by_instance_.clear();
  by_instance_[instance_url] = discovered;
}

void AuthDiscovery::Forget(const HaloConnection& connection) {
  absl::MutexLock lock(&mutex_);
  by_instance_.erase(connection.instance_url);
}

}  // namespace halopsa

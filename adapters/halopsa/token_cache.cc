#include "adapters/halopsa/token_cache.h"

#include <openssl/sha.h>

#include <algorithm>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "adapters/halopsa/halo_errors.h"
#include "adapters/net/url.h"
#include "server/error_mapping.h"
#include "server/json_values.h"

namespace halopsa {
namespace {

constexpr absl::Duration kDefaultTokenLifetime = absl::Hours(1);

// Token answers after which the endpoint may be the wrong one (a hosted
// tenant's /auth/token, a moved authorisation server).
bool RefusedByEndpoint(int http_status) {
  return http_status == 400 || http_status == 401 || http_status == 403 || http_status == 404;
}

absl::Status InvalidScope(absl::string_view scope, int http_status, absl::string_view endpoint) {
  return WithErrorInfo(
      absl::FailedPreconditionError(absl::StrCat(
          "HaloPSA refused the requested scope '", scope,
          "' (invalid_scope): set the scope setting (org config scope, HALOPSA_SCOPE or metadata x-halopsa-scope) "
          "to scopes HaloPSA knows and the API application has: ",
          kLeastPrivilegeScopes, " covers the six actions, or all; there is no read:actions or edit:actions scope")),
      kReasonInvalidScope,
      {{"field", "scope"}, {"http_status", absl::StrCat(http_status)}, {"endpoint", std::string(endpoint)}});
}

std::string Fingerprint(absl::string_view secret) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(secret.data()), secret.size(), digest);
  return absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(digest), sizeof(digest)));
}

absl::StatusOr<std::pair<std::string, absl::Duration>> ParseTokenAnswer(const net::HttpResponse& response,
                                                                        absl::string_view endpoint,
                                                                        absl::string_view scope) {
  absl::StatusOr<google::protobuf::Value> answer = ParseJson(response.body);
  const google::protobuf::Struct empty;
  const google::protobuf::Struct& fields = answer.ok() && answer->has_struct_value() ? answer->struct_value() : empty;
  // 400 and 401 from the token endpoint mean the credentials are wrong,
  // unless HaloPSA says it is the scope.
  if (response.status == 400 || response.status == 401) {
    if (StringField(fields, "error") == "invalid_scope") return InvalidScope(scope, response.status, endpoint);
    return WithErrorInfo(absl::UnauthenticatedError(absl::StrCat(
                             "HaloPSA refused a token for this client_id/client_secret/tenant/scope: ",
                             HaloErrorText(response.body))),
                         kReasonTokenRejected,
                         {{"http_status", absl::StrCat(response.status)}, {"endpoint", std::string(endpoint)}});
  }
  if (response.status < 200 || response.status > 299) {
    return FromHaloHttpStatus(response.status, endpoint, response.body);
  }
  std::string token = StringField(fields, "access_token");
  if (token.empty()) {
    return WithErrorInfo(
        absl::UnavailableError(absl::StrCat("HaloPSA ", endpoint, " answered without an access_token")),
        kReasonUpstreamBadResponse, {{"endpoint", std::string(endpoint)}});
  }
  std::optional<int> expires_in = IntField(fields, "expires_in");
  absl::Duration lifetime = expires_in && *expires_in > 0 ? absl::Seconds(*expires_in) : kDefaultTokenLifetime;
  return std::make_pair(std::move(token), lifetime);
}

}  // namespace

std::string TokenCacheKey(const HaloConnection& c) {
  return absl::StrCat(c.org_id, "\n", c.instance_url, "\n", c.auth_url, "\n", c.client_id, "\n",
                      Fingerprint(c.client_secret), "\n", c.tenant, "\n", c.scope);
}

void TokenCache::Get(const CallContext& context, Callback done) {
  std::string key = TokenCacheKey(*context.connection);
  std::string cached;
  {
    absl::MutexLock lock(&mutex_);
    if (const std::string* token = tokens_.Find(key, options_.clock())) {
      cached = *token;
    } else {
      std::vector<Callback>& waiters = fetching_[key];
      waiters.push_back(std::move(done));
      if (waiters.size() > 1) return;  // its token request is under way
    }
  }
  if (!cached.empty()) {
    cache_hits_.fetch_add(1);
    return done(std::move(cached));
  }
  Fetch(context, key);
}

void TokenCache::Fetch(const CallContext& context, const std::string& key) {
  discovery_.Resolve(context, [this, context, key](TokenEndpoint endpoint) { RequestToken(context, key, endpoint); });
}

void TokenCache::RequestToken(const CallContext& context, const std::string& key, const TokenEndpoint& endpoint) {
  const HaloConnection& connection = *context.connection;
  net::HttpRequest request;
  request.method = "POST";
  request.url = endpoint.url;
  request.headers = {{"Content-Type", "application/x-www-form-urlencoded"}, {"Accept", "application/json"}};
  // Without scope HaloPSA issues a token that every API call refuses.
  request.body = net::FormEncode({{"grant_type", "client_credentials"},
                                  {"client_id", connection.client_id},
                                  {"client_secret", connection.client_secret},
                                  {"scope", connection.scope.empty() ? "all" : connection.scope}});
  token_requests_.fetch_add(1);
  transport_.Send(std::move(request), context.deadline,
                  [this, key, connection = context.connection, endpoint = endpoint.endpoint](
                      absl::StatusOr<net::HttpResponse> response) {
                    if (!response.ok()) return Complete(key, FromTransportFailure(response.status(), endpoint));
                    if (RefusedByEndpoint(response->status)) discovery_.Forget(*connection);
                    Complete(key, ParseTokenAnswer(*response, endpoint, connection->scope));
                  });
}

void TokenCache::Complete(const std::string& key, absl::StatusOr<std::pair<std::string, absl::Duration>> result) {
  std::vector<Callback> waiters;
  absl::StatusOr<std::string> token;
  {
    absl::MutexLock lock(&mutex_);
    auto fetching = fetching_.find(key);
    if (fetching != fetching_.end()) {
      waiters.swap(fetching->second);
      fetching_.erase(fetching);
    }
    if (result.ok()) {
      absl::Duration margin = std::min(options_.refresh_margin, result->second / 10);
      tokens_.Put(key, result->first, options_.clock(), result->second - margin);
      token = std::move(result->first);
    } else {
      token = result.status();
    }
  }
  for (Callback& waiter : waiters) waiter(token);
}

void TokenCache::Invalidate(const HaloConnection& connection, absl::string_view token) {
  const std::string key = TokenCacheKey(connection);
  absl::MutexLock lock(&mutex_);
  const std::string* cached = tokens_.Find(key, options_.clock());
  if (cached != nullptr && *cached == token) tokens_.Erase(key);
}

}  // namespace halopsa

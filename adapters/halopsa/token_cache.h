#ifndef HALOPSA_ADAPTERS_HALOPSA_TOKEN_CACHE_H_
#define HALOPSA_ADAPTERS_HALOPSA_TOKEN_CACHE_H_

#include <atomic>
#include <functional>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "adapters/halopsa/auth_discovery.h"
#include "adapters/net/http_transport.h"
#include "server/bounded_ttl_map.h"
#include "server/halo_api.h"

namespace halopsa {

struct TokenCacheOptions {
  // Refresh this long before expires_in runs out (at most a tenth of the
  // token's lifetime), so no call starts with a token about to expire.
  absl::Duration refresh_margin = absl::Seconds(60);
  // Tokens remembered at once; the least recently used go first.
  size_t max_entries = 10000;
  // Injectable for tests of expiry.
  std::function<absl::Time()> clock = [] { return absl::Now(); };
};

// OAuth2 client_credentials tokens from the tenant's token endpoint (found
// by AuthDiscovery), cached per (org, instance URL, auth URL, client id,
// secret fingerprint, tenant, scope). At most one token request per key is
// in flight: concurrent callers wait for it. A refused token request makes
// the discovery start again.
class TokenCache {
 public:
  using Callback = absl::AnyInvocable<void(absl::StatusOr<std::string>)>;

  TokenCache(net::HttpTransport& transport, AuthDiscovery& discovery, TokenCacheOptions options)
      : transport_(transport),
        discovery_(discovery),
        options_(options),
        tokens_({.max_entries = options.max_entries}) {}

  // A valid bearer token for the call's connection. `done` runs inline on a
  // cache hit, otherwise on a transport thread.
  void Get(const CallContext& context, Callback done);

  // Forgets `token` (HaloPSA answered 401 to it) unless it was already
  // replaced, so the next Get fetches a new one.
  void Invalidate(const HaloConnection& connection, absl::string_view token);

  int64_t token_requests() const { return token_requests_.load(); }
  int64_t cache_hits() const { return cache_hits_.load(); }

 private:
  void Fetch(const CallContext& context, const std::string& key);
  void RequestToken(const CallContext& context, const std::string& key, const TokenEndpoint& endpoint);
  void Complete(const std::string& key, absl::StatusOr<std::pair<std::string, absl::Duration>> result);

  net::HttpTransport& transport_;
  AuthDiscovery& discovery_;
  const TokenCacheOptions options_;
  absl::Mutex mutex_;
  // Tokens by TokenCacheKey, each until its refresh time.
  BoundedTtlMap<std::string, std::string> tokens_ ABSL_GUARDED_BY(mutex_);
  // Callers waiting for the token request in flight of a key: as many as
  // the calls under way, which admission bounds.
  absl::flat_hash_map<std::string, std::vector<Callback>> fetching_ ABSL_GUARDED_BY(mutex_);
  std::atomic<int64_t> token_requests_{0};
  std::atomic<int64_t> cache_hits_{0};
};

// The cache key of a connection; the secret enters only as a SHA-256
// fingerprint so the key itself is not a secret.
std::string TokenCacheKey(const HaloConnection& connection);

}  // namespace halopsa

#endif  // HALOPSA_ADAPTERS_HALOPSA_TOKEN_CACHE_H_

#ifndef HALOPSA_ADAPTERS_HALOPSA_AUTH_DISCOVERY_H_
#define HALOPSA_ADAPTERS_HALOPSA_AUTH_DISCOVERY_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "adapters/net/http_transport.h"
#include "server/halo_api.h"

namespace halopsa {

struct AuthDiscoveryOptions {
  // The transport's own rules, applied to a discovered URL before any
  // secret is sent there (the transport also refuses private addresses
  // when it connects, as for instance_url).
  bool allow_insecure_http = false;
  // Instances remembered; beyond, the memory starts again.
  size_t max_instances = 10000;
  // A tenant whose authinfo does not answer costs a call at most this long
  // (within its deadline) before the fallback is tried.
  absl::Duration timeout = absl::Seconds(5);
};

// Where a connection's tokens are requested.
struct TokenEndpoint {
  std::string url;       // with ?tenant= when there is one
  std::string endpoint;  // the URL's path, for messages and metrics
};

// Finds a tenant's authorisation server as HaloPSA's own clients do.
// Halo-hosted instances issue tokens at a separate server that
// GET {instance_url}/api/authinfo names ({"auth_url", "tenant_id"}): tokens
// come from {auth_url}/token?tenant=<tenant setting, else tenant_id>.
// When authinfo is missing, fails or names a URL the transport would refuse,
// tokens come from {instance_url}/auth/token[?tenant=]. A connection's
// auth_url setting skips discovery. The answer is remembered per instance
// (transport failures are not) until Forget. Thread-safe.
class AuthDiscovery {
 public:
  using Callback = absl::AnyInvocable<void(TokenEndpoint)>;

  AuthDiscovery(net::HttpTransport& transport, AuthDiscoveryOptions options)
      : transport_(transport), options_(options) {}

  // `done` runs inline when nothing must be fetched, else on a transport
  // thread; it always gets an endpoint.
  void Resolve(const CallContext& context, Callback done);

  // The token endpoint refused a request: discover again next time.
  void Forget(const HaloConnection& connection);

  int64_t authinfo_requests() const { return authinfo_requests_.load(); }

 private:
  // What authinfo said; an empty auth_url means "self-hosted".
  struct Discovered {
    std::string auth_url;
    std::string tenant_id;
  };

  void Remember(const std::string& instance_url, const Discovered& discovered);
  // Why a discovered auth_url may not receive the credentials, if it may not.
  absl::Status CheckAuthUrl(absl::string_view auth_url) const;
  Discovered ReadAuthInfo(const net::HttpResponse& response) const;

  net::HttpTransport& transport_;
  const AuthDiscoveryOptions options_;
  absl::Mutex mutex_;
  absl::flat_hash_map<std::string, Discovered> by_instance_ ABSL_GUARDED_BY(mutex_);
  std::atomic<int64_t> authinfo_requests_{0};
};

}  // namespace halopsa

#endif  // HALOPSA_ADAPTERS_HALOPSA_AUTH_DISCOVERY_H_

#ifndef HALOPSA_ADAPTERS_LIMACHARLIE_HIVE_SECRETS_H_
#define HALOPSA_ADAPTERS_LIMACHARLIE_HIVE_SECRETS_H_

#include <cstddef>
#include <optional>
#include <string>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "adapters/net/http_transport.h"
#include "server/bounded_ttl_map.h"

namespace halopsa::lc {

// Reads hive://secret/NAME references from LimaCharlie's hive with the
// org's jwt and caches them per (oid, NAME) until HaloPSA refuses them
// (Forget), at most max_entries, least recently used evicted.
// Secret values are never logged nor put in error messages. Thread-safe.
class HiveSecrets {
 public:
  using Callback = absl::AnyInvocable<void(absl::StatusOr<std::string>)>;

  // `lc_api_url`: e.g. "https://api.limacharlie.io" (no trailing slash needed).
  HiveSecrets(net::HttpTransport& lc_api, absl::string_view lc_api_url, size_t max_entries);

  // The secret, from the cache or from GET {lc_api_url}/v1/hive/secret/
  // {oid}/{name}/data (`Authorization: Bearer {jwt}`, secret = data.secret,
  // surrounding whitespace dropped). `done` runs exactly once: inline on a
  // cache hit, else on a transport thread. Errors name the secret, not its
  // value: LimaCharlie's HTTP answers map by FromLimaCharlieHttpStatus,
  // transport failures keep their code.
  void Resolve(const std::string& oid, const std::string& jwt, const std::string& name, absl::Time deadline,
               Callback done);

  // Drops the cached value (HaloPSA refused it; it may have been rotated).
  void Forget(const std::string& oid, const std::string& name);

  size_t cached() const;

 private:
  using Key = std::pair<std::string, std::string>;  // (oid, name)

  std::optional<std::string> Lookup(const Key& key);
  void Store(const Key& key, std::string secret);

  net::HttpTransport& lc_api_;
  const std::string lc_api_url_;

  mutable absl::Mutex mu_;
  BoundedTtlMap<Key, std::string> secrets_ ABSL_GUARDED_BY(mu_);
};

}  // namespace halopsa::lc

#endif  // HALOPSA_ADAPTERS_LIMACHARLIE_HIVE_SECRETS_H_

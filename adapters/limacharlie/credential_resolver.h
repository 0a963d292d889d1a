#ifndef HALOPSA_ADAPTERS_LIMACHARLIE_CREDENTIAL_RESOLVER_H_
#define HALOPSA_ADAPTERS_LIMACHARLIE_CREDENTIAL_RESOLVER_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "adapters/limacharlie/envelope.h"
#include "adapters/limacharlie/hive_secrets.h"
#include "adapters/limacharlie/org_config.h"
#include "server/service_calls.h"

namespace halopsa::lc {

// An org's configured HaloPSA connection as the x-halopsa-* metadata of a
// call: literal settings as they are, hive://secret/NAME settings read
// from LimaCharlie's hive (through HiveSecrets and its cache) with the
// org's jwt. Thread-safe.
class CredentialResolver {
 public:
  using Settings = std::shared_ptr<const std::vector<ConnectionSetting>>;
  using Callback = absl::AnyInvocable<void(absl::StatusOr<ServiceCalls::Metadata>)>;

  // `secrets` must outlive every Resolve.
  explicit CredentialResolver(HiveSecrets& secrets) : secrets_(secrets) {}

  // The settings' metadata, in their order, reading hive secrets one after
  // another by `deadline`. A secret that cannot be read, or whose value
  // cannot be sent, fails naming its config field (never the value).
  // `done` runs exactly once: inline when nothing is read, else on a
  // transport thread.
  void Resolve(const Org& org, Settings settings, absl::Time deadline, Callback done);

  // Forgets the cached hive secrets of `settings` for `oid` (HaloPSA refused
  // them: they may have been rotated). False when none came from the hive.
  bool ForgetHiveSecrets(const std::string& oid, const std::vector<ConnectionSetting>& settings);

 private:
  void ResolveFrom(const Org& org, Settings settings, size_t index, ServiceCalls::Metadata metadata,
                   absl::Time deadline, Callback done);

  HiveSecrets& secrets_;
};

}  // namespace halopsa::lc

#endif  // HALOPSA_ADAPTERS_LIMACHARLIE_CREDENTIAL_RESOLVER_H_

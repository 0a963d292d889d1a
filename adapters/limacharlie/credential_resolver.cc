#include "adapters/limacharlie/credential_resolver.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace halopsa::lc {

void CredentialResolver::Resolve(const Org& org, Settings settings, absl::Time deadline, Callback done) {
  ResolveFrom(org, std::move(settings), 0, {}, deadline, std::move(done));
}

// Metadata for settings[index...], after `metadata` for the ones before.
void CredentialResolver::ResolveFrom(const Org& org, Settings settings, size_t index, ServiceCalls::Metadata metadata,
                                     absl::Time deadline, Callback done) {
  for (; index < settings->size(); ++index) {
    const ConnectionSetting& setting = (*settings)[index];
    if (setting.hive_secret.empty()) {
      metadata.emplace_back(setting.field->metadata_key, setting.value);
      continue;
    }
    secrets_.Resolve(org.oid, org.jwt, setting.hive_secret, deadline,
                     [this, org, settings, index, metadata = std::move(metadata), deadline,
                      done = std::move(done)](absl::StatusOr<std::string> secret) mutable {
                       const ConnectionSetting& setting = (*settings)[index];
                       if (!secret.ok()) {
                         return done(absl::Status(
                             secret.status().code(),
                             absl::StrCat("config.", setting.field->name, ": cannot read ", kHiveSecretPrefix,
                                          setting.hive_secret, ": ", secret.status().message())));
                       }
                       if (absl::Status status = CheckSettingValue(*setting.field, *secret); !status.ok()) {
                         return done(status);
                       }
                       metadata.emplace_back(setting.field->metadata_key, *std::move(secret));
                       ResolveFrom(org, std::move(settings), index + 1, std::move(metadata), deadline,
                                   std::move(done));
                     });
    return;
  }
  done(std::move(metadata));
}

bool CredentialResolver::ForgetHiveSecrets(const std::string& oid, const std::vector<ConnectionSetting>& settings) {
  bool forgot = false;
  for (const ConnectionSetting& setting : settings) {
    if (setting.hive_secret.empty()) continue;
    secrets_.Forget(oid, setting.hive_secret);
    forgot = true;
  }
  return forgot;
}

}  // namespace halopsa::lc

#include "adapters/limacharlie/hive_secrets.h"

#include <rapidjson/document.h>

#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "adapters/limacharlie/json_util.h"
#include "adapters/limacharlie/lc_errors.h"
#include "adapters/net/url.h"
#include "server/error_mapping.h"

namespace halopsa::lc {
namespace {

// data.secret of a hive record.
absl::StatusOr<std::string> SecretOf(absl::string_view body, absl::string_view name) {
  JsonDocument parsed;
  rapidjson::Document& document = parsed.get();
  if (ParseJson(body, document).ok() && document.IsObject()) {
    auto data = document.FindMember("data");
    if (data != document.MemberEnd() && data->value.IsObject()) {
      auto secret = data->value.FindMember("secret");
      if (secret != data->value.MemberEnd() && secret->value.IsString()) {
        absl::string_view value = absl::StripAsciiWhitespace(View(secret->value));
        if (value.empty()) {
          return absl::FailedPreconditionError(absl::StrCat("LimaCharlie hive secret ", name, " is empty"));
        }
        return std::string(value);
      }
    }
  }
  return absl::FailedPreconditionError(
      absl::StrCat("LimaCharlie hive record secret/", name, " has no data.secret string"));
}

}  // namespace

HiveSecrets::HiveSecrets(net::HttpTransport& lc_api, absl::string_view lc_api_url, size_t max_entries)
    : lc_api_(lc_api), lc_api_url_(absl::StripSuffix(lc_api_url, "/")), secrets_({.max_entries = max_entries}) {}

void HiveSecrets::Resolve(const std::string& oid, const std::string& jwt, const std::string& name, absl::Time deadline,
                          Callback done) {
  Key key(oid, name);
  if (std::optional<std::string> cached = Lookup(key)) {
    done(*std::move(cached));
    return;
  }
  const std::string path =
      absl::StrCat("/v1/hive/secret/", net::PercentEncode(oid), "/", net::PercentEncode(name), "/data");
  net::HttpRequest request;
  request.method = "GET";
  request.url = absl::StrCat(lc_api_url_, path);
  request.headers = {{"Authorization", absl::StrCat("Bearer ", jwt)}, {"Accept", "application/json"}};
  lc_api_.Send(
      std::move(request), deadline,
      [this, key = std::move(key), path, done = std::move(done)](absl::StatusOr<net::HttpResponse> response) mutable {
        if (!response.ok()) {
          done(absl::Status(response.status().code(),
                            absl::StrCat("LimaCharlie ", path, ": ", response.status().message())));
          return;
        }
        if (response->status / 100 != 2) {
          done(FromLimaCharlieHttpStatus(response->status, path, response->body));
          return;
        }
        absl::StatusOr<std::string> secret = SecretOf(response->body, key.second);
        if (secret.ok()) Store(key, *secret);
        done(std::move(secret));
      });
}

std::optional<std::string> HiveSecrets::Lookup(const Key& key) {
  absl::MutexLock lock(&mu_);
  const std::string* secret = secrets_.Find(key, absl::Now());
  if (secret == nullptr) return std::nullopt;
  return *secret;
}

void HiveSecrets::Store(const Key& key, std::string secret) {
  absl::MutexLock lock(&mu_);
  secrets_.Put(key, std::move(secret), absl::Now(), absl::InfiniteDuration());
}

void HiveSecrets::Forget(const std::string& oid, const std::string& name) {
  absl::MutexLock lock(&mu_);
  secrets_.Erase(Key(oid, name));
}

size_t HiveSecrets::cached() const {
  absl::MutexLock lock(&mu_);
  return secrets_.size();
}

}  // namespace halopsa::lc

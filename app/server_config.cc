#include "app/server_config.h"

#include <fstream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "adapters/net/url.h"
#include "adapters/redis/redis_url.h"

namespace halopsa {
namespace {

// Collects what is wrong with a configuration, each problem naming its
// setting, so that an operator fixes them all in one go.
class Problems {
 public:
  // "HALOPSA_X / --x <rule>".
  void Add(absl::string_view flag, absl::string_view rule) {
    messages_.push_back(absl::StrCat(SettingName(flag), " ", rule));
  }
  void AtLeast(absl::string_view flag, int64_t value, int64_t minimum) {
    if (value < minimum) Add(flag, absl::StrCat("must be at least ", minimum, ", not ", value));
  }
  void Positive(absl::string_view flag, absl::Duration value) {
    if (value <= absl::ZeroDuration()) Add(flag, absl::StrCat("must be more than 0, not ", absl::FormatDuration(value)));
  }
  void PositiveAndFinite(absl::string_view flag, absl::Duration value) {
    Positive(flag, value);
    if (value == absl::InfiniteDuration()) Add(flag, "must be finite");
  }
  void NotNegative(absl::string_view flag, absl::Duration value) {
    if (value < absl::ZeroDuration()) Add(flag, absl::StrCat("must not be negative, not ", absl::FormatDuration(value)));
  }
  // An absolute http(s) URL; never quoted (it may carry credentials).
  // Whether http:// is allowed is the transport's rule, applied per request.
  void Url(absl::string_view flag, absl::string_view url) {
    absl::StatusOr<net::Url> parsed = net::ParseUrl(url);
    if (!parsed.ok()) Add(flag, absl::StrCat("is not a usable URL: ", parsed.status().message()));
  }
  void Message(std::string message) { messages_.push_back(std::move(message)); }

  absl::Status Result() const {
    if (messages_.empty()) return absl::OkStatus();
    return absl::InvalidArgumentError(absl::StrJoin(messages_, "; "));
  }

 private:
  std::vector<std::string> messages_;
};

void CheckGrpcListener(const ServerConfig& c, Problems& problems) {
  if (c.grpc_listen.empty()) problems.Add("grpc_listen", "must name an address:port");
  const bool has_cert = !c.grpc_tls_cert_file.empty();
  if (has_cert != !c.grpc_tls_key_file.empty()) {
    problems.Add("grpc_tls_cert_file", absl::StrCat("and ", SettingName("grpc_tls_key_file"), " go together"));
  }
  if (!has_cert && !c.grpc_plaintext) {
    problems.Message(absl::StrCat("gRPC has no TLS certificate: set ", SettingName("grpc_tls_cert_file"), " and ",
                                  SettingName("grpc_tls_key_file"), ", or ", SettingName("grpc_plaintext"),
                                  " for local use"));
  }
  if (has_cert && c.grpc_plaintext) {
    problems.Add("grpc_plaintext", absl::StrCat("contradicts ", SettingName("grpc_tls_cert_file"), ": set one"));
  }
  if (!has_cert && !c.grpc_client_ca_file.empty()) {
    problems.Add("grpc_client_ca_file",
                 absl::StrCat("needs TLS (", SettingName("grpc_tls_cert_file"), "): plaintext has no mTLS"));
  }
}

void CheckDefaultConnection(const ServerConfig& c, Problems& problems) {
  if (c.default_connection == nullptr) return;
  const HaloConnection& connection = *c.default_connection;
  problems.Url("instance_url", connection.instance_url);
  if (!connection.auth_url.empty()) problems.Url("auth_url", connection.auth_url);
  if (connection.client_id.empty()) problems.Add("instance_url", absl::StrCat("needs ", SettingName("client_id")));
  const bool has_secret = !connection.client_secret.empty();
  const bool has_secret_file = !c.client_secret_file.empty();
  if (has_secret && has_secret_file) {
    problems.Add("client_secret", absl::StrCat("or ", SettingName("client_secret_file"), ": set one, not both"));
  } else if (!has_secret && !has_secret_file) {
    problems.Add("instance_url", absl::StrCat("needs ", SettingName("client_secret"), " or ",
                                              SettingName("client_secret_file")));
  }
  problems.AtLeast("default_outcome_id", connection.default_outcome_id, 0);
}

void CheckUpstream(const ServerConfig& c, Problems& problems) {
  problems.AtLeast("io_threads", c.transport.threads, 1);
  problems.AtLeast("max_connections_per_host", static_cast<int64_t>(c.transport.max_connections_per_host), 1);
  problems.PositiveAndFinite("connect_timeout", c.transport.connect_timeout);
  problems.PositiveAndFinite("io_timeout", c.transport.io_timeout);
  problems.Positive("default_deadline", c.default_deadline);
  problems.AtLeast("rate_limit_requests", c.rate_limit.max_requests, 0);
  problems.Positive("rate_limit_window", c.rate_limit.window);
  problems.AtLeast("rate_limit_org_queue", static_cast<int64_t>(c.rate_limit.max_waiting_per_org), 1);
  problems.AtLeast("max_upstream_attempts", c.retry.max_attempts, 1);
  problems.Positive("max_backoff", c.retry.max_backoff);
  problems.AtLeast("max_calls_in_flight", static_cast<int64_t>(c.max_calls_in_flight), 1);
  problems.NotNegative("shutdown_grace", c.shutdown_grace);
}

void CheckGateway(const ServerConfig& c, Problems& problems) {
  problems.AtLeast("gateway_max_connections", static_cast<int64_t>(c.gateway_max_connections), 1);
  problems.AtLeast("gateway_max_connections_per_source", static_cast<int64_t>(c.gateway_max_connections_per_source),
                   1);
  problems.Positive("connection_idle_timeout", c.connection_idle_timeout);
  if (c.gateway.call_deadline <= absl::ZeroDuration() || c.gateway.call_deadline > kMaxGatewayCallDeadline) {
    problems.Add("gateway_budget_wait",
                 absl::StrCat("must be more than 0 and at most ", absl::FormatDuration(kMaxGatewayCallDeadline),
                              " (LimaCharlie waits about 2 minutes), not ",
                              absl::FormatDuration(c.gateway.call_deadline)));
  }
  problems.AtLeast("gateway_reply_cache_max_entries", static_cast<int64_t>(c.gateway.idempotency_max_entries), 1);
  problems.AtLeast("gateway_reply_cache_max_bytes", static_cast<int64_t>(c.gateway.idempotency_max_bytes), 1);
  problems.Url("lc_api_url", c.gateway.lc_api_url);
  const bool has_secret = !c.gateway.signing_secret.empty();
  const bool has_secret_file = !c.lc_extension_secret_file.empty();
  if (has_secret && has_secret_file) {
    problems.Add("lc_extension_secret",
                 absl::StrCat("or ", SettingName("lc_extension_secret_file"), ": set one, not both"));
  } else if (!c.gateway_listen.empty() && !has_secret && !has_secret_file) {
    problems.Add("gateway_listen", absl::StrCat("(the webhook gateway) needs ", SettingName("lc_extension_secret"),
                                                " or ", SettingName("lc_extension_secret_file")));
  }
}

void CheckSharedState(const ServerConfig& c, Problems& problems) {
  if (!c.redis_url.empty()) {
    absl::StatusOr<redis::RedisEndpoint> endpoint = redis::ParseRedisUrl(c.redis_url, SettingName("redis_url"));
    if (!endpoint.ok()) problems.Message(std::string(endpoint.status().message()));
  }
  problems.Positive("redis_timeout", c.redis_timeout);
  problems.NotNegative("redis_unready_after", c.redis_unready_after);
}

// The content of a secret file, without the line break editors and
// `kubectl create secret --from-file` leave.
absl::StatusOr<std::string> ReadSecretFile(const std::string& path, absl::string_view flag) {
  std::ifstream in(path);
  if (!in) return absl::InvalidArgumentError(absl::StrCat("cannot read ", SettingName(flag), " ", path));
  std::stringstream content;
  content << in.rdbuf();
  return std::string(absl::StripTrailingAsciiWhitespace(content.str()));
}

absl::Status EmptySecretFile(absl::string_view flag, absl::string_view path) {
  return absl::InvalidArgumentError(absl::StrCat(SettingName(flag), " ", path, " is empty"));
}

}  // namespace

std::string EnvironmentVariableOf(absl::string_view flag) {
  const std::string upper = absl::AsciiStrToUpper(flag);
  return absl::StartsWith(flag, "lc_") ? upper : absl::StrCat("HALOPSA_", upper);
}

std::string SettingName(absl::string_view flag) { return absl::StrCat(EnvironmentVariableOf(flag), " / --", flag); }

absl::Status ValidateConfig(const ServerConfig& config) {
  Problems problems;
  CheckGrpcListener(config, problems);
  CheckDefaultConnection(config, problems);
  CheckUpstream(config, problems);
  CheckGateway(config, problems);
  CheckSharedState(config, problems);
  return problems.Result();
}

absl::Status ReadSecretFiles(ServerConfig& config) {
  if (config.default_connection != nullptr && !config.client_secret_file.empty()) {
    absl::StatusOr<std::string> secret = ReadSecretFile(config.client_secret_file, "client_secret_file");
    if (!secret.ok()) return secret.status();
    if (secret->empty()) return EmptySecretFile("client_secret_file", config.client_secret_file);
    auto connection = std::make_shared<HaloConnection>(*config.default_connection);
    connection->client_secret = *std::move(secret);
    config.default_connection = std::move(connection);
  }
  if (!config.lc_extension_secret_file.empty()) {
    absl::StatusOr<std::string> secret = ReadSecretFile(config.lc_extension_secret_file, "lc_extension_secret_file");
    if (!secret.ok()) return secret.status();
    if (secret->empty() && !config.gateway_listen.empty()) {
      return EmptySecretFile("lc_extension_secret_file", config.lc_extension_secret_file);
    }
    config.gateway.signing_secret = *std::move(secret);
  }
  return absl::OkStatus();
}

}  // namespace halopsa

#include "app/server_config.h"

#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"

namespace halopsa {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

// What the defaults become with plaintext gRPC and a webhook signing key:
// a configuration halopsa-server starts with.
ServerConfig ValidConfig() {
  ServerConfig config;
  config.grpc_plaintext = true;
  config.gateway_listen = "127.0.0.1:0";
  config.gateway.signing_secret = "signing-key";
  return config;
}

std::shared_ptr<HaloConnection> Connection() {
  auto connection = std::make_shared<HaloConnection>();
  connection->instance_url = "https://acme.halopsa.com";
  connection->client_id = "client";
  connection->client_secret = "client-secret";
  return connection;
}

TEST(ValidateConfigTest, AcceptsTheDefaultsWithPlaintextAndASigningKey) {
  EXPECT_TRUE(ValidateConfig(ValidConfig()).ok()) << ValidateConfig(ValidConfig());
}

TEST(ValidateConfigTest, AcceptsACompleteDefaultConnection) {
  ServerConfig config = ValidConfig();
  config.default_connection = Connection();
  EXPECT_TRUE(ValidateConfig(config).ok()) << ValidateConfig(config);
}

// A change to an otherwise complete default connection.
std::function<void(ServerConfig&)> WithConnection(std::function<void(HaloConnection&)> change) {
  return [change](ServerConfig& c) {
    auto connection = Connection();
    change(*connection);
    c.default_connection = connection;
  };
}

struct BadSetting {
  std::string name;
  std::function<void(ServerConfig&)> change;
  std::string message;  // the whole problem, setting named first
};

std::string NameOf(const ::testing::TestParamInfo<BadSetting>& info) { return info.param.name; }

class ValidateConfigRefusesTest : public ::testing::TestWithParam<BadSetting> {};

TEST_P(ValidateConfigRefusesTest, NamesTheSetting) {
  ServerConfig config = ValidConfig();
  GetParam().change(config);
  absl::Status status = ValidateConfig(config);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(), GetParam().message);
}

// Counts that were raised to their minimum without a word before.
INSTANTIATE_TEST_SUITE_P(
    FormerlyClamped, ValidateConfigRefusesTest,
    ::testing::Values(
        BadSetting{"max_calls_in_flight", [](ServerConfig& c) { c.max_calls_in_flight = 0; },
                   "HALOPSA_MAX_CALLS_IN_FLIGHT / --max_calls_in_flight must be at least 1, not 0"},
        BadSetting{"gateway_max_connections", [](ServerConfig& c) { c.gateway_max_connections = 0; },
                   "HALOPSA_GATEWAY_MAX_CONNECTIONS / --gateway_max_connections must be at least 1, not 0"},
        BadSetting{"gateway_max_connections_per_source",
                   [](ServerConfig& c) { c.gateway_max_connections_per_source = 0; },
                   "HALOPSA_GATEWAY_MAX_CONNECTIONS_PER_SOURCE / --gateway_max_connections_per_source must be at "
                   "least 1, not 0"},
        BadSetting{"rate_limit_org_queue", [](ServerConfig& c) { c.rate_limit.max_waiting_per_org = 0; },
                   "HALOPSA_RATE_LIMIT_ORG_QUEUE / --rate_limit_org_queue must be at least 1, not 0"}),
    NameOf);

INSTANTIATE_TEST_SUITE_P(
    Upstream, ValidateConfigRefusesTest,
    ::testing::Values(
        BadSetting{"io_threads", [](ServerConfig& c) { c.transport.threads = 0; },
                   "HALOPSA_IO_THREADS / --io_threads must be at least 1, not 0"},
        BadSetting{"max_connections_per_host", [](ServerConfig& c) { c.transport.max_connections_per_host = 0; },
                   "HALOPSA_MAX_CONNECTIONS_PER_HOST / --max_connections_per_host must be at least 1, not 0"},
        BadSetting{"connect_timeout", [](ServerConfig& c) { c.transport.connect_timeout = absl::InfiniteDuration(); },
                   "HALOPSA_CONNECT_TIMEOUT / --connect_timeout must be finite"},
        BadSetting{"io_timeout", [](ServerConfig& c) { c.transport.io_timeout = absl::ZeroDuration(); },
                   "HALOPSA_IO_TIMEOUT / --io_timeout must be more than 0, not 0"},
        BadSetting{"default_deadline", [](ServerConfig& c) { c.default_deadline = -absl::Seconds(1); },
                   "HALOPSA_DEFAULT_DEADLINE / --default_deadline must be more than 0, not -1s"},
        BadSetting{"rate_limit_requests", [](ServerConfig& c) { c.rate_limit.max_requests = -1; },
                   "HALOPSA_RATE_LIMIT_REQUESTS / --rate_limit_requests must be at least 0, not -1"},
        BadSetting{"rate_limit_window", [](ServerConfig& c) { c.rate_limit.window = absl::ZeroDuration(); },
                   "HALOPSA_RATE_LIMIT_WINDOW / --rate_limit_window must be more than 0, not 0"},
        BadSetting{"max_upstream_attempts", [](ServerConfig& c) { c.retry.max_attempts = 0; },
                   "HALOPSA_MAX_UPSTREAM_ATTEMPTS / --max_upstream_attempts must be at least 1, not 0"},
        BadSetting{"max_backoff", [](ServerConfig& c) { c.retry.max_backoff = absl::ZeroDuration(); },
                   "HALOPSA_MAX_BACKOFF / --max_backoff must be more than 0, not 0"},
        BadSetting{"shutdown_grace", [](ServerConfig& c) { c.shutdown_grace = -absl::Seconds(2); },
                   "HALOPSA_SHUTDOWN_GRACE / --shutdown_grace must not be negative, not -2s"}),
    NameOf);

INSTANTIATE_TEST_SUITE_P(
    DefaultConnection, ValidateConfigRefusesTest,
    ::testing::Values(
        BadSetting{"no_client_id",
                   WithConnection([](HaloConnection& h) { h.client_id.clear(); }),
                   "HALOPSA_INSTANCE_URL / --instance_url needs HALOPSA_CLIENT_ID / --client_id"},
        BadSetting{"no_secret",
                   WithConnection([](HaloConnection& h) { h.client_secret.clear(); }),
                   "HALOPSA_INSTANCE_URL / --instance_url needs HALOPSA_CLIENT_SECRET / --client_secret or "
                   "HALOPSA_CLIENT_SECRET_FILE / --client_secret_file"},
        BadSetting{"secret_and_file",
                   [](ServerConfig& c) {
                     c.default_connection = Connection();
                     c.client_secret_file = "/run/secrets/halopsa";
                   },
                   "HALOPSA_CLIENT_SECRET / --client_secret or HALOPSA_CLIENT_SECRET_FILE / --client_secret_file: "
                   "set one, not both"},
        BadSetting{"instance_url_without_scheme",
                   WithConnection([](HaloConnection& h) { h.instance_url = "acme.halopsa.com"; }),
                   "HALOPSA_INSTANCE_URL / --instance_url is not a usable URL: URL must start with http:// or "
                   "https://"},
        BadSetting{"auth_url",
                   WithConnection([](HaloConnection& h) { h.auth_url = "ftp://auth.example"; }),
                   "HALOPSA_AUTH_URL / --auth_url is not a usable URL: URL scheme must be http or https"},
        BadSetting{"default_outcome_id",
                   WithConnection([](HaloConnection& h) { h.default_outcome_id = -4; }),
                   "HALOPSA_DEFAULT_OUTCOME_ID / --default_outcome_id must be at least 0, not -4"}),
    NameOf);

INSTANTIATE_TEST_SUITE_P(
    GrpcListener, ValidateConfigRefusesTest,
    ::testing::Values(
        BadSetting{"no_listen", [](ServerConfig& c) { c.grpc_listen.clear(); },
                   "HALOPSA_GRPC_LISTEN / --grpc_listen must name an address:port"},
        BadSetting{"neither_tls_nor_plaintext", [](ServerConfig& c) { c.grpc_plaintext = false; },
                   "gRPC has no TLS certificate: set HALOPSA_GRPC_TLS_CERT_FILE / --grpc_tls_cert_file and "
                   "HALOPSA_GRPC_TLS_KEY_FILE / --grpc_tls_key_file, or HALOPSA_GRPC_PLAINTEXT / --grpc_plaintext "
                   "for local use"},
        BadSetting{"cert_without_key",
                   [](ServerConfig& c) {
                     c.grpc_plaintext = false;
                     c.grpc_tls_cert_file = "server.pem";
                   },
                   "HALOPSA_GRPC_TLS_CERT_FILE / --grpc_tls_cert_file and HALOPSA_GRPC_TLS_KEY_FILE / "
                   "--grpc_tls_key_file go together"},
        BadSetting{"plaintext_and_tls",
                   [](ServerConfig& c) {
                     c.grpc_tls_cert_file = "server.pem";
                     c.grpc_tls_key_file = "server.key";
                   },
                   "HALOPSA_GRPC_PLAINTEXT / --grpc_plaintext contradicts HALOPSA_GRPC_TLS_CERT_FILE / "
                   "--grpc_tls_cert_file: set one"},
        BadSetting{"client_ca_without_tls", [](ServerConfig& c) { c.grpc_client_ca_file = "ca.pem"; },
                   "HALOPSA_GRPC_CLIENT_CA_FILE / --grpc_client_ca_file needs TLS (HALOPSA_GRPC_TLS_CERT_FILE / "
                   "--grpc_tls_cert_file): plaintext has no mTLS"}),
    NameOf);

INSTANTIATE_TEST_SUITE_P(
    Gateway, ValidateConfigRefusesTest,
    ::testing::Values(
        BadSetting{"no_signing_key", [](ServerConfig& c) { c.gateway.signing_secret.clear(); },
                   "HALOPSA_GATEWAY_LISTEN / --gateway_listen (the webhook gateway) needs LC_EXTENSION_SECRET / "
                   "--lc_extension_secret or LC_EXTENSION_SECRET_FILE / --lc_extension_secret_file"},
        BadSetting{"signing_key_and_file", [](ServerConfig& c) { c.lc_extension_secret_file = "/run/secrets/lc"; },
                   "LC_EXTENSION_SECRET / --lc_extension_secret or LC_EXTENSION_SECRET_FILE / "
                   "--lc_extension_secret_file: set one, not both"},
        BadSetting{"call_deadline_zero", [](ServerConfig& c) { c.gateway.call_deadline = absl::ZeroDuration(); },
                   "HALOPSA_GATEWAY_BUDGET_WAIT / --gateway_budget_wait must be more than 0 and at most 1m55s "
                   "(LimaCharlie waits about 2 minutes), not 0"},
        BadSetting{"call_deadline_beyond_limacharlie",
                   [](ServerConfig& c) { c.gateway.call_deadline = absl::Minutes(3); },
                   "HALOPSA_GATEWAY_BUDGET_WAIT / --gateway_budget_wait must be more than 0 and at most 1m55s "
                   "(LimaCharlie waits about 2 minutes), not 3m"},
        BadSetting{"reply_cache_entries", [](ServerConfig& c) { c.gateway.idempotency_max_entries = 0; },
                   "HALOPSA_GATEWAY_REPLY_CACHE_MAX_ENTRIES / --gateway_reply_cache_max_entries must be at least 1, "
                   "not 0"},
        BadSetting{"reply_cache_bytes", [](ServerConfig& c) { c.gateway.idempotency_max_bytes = 0; },
                   "HALOPSA_GATEWAY_REPLY_CACHE_MAX_BYTES / --gateway_reply_cache_max_bytes must be at least 1, "
                   "not 0"},
        BadSetting{"idle_timeout", [](ServerConfig& c) { c.connection_idle_timeout = absl::ZeroDuration(); },
                   "HALOPSA_CONNECTION_IDLE_TIMEOUT / --connection_idle_timeout must be more than 0, not 0"},
        BadSetting{"lc_api_url", [](ServerConfig& c) { c.gateway.lc_api_url = "api.limacharlie.io"; },
                   "LC_API_URL / --lc_api_url is not a usable URL: URL must start with http:// or https://"}),
    NameOf);

INSTANTIATE_TEST_SUITE_P(
    SharedState, ValidateConfigRefusesTest,
    ::testing::Values(BadSetting{"redis_url", [](ServerConfig& c) { c.redis_url = "http://redis:6379"; },
                                 "HALOPSA_REDIS_URL / --redis_url: must start with redis:// or unix://"},
                      BadSetting{"redis_timeout", [](ServerConfig& c) { c.redis_timeout = absl::ZeroDuration(); },
                                 "HALOPSA_REDIS_TIMEOUT / --redis_timeout must be more than 0, not 0"},
                      BadSetting{"redis_unready_after",
                                 [](ServerConfig& c) { c.redis_unready_after = -absl::Seconds(1); },
                                 "HALOPSA_REDIS_UNREADY_AFTER / --redis_unready_after must not be negative, not "
                                 "-1s"}),
    NameOf);

TEST(ValidateConfigTest, ReportsEveryProblemAtOnce) {
  ServerConfig config = ValidConfig();
  config.max_calls_in_flight = 0;
  config.transport.threads = 0;
  absl::Status status = ValidateConfig(config);
  EXPECT_THAT(status.message(), AllOf(HasSubstr("HALOPSA_MAX_CALLS_IN_FLIGHT"), HasSubstr("; "),
                                      HasSubstr("HALOPSA_IO_THREADS")));
}

TEST(ValidateConfigTest, NeverQuotesSecretsOrUrls) {
  ServerConfig config = ValidConfig();
  auto connection = Connection();
  connection->instance_url = "https://user:hunter2@acme.halopsa.com";
  connection->client_id.clear();
  config.default_connection = connection;
  config.lc_extension_secret_file = "/run/secrets/lc";
  config.redis_url = "redis://:redis-password@redis:6379/x";
  absl::Status status = ValidateConfig(config);
  ASSERT_FALSE(status.ok());
  EXPECT_THAT(status.message(), AllOf(HasSubstr("HALOPSA_INSTANCE_URL"), HasSubstr("HALOPSA_REDIS_URL"),
                                      Not(HasSubstr("hunter2")), Not(HasSubstr("client-secret")),
                                      Not(HasSubstr("signing-key")), Not(HasSubstr("redis-password"))));
}

TEST(ValidateConfigTest, SettingsOfAnAbsentPartAreNotRequired) {
  ServerConfig config = ValidConfig();
  config.gateway_listen.clear();
  config.gateway.signing_secret.clear();  // no gateway: no signing key needed
  config.client_secret_file = "/run/secrets/halopsa";  // no default connection: not read
  EXPECT_TRUE(ValidateConfig(config).ok()) << ValidateConfig(config);
}

TEST(EnvironmentVariableOfTest, LimaCharlieSettingsKeepLimaCharliesNames) {
  EXPECT_EQ(EnvironmentVariableOf("max_calls_in_flight"), "HALOPSA_MAX_CALLS_IN_FLIGHT");
  EXPECT_EQ(EnvironmentVariableOf("lc_extension_secret_file"), "LC_EXTENSION_SECRET_FILE");
  EXPECT_EQ(SettingName("io_threads"), "HALOPSA_IO_THREADS / --io_threads");
}

class ReadSecretFilesTest : public ::testing::Test {
 protected:
  std::string WriteFile(const std::string& name, const std::string& content) {
    const std::string path = absl::StrCat(::testing::TempDir(), "/read_secret_files_", name);
    std::FILE* file = std::fopen(path.c_str(), "w");
    std::fputs(content.c_str(), file);
    std::fclose(file);
    return path;
  }

  // A default connection whose secret is in a file holding `content`.
  ServerConfig WithClientSecretFile(const std::string& name, const std::string& content) {
    ServerConfig config = ValidConfig();
    config.default_connection = connection_;
    config.client_secret_file = WriteFile(name, content);
    return config;
  }

  std::shared_ptr<HaloConnection> connection_ = [] {
    auto connection = Connection();
    connection->client_secret.clear();
    return connection;
  }();
};

TEST_F(ReadSecretFilesTest, ReadsBothSecretsWithoutTheTrailingLineBreak) {
  ServerConfig config = WithClientSecretFile("client", "from-file\n");
  config.gateway.signing_secret.clear();
  config.lc_extension_secret_file = WriteFile("lc", "signing-from-file\n");
  ASSERT_TRUE(ReadSecretFiles(config).ok());
  EXPECT_EQ(config.default_connection->client_secret, "from-file");
  EXPECT_EQ(config.gateway.signing_secret, "signing-from-file");
  EXPECT_EQ(connection_->client_secret, "");  // the caller's connection is left alone
}

TEST_F(ReadSecretFilesTest, AnUnreadableFileIsNamed) {
  ServerConfig config = ValidConfig();
  config.gateway.signing_secret.clear();
  config.lc_extension_secret_file = ::testing::TempDir() + "/no-such-secret";
  absl::Status status = ReadSecretFiles(config);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("cannot read LC_EXTENSION_SECRET_FILE / --lc_extension_secret_file"));
}

TEST_F(ReadSecretFilesTest, AnEmptySecretIsRefusedWhereItIsNeeded) {
  ServerConfig config = WithClientSecretFile("empty", "\n");
  absl::Status status = ReadSecretFiles(config);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("HALOPSA_CLIENT_SECRET_FILE / --client_secret_file"));
  EXPECT_THAT(status.message(), HasSubstr("is empty"));
}

TEST_F(ReadSecretFilesTest, TheClientSecretFileIsIgnoredWithoutADefaultConnection) {
  ServerConfig config = ValidConfig();
  config.client_secret_file = ::testing::TempDir() + "/no-such-secret";
  EXPECT_TRUE(ReadSecretFiles(config).ok());
  EXPECT_EQ(config.default_connection, nullptr);
}

}  // namespace
}  // namespace halopsa

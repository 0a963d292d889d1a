#include "adapters/limacharlie/credential_resolver.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "tests/adapters/halopsa/mock_http_transport.h"

namespace halopsa::lc {
namespace {

using ::halopsa::testing::MockHttpTransport;
using ::halopsa::testing::RequestTo;
using ::halopsa::testing::Respond;
using ::testing::_;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::Pair;
using ::testing::StartsWith;

constexpr char kHive[] = "https://api.lc.test/v1/hive/secret/org-1/";

CredentialResolver::Settings Settings(const std::map<std::string, std::string>& config) {
  absl::StatusOr<std::vector<ConnectionSetting>> settings = SettingsFromConfig(config);
  EXPECT_TRUE(settings.ok()) << settings.status();
  return std::make_shared<const std::vector<ConnectionSetting>>(settings.value_or(std::vector<ConnectionSetting>{}));
}

class CredentialResolverTest : public ::testing::Test {
 protected:
  // Resolves with the mock transport answering inline, so `done` has run
  // by the time it returns.
  absl::StatusOr<ServiceCalls::Metadata> Resolve(const CredentialResolver::Settings& settings) {
    std::optional<absl::StatusOr<ServiceCalls::Metadata>> result;
    resolver_.Resolve(org_, settings, absl::Now() + absl::Seconds(5),
                      [&result](absl::StatusOr<ServiceCalls::Metadata> metadata) {
                        EXPECT_FALSE(result.has_value()) << "answered twice";
                        result = std::move(metadata);
                      });
    EXPECT_TRUE(result.has_value());
    return result.value_or(absl::InternalError("no answer"));
  }

  ::testing::StrictMock<MockHttpTransport> lc_api_;
  HiveSecrets secrets_{lc_api_, "https://api.lc.test", 10};
  CredentialResolver resolver_{secrets_};
  Org org_{.oid = "org-1", .jwt = "jwt-1", .ident = "analyst@example.com"};
};

TEST_F(CredentialResolverTest, LiteralSettingsAreSentAsTheyAreWithoutAskingTheHive) {
  absl::StatusOr<ServiceCalls::Metadata> metadata = Resolve(Settings(
      {{"instance_url", "https://acme.halopsa.com"}, {"client_id", "cid"}, {"client_secret", "s3"}, {"scope", "all"}}));
  ASSERT_TRUE(metadata.ok()) << metadata.status();
  EXPECT_THAT(*metadata, ElementsAre(Pair("x-halopsa-instance-url", "https://acme.halopsa.com"),
                                     Pair("x-halopsa-client-id", "cid"), Pair("x-halopsa-client-secret", "s3"),
                                     Pair("x-halopsa-scope", "all")));
}

TEST_F(CredentialResolverTest, HiveSecretsAreReadWithTheOrgsJwtAndKeepTheSettingsOrder) {
  EXPECT_CALL(lc_api_, Send(RequestTo("GET", std::string(kHive) + "halo-id/data"), _, _))
      .WillOnce([](net::HttpRequest request, absl::Time, net::HttpTransport::Callback done) {
        EXPECT_THAT(request.headers, Contains(Pair("Authorization", "Bearer jwt-1")));
        done(net::HttpResponse{200, "application/json", R"({"data":{"secret":"id-from-hive"}})"});
      });
  EXPECT_CALL(lc_api_, Send(RequestTo("GET", std::string(kHive) + "halo-secret/data"), _, _))
      .WillOnce(Respond(200, R"({"data":{"secret":"secret-from-hive"}})"));
  absl::StatusOr<ServiceCalls::Metadata> metadata =
      Resolve(Settings({{"instance_url", "https://acme.halopsa.com"},
                        {"client_id", "hive://secret/halo-id"},
                        {"client_secret", "hive://secret/halo-secret"},
                        {"tenant", "acme"}}));
  ASSERT_TRUE(metadata.ok()) << metadata.status();
  EXPECT_THAT(*metadata, ElementsAre(Pair("x-halopsa-instance-url", "https://acme.halopsa.com"),
                                     Pair("x-halopsa-client-id", "id-from-hive"),
                                     Pair("x-halopsa-client-secret", "secret-from-hive"),
                                     Pair("x-halopsa-tenant", "acme")));
}

TEST_F(CredentialResolverTest, AnUnreadableSecretNamesItsConfigField) {
  EXPECT_CALL(lc_api_, Send(_, _, _)).WillOnce(Respond(404, R"({"error":"record not found"})"));
  absl::StatusOr<ServiceCalls::Metadata> metadata = Resolve(Settings(
      {{"instance_url", "https://acme.halopsa.com"}, {"client_id", "cid"}, {"client_secret", "hive://secret/halo"}}));
  EXPECT_EQ(metadata.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(metadata.status().message()), StartsWith("config.client_secret: cannot read hive://secret/halo: "));
  EXPECT_THAT(std::string(metadata.status().message()), HasSubstr("record not found"));
}

TEST_F(CredentialResolverTest, ASecretThatCannotBeSentIsRefusedNamingTheFieldNotTheValue) {
  EXPECT_CALL(lc_api_, Send(_, _, _)).WillOnce(Respond(200, R"({"data":{"secret":"s3cr\u0001t"}})"));
  absl::StatusOr<ServiceCalls::Metadata> metadata = Resolve(Settings(
      {{"instance_url", "https://acme.halopsa.com"}, {"client_id", "cid"}, {"client_secret", "hive://secret/halo"}}));
  EXPECT_EQ(metadata.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(metadata.status().message()), StartsWith("config.client_secret: "));
  EXPECT_THAT(std::string(metadata.status().message()), Not(HasSubstr("s3cr")));
}

TEST_F(CredentialResolverTest, ForgettingHiveSecretsMakesTheNextResolveReadThemAgain) {
  EXPECT_CALL(lc_api_, Send(RequestTo("GET", std::string(kHive) + "halo/data"), _, _))
      .WillOnce(Respond(200, R"({"data":{"secret":"old"}})"))
      .WillOnce(Respond(200, R"({"data":{"secret":"new"}})"));
  CredentialResolver::Settings hive = Settings(
      {{"instance_url", "https://acme.halopsa.com"}, {"client_id", "cid"}, {"client_secret", "hive://secret/halo"}});
  EXPECT_THAT(Resolve(hive).value(), Contains(Pair("x-halopsa-client-secret", "old")));
  EXPECT_THAT(Resolve(hive).value(), Contains(Pair("x-halopsa-client-secret", "old")));  // cached
  EXPECT_TRUE(resolver_.ForgetHiveSecrets("org-1", *hive));
  EXPECT_THAT(Resolve(hive).value(), Contains(Pair("x-halopsa-client-secret", "new")));
}

TEST_F(CredentialResolverTest, LiteralSettingsHaveNothingToForget) {
  EXPECT_FALSE(resolver_.ForgetHiveSecrets(
      "org-1", *Settings({{"instance_url", "https://acme.halopsa.com"}, {"client_id", "c"}, {"client_secret", "s"}})));
}

}  // namespace
}  // namespace halopsa::lc

#include "adapters/limacharlie/org_config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "server/error_mapping.h"

namespace halopsa::lc {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(OrgConfigTest, LiteralSettingsInTableOrderWithTheirMetadata) {
  auto settings = SettingsFromConfig({{"scope", "read:tickets"},
                                      {"client_secret", " s3cret "},
                                      {"client_id", "cid"},
                                      {"instance_url", "https://acme.halopsa.com"},
                                      {"tenant", ""},
                                      {"unrelated", "x"}});
  ASSERT_TRUE(settings.ok()) << settings.status();
  ASSERT_EQ(settings->size(), 4u);  // empty tenant left out
  EXPECT_EQ((*settings)[0].field->metadata_key, "x-halopsa-instance-url");
  EXPECT_EQ((*settings)[0].value, "https://acme.halopsa.com");
  EXPECT_EQ((*settings)[1].field->metadata_key, "x-halopsa-client-id");
  EXPECT_EQ((*settings)[2].field->metadata_key, "x-halopsa-client-secret");
  EXPECT_EQ((*settings)[2].value, "s3cret");
  EXPECT_EQ((*settings)[3].field->metadata_key, "x-halopsa-scope");
  EXPECT_EQ((*settings)[3].value, "read:tickets");
  for (const ConnectionSetting& setting : *settings) EXPECT_EQ(setting.hive_secret, "");
}

TEST(OrgConfigTest, HiveReferencesAreNamedNotUsed) {
  auto settings = SettingsFromConfig({{"instance_url", "https://acme.halopsa.com"},
                                      {"client_id", "hive://secret/halo-id"},
                                      {"client_secret", "hive://secret/halopsa-client-secret"}});
  ASSERT_TRUE(settings.ok()) << settings.status();
  EXPECT_EQ((*settings)[1].hive_secret, "halo-id");
  EXPECT_EQ((*settings)[2].hive_secret, "halopsa-client-secret");
  EXPECT_EQ((*settings)[2].value, "");
}

TEST(OrgConfigTest, MissingRequiredFieldIsNamed) {
  for (const char* missing : {"instance_url", "client_id", "client_secret"}) {
    std::map<std::string, std::string> config = {
        {"instance_url", "https://a"}, {"client_id", "c"}, {"client_secret", "s"}};
    config.erase(missing);
    auto settings = SettingsFromConfig(config);
    ASSERT_FALSE(settings.ok()) << missing;
    EXPECT_EQ(settings.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(settings.status().message(), HasSubstr(std::string("config.") + missing + ": is missing"));
    EXPECT_EQ(GetErrorInfo(settings.status())->metadata().at("field"), std::string("config.") + missing);
  }
}

TEST(OrgConfigTest, EmptyHiveNameIsRefused) {
  auto settings =
      SettingsFromConfig({{"instance_url", "https://a"}, {"client_id", "c"}, {"client_secret", "hive://secret/"}});
  ASSERT_FALSE(settings.ok());
  EXPECT_THAT(settings.status().message(), HasSubstr("config.client_secret: names no hive secret"));
}

TEST(OrgConfigTest, UnsendableValueIsRefusedWithoutQuotingIt) {
  auto settings =
      SettingsFromConfig({{"instance_url", "https://a"}, {"client_id", "c"}, {"client_secret", "top\nsecret-value"}});
  ASSERT_FALSE(settings.ok());
  EXPECT_THAT(settings.status().message(), HasSubstr("config.client_secret: must be printable ASCII"));
  EXPECT_THAT(settings.status().message(), Not(HasSubstr("secret-value")));
}

TEST(OrgConfigTest, OutcomeAuthAndMarkerSettingsTravelAsMetadata) {
  auto settings = SettingsFromConfig({{"instance_url", "https://a"}, {"client_id", "c"}, {"client_secret", "s"},
                                      {"auth_url", "https://auth.haloservicedesk.com/auth"},
                                      {"default_outcome", "Private Note"}, {"default_outcome_id", "21"},
                                      {"idempotency_marker", "off"}});
  ASSERT_TRUE(settings.ok()) << settings.status();
  ASSERT_EQ(settings->size(), 7u);
  EXPECT_EQ((*settings)[3].field->metadata_key, "x-halopsa-auth-url");
  EXPECT_EQ((*settings)[4].field->metadata_key, "x-halopsa-default-outcome");
  EXPECT_EQ((*settings)[5].field->metadata_key, "x-halopsa-default-outcome-id");
  EXPECT_EQ((*settings)[6].field->metadata_key, "x-halopsa-idempotency-marker");
  EXPECT_EQ((*settings)[6].value, "off");
}

TEST(OrgConfigTest, MalformedOutcomeIdOrMarkerIsNamed) {
  std::map<std::string, std::string> base = {{"instance_url", "https://a"}, {"client_id", "c"}, {"client_secret", "s"}};
  auto bad_id = base;
  bad_id["default_outcome_id"] = "Note";
  EXPECT_THAT(SettingsFromConfig(bad_id).status().message(),
              HasSubstr("config.default_outcome_id: must be a positive integer"));
  auto bad_marker = base;
  bad_marker["idempotency_marker"] = "false";
  EXPECT_THAT(SettingsFromConfig(bad_marker).status().message(),
              HasSubstr("config.idempotency_marker: must be one of: on, off"));
}

TEST(OrgConfigTest, OrgIdMetadata) {
  EXPECT_EQ(OrgIdMetadata("o-1"), std::make_pair(std::string("x-halopsa-org-id"), std::string("o-1")));
}

}  // namespace
}  // namespace halopsa::lc

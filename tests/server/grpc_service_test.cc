#include "server/grpc_service.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "server/error_mapping.h"

namespace halopsa {
namespace {

using Metadata = std::multimap<grpc::string_ref, grpc::string_ref>;

class ConnectionForCallTest : public ::testing::Test {
 protected:
  void Add(const char* key, const char* value) { metadata_.emplace(key, value); }

  Metadata metadata_;
  std::shared_ptr<const HaloConnection> default_ = std::make_shared<HaloConnection>(
      HaloConnection{"https://default.halopsa.com", "default-client", "default-secret", "", "all", ""});
};

TEST_F(ConnectionForCallTest, NoMetadataUsesDefault) {
  auto connection = ConnectionForCall(metadata_, default_);
  ASSERT_TRUE(connection.ok());
  EXPECT_EQ(*connection, default_);
}

TEST_F(ConnectionForCallTest, NoMetadataAndNoDefaultIsFailedPrecondition) {
  auto connection = ConnectionForCall(metadata_, nullptr);
  EXPECT_EQ(connection.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(GetErrorInfo(connection.status())->reason(), "NO_HALOPSA_CONNECTION");
}

TEST_F(ConnectionForCallTest, MetadataConnectionOverridesDefault) {
  Add("x-halopsa-instance-url", "https://acme.halopsa.com/");
  Add("x-halopsa-client-id", "acme-id");
  Add("x-halopsa-client-secret", "acme-secret");
  Add("x-halopsa-tenant", "acme");
  Add("x-halopsa-org-id", "org-1");
  auto connection = ConnectionForCall(metadata_, default_);
  ASSERT_TRUE(connection.ok());
  EXPECT_EQ((*connection)->instance_url, "https://acme.halopsa.com");
  EXPECT_EQ((*connection)->client_id, "acme-id");
  EXPECT_EQ((*connection)->client_secret, "acme-secret");
  EXPECT_EQ((*connection)->tenant, "acme");
  EXPECT_EQ((*connection)->scope, "all");
  EXPECT_EQ((*connection)->org_id, "org-1");
}

TEST_F(ConnectionForCallTest, IncompleteMetadataNamesTheMissingKeyWithoutSecrets) {
  Add("x-halopsa-instance-url", "https://acme.halopsa.com");
  Add("x-halopsa-client-id", "acme-id");
  auto connection = ConnectionForCall(metadata_, default_);
  EXPECT_EQ(connection.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(connection.status().message()), ::testing::HasSubstr("x-halopsa-client-secret"));
  EXPECT_THAT(std::string(connection.status().message()), ::testing::Not(::testing::HasSubstr("default-secret")));
}

}  // namespace
}  // namespace halopsa

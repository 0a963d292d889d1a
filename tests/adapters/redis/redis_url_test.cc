#include "adapters/redis/redis_url.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace halopsa::redis {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(RedisUrlTest, TcpWithPasswordAndDatabase) {
  absl::StatusOr<RedisEndpoint> endpoint = ParseRedisUrl("redis://:s3cr%40t@redis.halopsa.svc:6380/2");
  ASSERT_TRUE(endpoint.ok()) << endpoint.status();
  EXPECT_EQ(endpoint->host, "redis.halopsa.svc");
  EXPECT_EQ(endpoint->port, 6380);
  EXPECT_EQ(endpoint->password, "s3cr@t");
  EXPECT_EQ(endpoint->username, "");
  EXPECT_EQ(endpoint->database, 2);
  EXPECT_EQ(endpoint->Describe(), "redis.halopsa.svc:6380");
}

TEST(RedisUrlTest, DefaultsAndAclUserAndIpv6) {
  absl::StatusOr<RedisEndpoint> plain = ParseRedisUrl("redis://localhost");
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->port, 6379);
  EXPECT_EQ(plain->database, 0);
  EXPECT_TRUE(plain->password.empty());
  absl::StatusOr<RedisEndpoint> acl = ParseRedisUrl("redis://halopsa:pw@[::1]:7000");
  ASSERT_TRUE(acl.ok());
  EXPECT_EQ(acl->username, "halopsa");
  EXPECT_EQ(acl->host, "::1");
  EXPECT_EQ(acl->Describe(), "[::1]:7000");
}

TEST(RedisUrlTest, UnixSocketWithOptionalCredentialsAndDatabase) {
  absl::StatusOr<RedisEndpoint> bare = ParseRedisUrl("unix:///run/redis/redis.sock");
  ASSERT_TRUE(bare.ok());
  EXPECT_EQ(bare->socket_path, "/run/redis/redis.sock");
  EXPECT_TRUE(bare->host.empty());
  absl::StatusOr<RedisEndpoint> full = ParseRedisUrl("unix://:pw@/run/redis.sock?db=4");
  ASSERT_TRUE(full.ok());
  EXPECT_EQ(full->socket_path, "/run/redis.sock");
  EXPECT_EQ(full->password, "pw");
  EXPECT_EQ(full->database, 4);
}

TEST(RedisUrlTest, ErrorsNameTheSettingAndNeverThePassword) {
  for (const char* url : {"http://:hunter2@host", "redis://:hunter2@host:99999", "redis://:hunter2@host/x",
                          "redis://:hunter2@", "unix://relative/hunter2", "unix:///s?db=hunter2",
                          "redis://:hunter2%zz@host", "redis://hunter2@host"}) {
    absl::StatusOr<RedisEndpoint> endpoint = ParseRedisUrl(url, "HALOPSA_REDIS_URL");
    ASSERT_FALSE(endpoint.ok()) << url;
    EXPECT_EQ(endpoint.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(endpoint.status().message(), HasSubstr("HALOPSA_REDIS_URL"));
    EXPECT_THAT(endpoint.status().message(), Not(HasSubstr("hunter2"))) << url;
  }
}

}  // namespace
}  // namespace halopsa::redis

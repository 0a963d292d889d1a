#include "adapters/limacharlie/hive_secrets.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <optional>

#include "server/error_mapping.h"
#include "tests/adapters/halopsa/mock_http_transport.h"

namespace halopsa::lc {
namespace {

using ::halopsa::testing::MockHttpTransport;
using ::halopsa::testing::RequestTo;
using ::halopsa::testing::Respond;
using ::testing::_;
using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::Pair;

constexpr char kUrl[] = "https://api.lc.test/v1/hive/secret/org-1/halopsa-client-secret/data";

class HiveSecretsTest : public ::testing::Test {
 protected:
  // Resolve with a callback that must have run by the time it returns (the
  // mock transport answers inline).
  absl::StatusOr<std::string> Resolve(HiveSecrets& secrets, const std::string& name, const std::string& oid = "org-1") {
    std::optional<absl::StatusOr<std::string>> result;
    secrets.Resolve(oid, "jwt-1", name, absl::Now() + absl::Seconds(5),
                    [&](absl::StatusOr<std::string> secret) { result = std::move(secret); });
    EXPECT_TRUE(result.has_value());
    return result.value_or(absl::InternalError("no callback"));
  }

  ::testing::StrictMock<MockHttpTransport> lc_api_;
};

TEST_F(HiveSecretsTest, ReadsDataSecretWithTheOrgJwtAndCachesIt) {
  HiveSecrets secrets(lc_api_, "https://api.lc.test/", 10);
  EXPECT_CALL(lc_api_, Send(RequestTo("GET", kUrl), _, _))
      .WillOnce([](net::HttpRequest request, absl::Time, net::HttpTransport::Callback done) {
        EXPECT_THAT(request.headers, Contains(Pair("Authorization", "Bearer jwt-1")));
        done(net::HttpResponse{200, "application/json", R"({"data":{"secret":"s3cret\n"},"sys_mtd":{}})"});
      });
  EXPECT_EQ(Resolve(secrets, "halopsa-client-secret").value(), "s3cret");
  EXPECT_EQ(Resolve(secrets, "halopsa-client-secret").value(), "s3cret");  // no second Send
  EXPECT_EQ(secrets.cached(), 1u);
}

TEST_F(HiveSecretsTest, ForgetMakesTheNextResolveFetchAgain) {
  HiveSecrets secrets(lc_api_, "https://api.lc.test", 10);
  EXPECT_CALL(lc_api_, Send(RequestTo("GET", kUrl), _, _))
      .WillOnce(Respond(200, R"({"data":{"secret":"old"}})"))
      .WillOnce(Respond(200, R"({"data":{"secret":"new"}})"));
  EXPECT_EQ(Resolve(secrets, "halopsa-client-secret").value(), "old");
  secrets.Forget("org-1", "halopsa-client-secret");
  EXPECT_EQ(Resolve(secrets, "halopsa-client-secret").value(), "new");
  EXPECT_EQ(Resolve(secrets, "halopsa-client-secret").value(), "new");
}

TEST_F(HiveSecretsTest, CacheIsPerOrg) {
  HiveSecrets secrets(lc_api_, "https://api.lc.test", 10);
  EXPECT_CALL(lc_api_, Send(RequestTo("GET", kUrl), _, _)).WillOnce(Respond(200, R"({"data":{"secret":"a"}})"));
  EXPECT_CALL(lc_api_,
              Send(RequestTo("GET", "https://api.lc.test/v1/hive/secret/org-2/halopsa-client-secret/data"), _, _))
      .WillOnce(Respond(200, R"({"data":{"secret":"b"}})"));
  EXPECT_EQ(Resolve(secrets, "halopsa-client-secret", "org-1").value(), "a");
  EXPECT_EQ(Resolve(secrets, "halopsa-client-secret", "org-2").value(), "b");
}

TEST_F(HiveSecretsTest, NamesArePercentEncodedInThePath) {
  HiveSecrets secrets(lc_api_, "https://api.lc.test", 10);
  EXPECT_CALL(lc_api_, Send(RequestTo("GET", "https://api.lc.test/v1/hive/secret/org-1/a%2Fb%20c/data"), _, _))
      .WillOnce(Respond(200, R"({"data":{"secret":"x"}})"));
  EXPECT_EQ(Resolve(secrets, "a/b c").value(), "x");
}

TEST_F(HiveSecretsTest, LeastRecentlyUsedIsEvictedAtTheBound) {
  HiveSecrets secrets(lc_api_, "https://api.lc.test", 2);
  EXPECT_CALL(lc_api_, Send(RequestTo("GET", "https://api.lc.test/v1/hive/secret/org-1/a/data"), _, _))
      .WillOnce(Respond(200, R"({"data":{"secret":"a"}})"));
  EXPECT_CALL(lc_api_, Send(RequestTo("GET", "https://api.lc.test/v1/hive/secret/org-1/b/data"), _, _))
      .Times(2)
      .WillRepeatedly(Respond(200, R"({"data":{"secret":"b"}})"));
  EXPECT_CALL(lc_api_, Send(RequestTo("GET", "https://api.lc.test/v1/hive/secret/org-1/c/data"), _, _))
      .WillOnce(Respond(200, R"({"data":{"secret":"c"}})"));
  EXPECT_TRUE(Resolve(secrets, "a").ok());
  EXPECT_TRUE(Resolve(secrets, "b").ok());
  EXPECT_TRUE(Resolve(secrets, "a").ok());  // a is now the most recently used
  EXPECT_TRUE(Resolve(secrets, "c").ok());  // evicts b
  EXPECT_EQ(secrets.cached(), 2u);
  EXPECT_EQ(Resolve(secrets, "a").value(), "a");  // still cached
  EXPECT_EQ(Resolve(secrets, "b").value(), "b");  // fetched again
}

TEST_F(HiveSecretsTest, MissingRecordIsNotFoundNamingTheSecret) {
  HiveSecrets secrets(lc_api_, "https://api.lc.test", 10);
  EXPECT_CALL(lc_api_, Send(_, _, _)).WillOnce(Respond(404, R"({"error":"record not found"})"));
  absl::StatusOr<std::string> secret = Resolve(secrets, "halopsa-client-secret");
  EXPECT_EQ(secret.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(secret.status().message(), HasSubstr("halopsa-client-secret"));
  EXPECT_THAT(secret.status().message(), HasSubstr("record not found"));
  EXPECT_EQ(GetErrorInfo(secret.status())->reason(), "LIMACHARLIE_API_ERROR");
  EXPECT_EQ(secrets.cached(), 0u);
}

TEST_F(HiveSecretsTest, RecordWithoutSecretIsAFailedPrecondition) {
  HiveSecrets secrets(lc_api_, "https://api.lc.test", 10);
  EXPECT_CALL(lc_api_, Send(_, _, _))
      .WillOnce(Respond(200, R"({"data":{"value":"x"}})"))
      .WillOnce(Respond(200, R"({"data":{"secret":"  "}})"));
  EXPECT_EQ(Resolve(secrets, "n").status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(Resolve(secrets, "n").status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(HiveSecretsTest, TransportFailuresKeepTheirCodeAndNeverQuoteTheJwt) {
  HiveSecrets secrets(lc_api_, "https://api.lc.test", 10);
  EXPECT_CALL(lc_api_, Send(_, _, _)).WillOnce([](net::HttpRequest, absl::Time, net::HttpTransport::Callback done) {
    done(absl::UnavailableError("connect refused"));
  });
  absl::StatusOr<std::string> secret = Resolve(secrets, "n");
  EXPECT_EQ(secret.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(secret.status().message(), HasSubstr("connect refused"));
  EXPECT_THAT(secret.status().message(), Not(HasSubstr("jwt-1")));
}

}  // namespace
}  // namespace halopsa::lc

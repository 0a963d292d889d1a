#include "adapters/limacharlie/org_service_calls.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "halopsa/v1/halopsa.pb.h"
#include "adapters/halopsa/halo_errors.h"
#include "server/error_mapping.h"
#include "tests/adapters/halopsa/mock_http_transport.h"
#include "tests/testing/mock_service_calls.h"

namespace halopsa::lc {
namespace {

using ::halopsa::testing::Answers;
using ::halopsa::testing::Fails;
using ::halopsa::testing::Method;
using ::halopsa::testing::MockHttpTransport;
using ::halopsa::testing::MockServiceCalls;
using ::halopsa::testing::RequestTo;
using ::halopsa::testing::Respond;
using ::testing::_;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::InSequence;
using ::testing::Pair;
using Result = absl::StatusOr<std::unique_ptr<google::protobuf::Message>>;

constexpr char kHiveUrl[] = "https://api.lc.test/v1/hive/secret/org-1/halo/data";

absl::Status Rejected() {
  return WithErrorInfo(absl::UnauthenticatedError("HaloPSA /auth/token answered HTTP 401: invalid_client"),
                       kReasonTokenRejected);
}

class OrgServiceCallsTest : public ::testing::Test {
 protected:
  std::shared_ptr<const OrgCall> Call(const std::map<std::string, std::string>& config) {
    absl::StatusOr<std::vector<ConnectionSetting>> settings = SettingsFromConfig(config);
    EXPECT_TRUE(settings.ok()) << settings.status();
    return std::make_shared<const OrgCall>(OrgCall{.org = {.oid = "org-1", .jwt = "jwt-1", .ident = ""},
                                                   .settings = settings.value_or(std::vector<ConnectionSetting>{}),
                                                   .metadata = {{"x-halopsa-org-id", "org-1"}},
                                                   .deadline = deadline_});
  }

  static std::map<std::string, std::string> HiveConfig() {
    return {{"instance_url", "https://acme.halopsa.com"}, {"client_id", "cid"}, {"client_secret", "hive://secret/halo"}};
  }

  // Searches with the mocks answering inline, so `done` has run by the time it returns.
  Result Search(std::shared_ptr<const OrgCall> call) {
    std::optional<Result> result;
    calls_.Call(std::move(call), *v1::SearchTicketsRequest::descriptor()->file()->service(0)->FindMethodByName(
                                     "SearchTickets"),
                std::make_shared<v1::SearchTicketsRequest>(), [&result](Result response) {
                  EXPECT_FALSE(result.has_value()) << "answered twice";
                  result = std::move(response);
                });
    EXPECT_TRUE(result.has_value());
    return result.has_value() ? std::move(*result) : absl::InternalError("no answer");
  }

  const absl::Time deadline_ = absl::Now() + absl::Seconds(30);
  ::testing::StrictMock<MockHttpTransport> lc_api_;
  HiveSecrets secrets_{lc_api_, "https://api.lc.test", 10};
  CredentialResolver credentials_{secrets_};
  ::testing::StrictMock<MockServiceCalls> service_;
  OrgServiceCalls calls_{service_, credentials_};
};

TEST_F(OrgServiceCallsTest, SendsTheConnectionsMetadataThenTheCallsOwnByTheCallsDeadline) {
  EXPECT_CALL(service_, Call(Method("SearchTickets"), _,
                             ElementsAre(Pair("x-halopsa-instance-url", "https://acme.halopsa.com"),
                                         Pair("x-halopsa-client-id", "cid"), Pair("x-halopsa-client-secret", "s"),
                                         Pair("x-halopsa-org-id", "org-1")),
                             deadline_, _))
      .WillOnce(Answers<v1::SearchTicketsResponse>(R"({"record_count": 3})"));
  Result result = Search(Call({{"instance_url", "https://acme.halopsa.com"}, {"client_id", "cid"}, {"client_secret", "s"}}));
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(static_cast<const v1::SearchTicketsResponse&>(**result).record_count(), 3);
}

TEST_F(OrgServiceCallsTest, RejectedHiveCredentialsAreReadAgainAndTriedOnceMore) {
  EXPECT_CALL(lc_api_, Send(RequestTo("GET", kHiveUrl), _, _))
      .WillOnce(Respond(200, R"({"data":{"secret":"old"}})"))
      .WillOnce(Respond(200, R"({"data":{"secret":"new"}})"));
  InSequence order;
  EXPECT_CALL(service_, Call(_, _, Contains(Pair("x-halopsa-client-secret", "old")), _, _)).WillOnce(Fails(Rejected()));
  EXPECT_CALL(service_, Call(_, _, Contains(Pair("x-halopsa-client-secret", "new")), _, _))
      .WillOnce(Answers<v1::SearchTicketsResponse>(R"({"record_count": 1})"));
  EXPECT_TRUE(Search(Call(HiveConfig())).ok());
}

TEST_F(OrgServiceCallsTest, ASecondRejectionIsTheAnswer) {
  EXPECT_CALL(lc_api_, Send(RequestTo("GET", kHiveUrl), _, _))
      .Times(2)
      .WillRepeatedly(Respond(200, R"({"data":{"secret":"wrong"}})"));
  EXPECT_CALL(service_, Call).Times(2).WillRepeatedly(Fails(Rejected()));
  Result result = Search(Call(HiveConfig()));
  EXPECT_EQ(result.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(GetErrorInfo(result.status())->reason(), kReasonTokenRejected);
}

TEST_F(OrgServiceCallsTest, RejectedLiteralCredentialsAreNotRetried) {
  EXPECT_CALL(service_, Call).WillOnce(Fails(
      WithErrorInfo(absl::UnauthenticatedError("HaloPSA /api/Tickets answered HTTP 401"), "UPSTREAM_UNAUTHENTICATED")));
  Result result = Search(Call({{"instance_url", "https://acme.halopsa.com"}, {"client_id", "c"}, {"client_secret", "s"}}));
  EXPECT_EQ(result.status().code(), absl::StatusCode::kUnauthenticated);
}

TEST_F(OrgServiceCallsTest, OtherFailuresWithHiveCredentialsAreNotRetried) {
  EXPECT_CALL(lc_api_, Send(RequestTo("GET", kHiveUrl), _, _)).WillOnce(Respond(200, R"({"data":{"secret":"s"}})"));
  EXPECT_CALL(service_, Call)
      .WillOnce(Fails(WithErrorInfo(absl::UnavailableError("HaloPSA answered 503"), "UPSTREAM_UNAVAILABLE")));
  EXPECT_EQ(Search(Call(HiveConfig())).status().code(), absl::StatusCode::kUnavailable);
}

TEST_F(OrgServiceCallsTest, AnUnreadableHiveSecretMeansNoCall) {
  EXPECT_CALL(lc_api_, Send(_, _, _)).WillOnce(Respond(403, R"({"error":"forbidden"})"));
  Result result = Search(Call(HiveConfig()));
  EXPECT_FALSE(result.ok());
  EXPECT_THAT(std::string(result.status().message()), ::testing::StartsWith("config.client_secret: cannot read"));
}

TEST(IsCredentialRejectionTest, OnlyUnauthenticatedWithARejectionReason) {
  EXPECT_TRUE(IsCredentialRejection(Rejected()));
  EXPECT_TRUE(IsCredentialRejection(
      WithErrorInfo(absl::UnauthenticatedError("HaloPSA answered HTTP 401"), "UPSTREAM_UNAUTHENTICATED")));
  EXPECT_FALSE(IsCredentialRejection(absl::UnauthenticatedError("no ErrorInfo")));
  EXPECT_FALSE(IsCredentialRejection(WithErrorInfo(absl::UnauthenticatedError("other"), "UPSTREAM_UNAVAILABLE")));
  EXPECT_FALSE(IsCredentialRejection(WithErrorInfo(absl::PermissionDeniedError("403"), kReasonTokenRejected)));
}

}  // namespace
}  // namespace halopsa::lc

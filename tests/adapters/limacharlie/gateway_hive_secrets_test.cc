// Settings kept as LimaCharlie hive secrets: read with the org's jwt,
// cached, and read again once when HaloPSA refuses them.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "adapters/halopsa/halo_errors.h"
#include "tests/adapters/limacharlie/gateway_fixture.h"
#include "tests/testing/json_matchers.h"

namespace halopsa::lc::testing {
namespace {

using halopsa::testing::Answers;
using halopsa::testing::Method;
using halopsa::testing::RequestTo;
using halopsa::testing::Respond;
using ::testing::_;
using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::InSequence;
using ::testing::Pair;
using ::testing::StartsWith;

constexpr char kHiveUrl[] = "https://api.lc.test/v1/hive/secret/8cbe27f4-bfa1-4afb-ba19-138cd51389cd/halo/data";

auto RejectsTheCredentials() {
  return FailsWith(absl::UnauthenticatedError("HaloPSA /auth/token answered HTTP 401: invalid_client"),
                   kReasonTokenRejected);
}

TEST_F(GatewayTest, HiveSecretIsResolvedWithTheOrgJwtAndCached) {
  EXPECT_CALL(lc_api_, Send(RequestTo("GET", kHiveUrl), _, _))
      .WillOnce([](net::HttpRequest request, absl::Time, net::HttpTransport::Callback done) {
        EXPECT_THAT(request.headers, Contains(Pair("Authorization", "Bearer org-jwt-1")));
        done(net::HttpResponse{200, "application/json", R"({"data":{"secret":"from-hive"}})"});
      });
  EXPECT_CALL(*service_, Call(_, _, Contains(Pair("x-halopsa-client-secret", "from-hive")), _, _))
      .Times(2)
      .WillRepeatedly(CreatesTicket(1));
  EXPECT_EQ(Request("create_ticket", R"({"summary":"a"})", HiveConfig()).status, 200);
  EXPECT_EQ(Request("create_ticket", R"({"summary":"b"})", HiveConfig()).status, 200);
}

TEST_F(GatewayTest, RotatedHiveSecretTakesEffectAfterOneRejection) {
  EXPECT_CALL(lc_api_, Send(RequestTo("GET", kHiveUrl), _, _))
      .WillOnce(Respond(200, R"({"data":{"secret":"old"}})"))
      .WillOnce(Respond(200, R"({"data":{"secret":"new"}})"));
  InSequence order;
  EXPECT_CALL(*service_, Call(_, _, Contains(Pair("x-halopsa-client-secret", "old")), _, _))
      .WillOnce(RejectsTheCredentials());
  EXPECT_CALL(*service_, Call(Method("AddAction"), _, Contains(Pair("x-halopsa-client-secret", "new")), _, _))
      .WillOnce(Answers<v1::AddActionResponse>(R"({"id":2,"ticket_id":2884,"action":{"note":"n"}})"));
  Reply reply = Request("add_action", R"({"ticket_id":2884,"note":"n"})", HiveConfig());
  ASSERT_EQ(reply.status, 200) << reply.body;
  EXPECT_THAT(Json(reply.data()), halopsa::testing::JsonEq(R"({"id":2,"note":"n","ticket_id":2884})"));
}

TEST_F(GatewayTest, RejectedLiteralSecretIsNotRetried) {
  EXPECT_CALL(*service_, Call)
      .WillOnce(FailsWith(absl::UnauthenticatedError("HaloPSA /api/Tickets answered HTTP 401"),
                          "UPSTREAM_UNAUTHENTICATED"));
  Reply reply = Request("search_tickets", "{}");
  EXPECT_EQ(reply.status, 400);
}

TEST_F(GatewayTest, StillRejectedAfterRereadingTheSecretGivesUp) {
  EXPECT_CALL(lc_api_, Send(RequestTo("GET", kHiveUrl), _, _))
      .Times(2)
      .WillRepeatedly(Respond(200, R"({"data":{"secret":"wrong"}})"));
  EXPECT_CALL(*service_, Call).Times(2).WillRepeatedly(RejectsTheCredentials());
  Reply reply = Request("search_tickets", "{}", HiveConfig());
  EXPECT_EQ(reply.status, 400);
  EXPECT_THAT(reply.error(), StartsWith("HaloPSA refused config.client_id/config.client_secret"));
}

TEST_F(GatewayTest, MissingHiveSecretIs400NamingTheConfigField) {
  EXPECT_CALL(lc_api_, Send(RequestTo("GET", kHiveUrl), _, _))
      .WillOnce(Respond(404, R"({"error":"record not found"})"));
  Reply reply = Request("search_tickets", "{}", HiveConfig());
  EXPECT_EQ(reply.status, 400);
  EXPECT_THAT(reply.error(), StartsWith("config.client_secret: cannot read hive://secret/halo: LimaCharlie "));
  EXPECT_THAT(reply.error(), HasSubstr("record not found"));
}

TEST_F(GatewayTest, UnreachableLimaCharlieApiIs500Retriable) {
  EXPECT_CALL(lc_api_, Send(_, _, _)).WillOnce([](net::HttpRequest, absl::Time, net::HttpTransport::Callback done) {
    done(absl::UnavailableError("connection refused"));
  });
  Reply reply = Request("search_tickets", "{}", HiveConfig());
  EXPECT_EQ(reply.status, 500);
  EXPECT_EQ(reply.retriable(), true);
}

}  // namespace
}  // namespace halopsa::lc::testing

// conf_validation: the org's configuration is checked by obtaining a token
// for real, and refusals say which setting to fix.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "adapters/halopsa/halo_errors.h"
#include "tests/adapters/limacharlie/gateway_fixture.h"

namespace halopsa::lc::testing {
namespace {

using halopsa::testing::Method;
using ::testing::_;
using ::testing::AllOf;
using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::Pair;
using ::testing::StartsWith;

TEST_F(GatewayTest, ConfValidationObtainsATokenWithTheConfsConnection) {
  Config conf = LiteralConfig();
  conf["tenant"] = "acme";
  conf["scope"] = "all";
  EXPECT_CALL(*service_, Call(Method("LookupClientSite"), _,
                              AllOf(Contains(Pair("x-halopsa-instance-url", "https://acme.halopsa.com")),
                                    Contains(Pair("x-halopsa-client-id", "cid")),
                                    Contains(Pair("x-halopsa-client-secret", "literal-secret")),
                                    Contains(Pair("x-halopsa-tenant", "acme")), Contains(Pair("x-halopsa-scope", "all")),
                                    Contains(Pair("x-halopsa-org-id", org_.oid))),
                              _, _))
      .WillOnce([](const google::protobuf::MethodDescriptor&, std::shared_ptr<const google::protobuf::Message> request,
                   const ServiceCalls::Metadata&, absl::Time, ServiceCalls::Callback done) {
        const auto& probe = As<v1::LookupClientSiteRequest>(*request);
        EXPECT_EQ(probe.type(), v1::LookupClientSiteRequest::client);
        EXPECT_EQ(probe.page_size(), 1);
        done(std::make_unique<v1::LookupClientSiteResponse>());
      });
  Reply reply = Lc().Send(ConfValidationEnvelope(org_, conf));
  EXPECT_EQ(reply.status, 200);
  EXPECT_FALSE(reply.has_error());
}

TEST_F(GatewayTest, ConfValidationWithRejectedCredentialsIs400WithHalosReason) {
  EXPECT_CALL(*service_, Call)
      .WillOnce(FailsWith(absl::UnauthenticatedError("HaloPSA /auth/token answered HTTP 401: invalid_client"),
                          kReasonTokenRejected));
  Reply reply = Lc().Send(ConfValidationEnvelope(org_, LiteralConfig()));
  EXPECT_EQ(reply.status, 400);
  EXPECT_EQ(reply.retriable(), false);
  EXPECT_EQ(reply.error(),
            "HaloPSA refused config.client_id/config.client_secret (check the API application, Client ID and "
            "Secret (Services) with Login Type Agent, and the stored secret): HaloPSA /auth/token answered HTTP 401: "
            "invalid_client");
}

TEST_F(GatewayTest, ConfValidationNamesTheScopeSettingAndTheMissingPermission) {
  EXPECT_CALL(*service_, Call)
      .WillOnce(FailsWith(absl::FailedPreconditionError("HaloPSA refused the requested scope 'read:actions'"),
                          kReasonInvalidScope))
      .WillOnce(FailsWith(absl::PermissionDeniedError("HaloPSA /api/Client answered HTTP 403"),
                          "UPSTREAM_PERMISSION_DENIED"));
  Reply scope = Lc().Send(ConfValidationEnvelope(org_, LiteralConfig()));
  EXPECT_EQ(scope.status, 400);
  EXPECT_EQ(scope.error(), "HaloPSA refused config.scope: HaloPSA refused the requested scope 'read:actions'");

  Reply permission = Lc().Send(ConfValidationEnvelope(org_, LiteralConfig()));
  EXPECT_EQ(permission.status, 400);
  EXPECT_THAT(permission.error(), StartsWith("the HaloPSA API application lacks a permission (it needs edit:tickets, "
                                             "edit:assets and read:customers"));
}

TEST_F(GatewayTest, ConfValidationWhileHaloIsDownIs500Retriable) {
  EXPECT_CALL(*service_, Call)
      .WillOnce(FailsWith(absl::UnavailableError("HaloPSA /auth/token answered HTTP 503"), "UPSTREAM_UNAVAILABLE"));
  Reply reply = Lc().Send(ConfValidationEnvelope(org_, LiteralConfig()));
  EXPECT_EQ(reply.status, 500);
  EXPECT_EQ(reply.retriable(), true);
  EXPECT_EQ(reply.error(), "HaloPSA /auth/token answered HTTP 503");
}

TEST_F(GatewayTest, ConfValidationWithMissingFieldNamesIt) {
  Config conf = LiteralConfig();
  conf.erase("client_id");
  Reply reply = Lc().Send(ConfValidationEnvelope(org_, conf));
  EXPECT_EQ(reply.status, 400);
  EXPECT_THAT(reply.error(), StartsWith("config.client_id: is missing"));
}

TEST_F(GatewayTest, RefusedInstanceUrlIs400NamingIt) {
  struct Case {
    absl::StatusCode code;
    const char* reason;
    const char* hint;
  };
  for (const Case& c :
       {Case{absl::StatusCode::kPermissionDenied, "UPSTREAM_ADDRESS_REFUSED", "config.instance_url is refused"},
        Case{absl::StatusCode::kInvalidArgument, "INVALID_INSTANCE_URL", "config.instance_url is not usable"}}) {
    EXPECT_CALL(*service_, Call)
        .WillOnce(FailsWith(absl::Status(c.code, "HaloPSA /auth/token: 10.0.0.5:443 resolves to a private address"),
                            c.reason));
    Reply reply = Lc().Send(ConfValidationEnvelope(org_, LiteralConfig()));
    EXPECT_EQ(reply.status, 400) << c.reason;
    EXPECT_EQ(reply.retriable(), false);
    EXPECT_THAT(reply.error(), StartsWith(c.hint));
    EXPECT_THAT(reply.error(), HasSubstr("resolves to a private address"));
  }
}

}  // namespace
}  // namespace halopsa::lc::testing

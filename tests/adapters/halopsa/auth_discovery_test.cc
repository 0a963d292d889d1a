#include "adapters/halopsa/auth_discovery.h"

#include <optional>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/adapters/halopsa/mock_http_transport.h"

namespace halopsa {
namespace {

using ::testing::_;
using ::testing::StrictMock;
using testing::MockHttpTransport;
using testing::RequestTo;
using testing::Respond;

constexpr char kAuthInfoUrl[] = "https://acme.halopsa.com/api/authinfo";

class AuthDiscoveryTest : public ::testing::Test {
 protected:
  AuthDiscoveryTest() { connection_->instance_url = "https://acme.halopsa.com"; }

  TokenEndpoint Resolve() {
    std::optional<TokenEndpoint> result;
    discovery_.Resolve(CallContext{connection_, absl::InfiniteFuture(), nullptr, ""},
                       [&](TokenEndpoint endpoint) { result = std::move(endpoint); });
    EXPECT_TRUE(result.has_value());
    return result.value_or(TokenEndpoint{});
  }

  void ExpectAuthInfo(int status, std::string body) {
    EXPECT_CALL(transport_, Send(RequestTo("GET", kAuthInfoUrl), _, _))
        .WillOnce(Respond(status, std::move(body)))
        .RetiresOnSaturation();
  }

  StrictMock<MockHttpTransport> transport_;
  AuthDiscovery discovery_{transport_, AuthDiscoveryOptions()};
  std::shared_ptr<HaloConnection> connection_ = std::make_shared<HaloConnection>();
};

TEST_F(AuthDiscoveryTest, HostedTenantIsDiscoveredOnceAndRemembered) {
  ExpectAuthInfo(200, R"({"auth_url": "https://auth.haloservicedesk.com/auth", "tenant_id": "acme-t"})");
  TokenEndpoint first = Resolve();
  EXPECT_EQ(first.url, "https://auth.haloservicedesk.com/auth/token?tenant=acme-t");
  EXPECT_EQ(first.endpoint, "/auth/token");
  EXPECT_EQ(Resolve().url, first.url);  // StrictMock: no second authinfo request
  EXPECT_EQ(discovery_.authinfo_requests(), 1);
}

TEST_F(AuthDiscoveryTest, TheTenantSettingWinsOverTheDiscoveredTenantId) {
  connection_->tenant = "configured";
  ExpectAuthInfo(200, R"({"auth_url": "https://auth.haloservicedesk.com/auth", "tenant_id": "acme-t"})");
  EXPECT_EQ(Resolve().url, "https://auth.haloservicedesk.com/auth/token?tenant=configured");
}

TEST_F(AuthDiscoveryTest, SelfHostedTenantsFallBackToTheInstancesOwnTokenEndpoint) {
  ExpectAuthInfo(404, "");
  EXPECT_EQ(Resolve().url, "https://acme.halopsa.com/auth/token");
  connection_->tenant = "t1";
  EXPECT_EQ(Resolve().url, "https://acme.halopsa.com/auth/token?tenant=t1");  // remembered
}

TEST_F(AuthDiscoveryTest, UnusableAnswersFallBack) {
  for (const char* body : {R"({"tenant_id": "x"})", "not json", R"({"auth_url": "http://auth.example.com"})",
                           R"({"auth_url": "https://user:pw@auth.example.com"})",
                           R"({"auth_url": "https://auth.example.com/auth?x=1"})"}) {
    ExpectAuthInfo(200, body);
    EXPECT_EQ(Resolve().url, "https://acme.halopsa.com/auth/token") << body;
    discovery_.Forget(*connection_);
  }
}

TEST_F(AuthDiscoveryTest, TransportFailuresFallBackWithoutBeingRemembered) {
  EXPECT_CALL(transport_, Send(RequestTo("GET", kAuthInfoUrl), _, _))
      .WillOnce([](net::HttpRequest, absl::Time, net::HttpTransport::Callback done) {
        done(absl::DeadlineExceededError("timed out"));
      })
      .RetiresOnSaturation();
  EXPECT_EQ(Resolve().url, "https://acme.halopsa.com/auth/token");
  ExpectAuthInfo(200, R"({"auth_url": "https://auth.haloservicedesk.com/auth", "tenant_id": "acme-t"})");
  EXPECT_EQ(Resolve().url, "https://auth.haloservicedesk.com/auth/token?tenant=acme-t");
}

TEST_F(AuthDiscoveryTest, AnAuthInfoThatDoesNotAnswerIsBoundedShorterThanTheCall) {
  const absl::Time before = absl::Now();
  EXPECT_CALL(transport_, Send(RequestTo("GET", kAuthInfoUrl), _, _))
      .WillOnce([before](net::HttpRequest, absl::Time deadline, net::HttpTransport::Callback done) {
        EXPECT_LE(deadline, absl::Now() + AuthDiscoveryOptions().timeout);
        EXPECT_GE(deadline, before + AuthDiscoveryOptions().timeout);
        done(absl::DeadlineExceededError("timed out"));
      });
  EXPECT_EQ(Resolve().url, "https://acme.halopsa.com/auth/token");  // the call's own deadline is infinite
}

TEST_F(AuthDiscoveryTest, AConfiguredAuthUrlSkipsDiscovery) {
  connection_->auth_url = "https://auth.example.com/auth";
  connection_->tenant = "t";
  EXPECT_EQ(Resolve().url, "https://auth.example.com/auth/token?tenant=t");
}

TEST_F(AuthDiscoveryTest, ForgetMakesTheNextResolveAskAgain) {
  ExpectAuthInfo(404, "");
  EXPECT_EQ(Resolve().url, "https://acme.halopsa.com/auth/token");
  discovery_.Forget(*connection_);
  ExpectAuthInfo(200, R"({"auth_url": "https://auth.haloservicedesk.com/auth", "tenant_id": "acme-t"})");
  EXPECT_EQ(Resolve().url, "https://auth.haloservicedesk.com/auth/token?tenant=acme-t");
}

TEST(AuthDiscoveryInsecureTest, PlainHttpIsTakenOnlyWhenTheTransportAllowsIt) {
  StrictMock<MockHttpTransport> transport;
  AuthDiscovery discovery(transport, AuthDiscoveryOptions{.allow_insecure_http = true});
  auto connection = std::make_shared<HaloConnection>();
  connection->instance_url = "http://127.0.0.1:8000";
  EXPECT_CALL(transport, Send(RequestTo("GET", "http://127.0.0.1:8000/api/authinfo"), _, _))
      .WillOnce(Respond(200, R"({"auth_url": "http://127.0.0.1:8001/auth", "tenant_id": "t"})"));
  std::optional<TokenEndpoint> endpoint;
  discovery.Resolve(CallContext{connection, absl::InfiniteFuture(), nullptr, ""},
                    [&](TokenEndpoint resolved) { endpoint = std::move(resolved); });
  ASSERT_TRUE(endpoint.has_value());
  EXPECT_EQ(endpoint->url, "http://127.0.0.1:8001/auth/token?tenant=t");
}

}  // namespace
}  // namespace halopsa

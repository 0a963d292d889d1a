#include "adapters/halopsa/token_cache.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "adapters/halopsa/halo_errors.h"
#include "server/error_mapping.h"
#include "tests/adapters/halopsa/mock_http_transport.h"

namespace halopsa {
namespace {

using ::testing::_;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StrictMock;
using testing::MockHttpTransport;
using testing::RequestTo;
using testing::Respond;

constexpr char kSecret[] = "s3cr3t&value=";

class TokenCacheTest : public ::testing::Test {
 protected:
  TokenCacheTest() {
    connection_->instance_url = "https://acme.halopsa.com";
    connection_->client_id = "client-1";
    connection_->client_secret = kSecret;
    connection_->auth_url = "https://acme.halopsa.com/auth";  // discovery: auth_discovery_test
  }

  static TokenCacheOptions OptionsWithClock(const absl::Time* now) {
    TokenCacheOptions options;
    options.clock = [now] { return *now; };
    return options;
  }

  absl::StatusOr<std::string> Get(std::shared_ptr<HaloConnection> connection = nullptr) {
    std::optional<absl::StatusOr<std::string>> result;
    cache_.Get(CallContext{connection ? connection : connection_, absl::InfiniteFuture(), nullptr, ""},
               [&](absl::StatusOr<std::string> token) { result = std::move(token); });
    EXPECT_TRUE(result.has_value());
    return result.value_or(absl::InternalError("no answer"));
  }

  StrictMock<MockHttpTransport> transport_;
  absl::Time now_ = absl::FromUnixSeconds(1'800'000'000);
  AuthDiscovery discovery_{transport_, AuthDiscoveryOptions()};
  TokenCache cache_{transport_, discovery_, OptionsWithClock(&now_)};
  std::shared_ptr<HaloConnection> connection_ = std::make_shared<HaloConnection>();
};

TEST_F(TokenCacheTest, RequestsTheDocumentedFormAndCaches) {
  EXPECT_CALL(transport_, Send(RequestTo("POST", "https://acme.halopsa.com/auth/token"), _, _))
      .WillOnce([](net::HttpRequest request, absl::Time, net::HttpTransport::Callback done) {
        EXPECT_EQ(request.body,
                  "grant_type=client_credentials&client_id=client-1&client_secret=s3cr3t%26value%3D&scope=all");
        EXPECT_THAT(request.headers, ::testing::Contains(::testing::Pair("Content-Type",
                                                                          "application/x-www-form-urlencoded")));
        done(net::HttpResponse{200, "application/json",
                               R"({"access_token":"tok-1","token_type":"Bearer","expires_in":3600})"});
      });
  EXPECT_EQ(*Get(), "tok-1");
  EXPECT_EQ(*Get(), "tok-1");
  EXPECT_EQ(cache_.token_requests(), 1);
  EXPECT_EQ(cache_.cache_hits(), 1);
}

TEST_F(TokenCacheTest, TenantGoesInTheQueryAndScopeIsTheConfiguredOne) {
  connection_->tenant = "acme tenant";
  connection_->scope = "read:tickets edit:tickets";
  EXPECT_CALL(transport_, Send(RequestTo("POST", "https://acme.halopsa.com/auth/token?tenant=acme%20tenant"), _, _))
      .WillOnce([](net::HttpRequest request, absl::Time, net::HttpTransport::Callback done) {
        EXPECT_THAT(request.body, HasSubstr("&scope=read%3Atickets%20edit%3Atickets"));
        done(net::HttpResponse{200, "", R"({"access_token":"t","expires_in":3600})"});
      });
  EXPECT_TRUE(Get().ok());
}

TEST_F(TokenCacheTest, RefreshesShortlyBeforeExpiry) {
  EXPECT_CALL(transport_, Send(_, _, _))
      .WillOnce(Respond(200, R"({"access_token":"old","expires_in":3600})"))
      .WillOnce(Respond(200, R"({"access_token":"new","expires_in":3600})"));
  EXPECT_EQ(*Get(), "old");
  now_ += absl::Seconds(3600 - 61);
  EXPECT_EQ(*Get(), "old");
  now_ += absl::Seconds(2);  // inside the 60 s refresh margin
  EXPECT_EQ(*Get(), "new");
}

TEST_F(TokenCacheTest, ConcurrentCallersShareOneTokenRequest) {
  net::HttpTransport::Callback pending;
  EXPECT_CALL(transport_, Send(_, _, _)).WillOnce([&](net::HttpRequest, absl::Time, net::HttpTransport::Callback done) {
    pending = std::move(done);
  });
  std::vector<absl::StatusOr<std::string>> results;
  for (int i = 0; i < 10; ++i) {
    cache_.Get(CallContext{connection_, absl::InfiniteFuture(), nullptr, ""},
               [&](absl::StatusOr<std::string> token) { results.push_back(std::move(token)); });
  }
  EXPECT_TRUE(results.empty());
  pending(net::HttpResponse{200, "", R"({"access_token":"shared","expires_in":3600})"});
  ASSERT_EQ(results.size(), 10u);
  for (const auto& token : results) EXPECT_EQ(*token, "shared");
  EXPECT_EQ(cache_.token_requests(), 1);
}

TEST_F(TokenCacheTest, KeysSeparateOrgsSecretsAndTenants) {
  EXPECT_CALL(transport_, Send(_, _, _)).Times(4).WillRepeatedly(Respond(200, R"({"access_token":"t"})"));
  auto other_org = std::make_shared<HaloConnection>(*connection_);
  other_org->org_id = "org-2";
  auto rotated = std::make_shared<HaloConnection>(*connection_);
  rotated->client_secret = "rotated";
  auto tenant = std::make_shared<HaloConnection>(*connection_);
  tenant->tenant = "t2";
  for (const auto& connection : {connection_, other_org, rotated, tenant}) EXPECT_TRUE(Get(connection).ok());
  EXPECT_TRUE(Get().ok());  // cached
  EXPECT_THAT(TokenCacheKey(*connection_), Not(HasSubstr(kSecret)));
}

TEST_F(TokenCacheTest, InvalidateDropsOnlyTheRejectedToken) {
  EXPECT_CALL(transport_, Send(_, _, _))
      .WillOnce(Respond(200, R"({"access_token":"first"})"))
      .WillOnce(Respond(200, R"({"access_token":"second"})"));
  EXPECT_EQ(*Get(), "first");
  cache_.Invalidate(*connection_, "stale-other-token");
  EXPECT_EQ(*Get(), "first");
  cache_.Invalidate(*connection_, "first");
  EXPECT_EQ(*Get(), "second");
}

TEST_F(TokenCacheTest, RejectedCredentialsAreUnauthenticatedWithoutTheSecret) {
  EXPECT_CALL(transport_, Send(_, _, _)).WillOnce(Respond(401, R"({"error":"invalid_client"})"));
  absl::StatusOr<std::string> token = Get();
  EXPECT_EQ(token.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(std::string(token.status().message()), HasSubstr("invalid_client"));
  EXPECT_THAT(std::string(token.status().message()), Not(HasSubstr(kSecret)));
  EXPECT_EQ(GetErrorInfo(token.status())->reason(), "UPSTREAM_TOKEN_REJECTED");
  EXPECT_EQ(GetErrorInfo(token.status())->metadata().at("http_status"), "401");
}

TEST_F(TokenCacheTest, FailuresAreNotCached) {
  EXPECT_CALL(transport_, Send(_, _, _))
      .WillOnce([](net::HttpRequest, absl::Time, net::HttpTransport::Callback done) {
        done(absl::UnavailableError("connection refused"));
      })
      .WillOnce(Respond(200, R"({"access_token":"t"})"));
  absl::StatusOr<std::string> failed = Get();
  EXPECT_EQ(failed.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(GetErrorInfo(failed.status())->reason(), "UPSTREAM_UNREACHABLE");
  EXPECT_EQ(*Get(), "t");
}

TEST_F(TokenCacheTest, AnswerWithoutTokenIsAnError) {
  EXPECT_CALL(transport_, Send(_, _, _)).WillOnce(Respond(200, R"({"token_type":"Bearer"})"));
  EXPECT_EQ(GetErrorInfo(Get().status())->reason(), "UPSTREAM_BAD_RESPONSE");
}

TEST_F(TokenCacheTest, InvalidScopeNamesTheScopeSettingAndTheValidScopes) {
  connection_->scope = "read:actions";
  EXPECT_CALL(transport_, Send(_, _, _)).WillOnce(Respond(400, R"({"error":"invalid_scope"})"));
  absl::Status refused = Get().status();
  EXPECT_EQ(refused.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(GetErrorInfo(refused)->reason(), kReasonInvalidScope);
  EXPECT_EQ(GetErrorInfo(refused)->metadata().at("field"), "scope");
  EXPECT_THAT(std::string(refused.message()),
              ::testing::AllOf(HasSubstr("'read:actions'"), HasSubstr("HALOPSA_SCOPE"), HasSubstr("x-halopsa-scope"),
                               HasSubstr("edit:tickets edit:assets read:customers"),
                               HasSubstr("no read:actions or edit:actions")));
}

TEST_F(TokenCacheTest, AtItsBoundTheLeastRecentlyUsedTokenIsForgotten) {
  TokenCacheOptions options = OptionsWithClock(&now_);
  options.max_entries = 2;
  TokenCache cache(transport_, discovery_, std::move(options));
  EXPECT_CALL(transport_, Send(_, _, _)).Times(4).WillRepeatedly(Respond(200, R"({"access_token":"t"})"));
  std::vector<std::shared_ptr<HaloConnection>> orgs;
  for (const char* org : {"a", "b", "c"}) {
    orgs.push_back(std::make_shared<HaloConnection>(*connection_));
    orgs.back()->org_id = org;
  }
  auto get = [&](int org) {
    cache.Get(CallContext{orgs[org], absl::InfiniteFuture(), nullptr, ""}, [](absl::StatusOr<std::string>) {});
  };
  get(0);
  get(1);
  get(0);  // a hit: "b" is now the least recently used
  get(2);  // "b" goes
  get(0);
  EXPECT_EQ(cache.token_requests(), 3);
  get(1);
  EXPECT_EQ(cache.token_requests(), 4);
  EXPECT_EQ(cache.cache_hits(), 2);
}

TEST_F(TokenCacheTest, AnInvalidatedTokenIsFetchedAgainEvenBeforeItsExpiry) {
  EXPECT_CALL(transport_, Send(_, _, _))
      .WillOnce(Respond(200, R"({"access_token":"first","expires_in":3600})"))
      .WillOnce(Respond(200, R"({"access_token":"second","expires_in":3600})"));
  EXPECT_EQ(*Get(), "first");
  cache_.Invalidate(*connection_, "first");
  cache_.Invalidate(*connection_, "first");  // already gone: nothing else is dropped
  EXPECT_EQ(*Get(), "second");
  EXPECT_EQ(*Get(), "second");
  EXPECT_EQ(cache_.token_requests(), 2);
}

// Without a configured auth_url the token endpoint is discovered first.
class DiscoveringTokenCacheTest : public TokenCacheTest {
 protected:
  DiscoveringTokenCacheTest() { connection_->auth_url.clear(); }
};

TEST_F(DiscoveringTokenCacheTest, HostedTenantGetsItsTokenFromTheDiscoveredServerWithItsTenantId) {
  ::testing::InSequence in_order;
  EXPECT_CALL(transport_, Send(RequestTo("GET", "https://acme.halopsa.com/api/authinfo"), _, _))
      .WillOnce(Respond(200, R"({"auth_url": "https://auth.haloservicedesk.com/auth/", "tenant_id": "acme"})"));
  EXPECT_CALL(transport_, Send(RequestTo("POST", "https://auth.haloservicedesk.com/auth/token?tenant=acme"), _, _))
      .WillOnce(Respond(200, R"({"access_token":"hosted"})"));
  EXPECT_EQ(*Get(), "hosted");
}

TEST_F(DiscoveringTokenCacheTest, RefusedTokenRequestMakesTheNextFetchDiscoverAgain) {
  ::testing::InSequence in_order;
  EXPECT_CALL(transport_, Send(RequestTo("GET", "https://acme.halopsa.com/api/authinfo"), _, _))
      .WillOnce(Respond(404, ""));
  EXPECT_CALL(transport_, Send(RequestTo("POST", "https://acme.halopsa.com/auth/token"), _, _))
      .WillOnce(Respond(401, R"({"error":"invalid_client"})"));
  EXPECT_CALL(transport_, Send(RequestTo("GET", "https://acme.halopsa.com/api/authinfo"), _, _))
      .WillOnce(Respond(200, R"({"auth_url": "https://auth.haloservicedesk.com/auth", "tenant_id": "acme"})"));
  EXPECT_CALL(transport_, Send(RequestTo("POST", "https://auth.haloservicedesk.com/auth/token?tenant=acme"), _, _))
      .WillOnce(Respond(200, R"({"access_token":"second"})"));
  EXPECT_FALSE(Get().ok());
  EXPECT_EQ(*Get(), "second");
}

}  // namespace
}  // namespace halopsa

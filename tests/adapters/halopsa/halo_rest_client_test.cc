#include "adapters/halopsa/halo_rest_client.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "server/error_mapping.h"
#include "server/json_values.h"
#include "tests/adapters/halopsa/mock_http_transport.h"

namespace halopsa {
namespace {

using ::testing::_;
using ::testing::Contains;
using ::testing::Pair;
using ::testing::StrictMock;
using testing::MockHttpTransport;
using testing::RequestTo;
using testing::Respond;

class HaloRestClientTest : public ::testing::Test {
 protected:
  HaloRestClientTest() {
    connection_->instance_url = "https://acme.halopsa.com";
    connection_->client_id = "c";
    connection_->client_secret = "s";
  }

  absl::StatusOr<google::protobuf::Value> Result(std::function<void(HaloApi::Callback)> start) {
    std::optional<absl::StatusOr<google::protobuf::Value>> result;
    start([&](absl::StatusOr<google::protobuf::Value> answer) { result = std::move(answer); });
    EXPECT_TRUE(result.has_value());
    return result.value_or(absl::InternalError("no answer"));
  }

  void ExpectToken(const std::string& token) {
    EXPECT_CALL(transport_, Send(RequestTo("POST", "https://acme.halopsa.com/auth/token"), _, _))
        .WillOnce(Respond(200, absl::StrCat(R"({"access_token":")", token, R"(","expires_in":3600})")))
        .RetiresOnSaturation();
  }

  StrictMock<MockHttpTransport> transport_;
  TokenCache tokens_{transport_, TokenCacheOptions()};
  HaloRestClient client_{transport_, tokens_};
  std::shared_ptr<HaloConnection> connection_ = std::make_shared<HaloConnection>();
  CallContext context_{connection_, absl::Now() + absl::Seconds(10), nullptr};
};

TEST_F(HaloRestClientTest, GetSendsBearerAndQueryWithinTheDeadline) {
  ExpectToken("tok");
  EXPECT_CALL(transport_, Send(RequestTo("GET", "https://acme.halopsa.com/api/Client?search=a%20b&page_no=1"),
                               context_.deadline, _))
      .WillOnce([](net::HttpRequest request, absl::Time, net::HttpTransport::Callback done) {
        EXPECT_THAT(request.headers, Contains(Pair("Authorization", "Bearer tok")));
        done(net::HttpResponse{200, "application/json", R"({"record_count":0,"clients":[]})"});
      });
  auto answer = Result([&](auto done) {
    client_.Get(context_, "/api/Client", {{"search", "a b"}, {"page_no", "1"}}, std::move(done));
  });
  ASSERT_TRUE(answer.ok()) << answer.status();
  EXPECT_EQ(answer->struct_value().fields().at("record_count").number_value(), 0);
}

TEST_F(HaloRestClientTest, PostSendsJson) {
  ExpectToken("tok");
  EXPECT_CALL(transport_, Send(RequestTo("POST", "https://acme.halopsa.com/api/Tickets"), _, _))
      .WillOnce([](net::HttpRequest request, absl::Time, net::HttpTransport::Callback done) {
        EXPECT_EQ(request.body, R"([{"summary":"s"}])");
        EXPECT_THAT(request.headers, Contains(Pair("Content-Type", "application/json")));
        done(net::HttpResponse{201, "application/json", R"({"id":9})"});
      });
  auto answer = Result([&](auto done) {
    client_.Post(context_, "/api/Tickets", *ParseJson(R"([{"summary":"s"}])"), std::move(done));
  });
  ASSERT_TRUE(answer.ok()) << answer.status();
}

TEST_F(HaloRestClientTest, On401DropsTokenFetchesNewAndRetriesOnce) {
  ::testing::InSequence in_order;
  ExpectToken("expired");
  EXPECT_CALL(transport_, Send(RequestTo("GET", "https://acme.halopsa.com/api/Tickets/1"), _, _))
      .WillOnce(Respond(401, ""));
  ExpectToken("fresh");
  EXPECT_CALL(transport_, Send(RequestTo("GET", "https://acme.halopsa.com/api/Tickets/1"), _, _))
      .WillOnce([](net::HttpRequest request, absl::Time, net::HttpTransport::Callback done) {
        EXPECT_THAT(request.headers, Contains(Pair("Authorization", "Bearer fresh")));
        done(net::HttpResponse{200, "", R"({"id":1})"});
      });
  EXPECT_TRUE(Result([&](auto done) { client_.Get(context_, "/api/Tickets/1", {}, std::move(done)); }).ok());
}

TEST_F(HaloRestClientTest, Second401IsUnauthenticated) {
  ExpectToken("a");
  ExpectToken("b");
  EXPECT_CALL(transport_, Send(RequestTo("GET", "https://acme.halopsa.com/api/Tickets/1"), _, _))
      .Times(2)
      .WillRepeatedly(Respond(401, "Unauthorized"));
  auto answer = Result([&](auto done) { client_.Get(context_, "/api/Tickets/1", {}, std::move(done)); });
  EXPECT_EQ(answer.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(GetErrorInfo(answer.status())->metadata().at("endpoint"), "/api/Tickets/1");
}

TEST_F(HaloRestClientTest, ErrorStatusesMapWithHalosText) {
  ExpectToken("t");
  EXPECT_CALL(transport_, Send(RequestTo("POST", "https://acme.halopsa.com/api/Actions"), _, _))
      .WillOnce(Respond(400, R"({"errors":["An Outcome must be entered for this Action"]})"));
  auto answer = Result([&](auto done) {
    client_.Post(context_, "/api/Actions", *ParseJson("[{}]"), std::move(done));
  });
  EXPECT_EQ(answer.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(answer.status().message(),
            "HaloPSA /api/Actions answered HTTP 400: An Outcome must be entered for this Action");
}

TEST_F(HaloRestClientTest, MalformedJsonIsUnavailable) {
  ExpectToken("t");
  EXPECT_CALL(transport_, Send(RequestTo("GET", "https://acme.halopsa.com/api/Site"), _, _))
      .WillOnce(Respond(200, "<html>maintenance</html>"));
  auto answer = Result([&](auto done) { client_.Get(context_, "/api/Site", {}, std::move(done)); });
  EXPECT_EQ(answer.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(GetErrorInfo(answer.status())->reason(), "UPSTREAM_BAD_RESPONSE");
}

TEST_F(HaloRestClientTest, TransportTimeoutIsDeadlineExceeded) {
  ExpectToken("t");
  EXPECT_CALL(transport_, Send(RequestTo("GET", "https://acme.halopsa.com/api/Site"), _, _))
      .WillOnce([](net::HttpRequest, absl::Time, net::HttpTransport::Callback done) {
        done(absl::DeadlineExceededError("waiting for response from acme.halopsa.com:443"));
      });
  auto answer = Result([&](auto done) { client_.Get(context_, "/api/Site", {}, std::move(done)); });
  EXPECT_EQ(answer.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(GetErrorInfo(answer.status())->reason(), "UPSTREAM_TIMEOUT");
}

}  // namespace
}  // namespace halopsa

#include "adapters/halopsa/authenticating_sender.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <optional>

#include "server/error_mapping.h"
#include "tests/adapters/halopsa/mock_halo_request_sender.h"
#include "tests/adapters/halopsa/mock_http_transport.h"

namespace halopsa {
namespace {

using ::testing::_;
using ::testing::Field;
using ::testing::InSequence;
using ::testing::StrictMock;
using testing::AcmeContext;
using testing::AnswerHttp;
using testing::MockHaloRequestSender;
using testing::MockHttpTransport;
using testing::RequestTo;
using testing::Respond;

class AuthenticatingSenderTest : public ::testing::Test {
 protected:
  void ExpectToken(const std::string& token) {
    EXPECT_CALL(token_endpoint_, Send(RequestTo("POST", "https://acme.halopsa.com/auth/token"), _, _))
        .WillOnce(Respond(200, absl::StrCat(R"({"access_token":")", token, R"(","expires_in":3600})")))
        .RetiresOnSaturation();
  }

  void ExpectSendWithToken(const std::string& token, int answer_status) {
    EXPECT_CALL(next_, Send(_, Field(&HaloRequest::bearer_token, token), _))
        .WillOnce(AnswerHttp(answer_status))
        .RetiresOnSaturation();
  }

  HaloAnswer Send() {
    std::optional<HaloAnswer> answer;
    sender_.Send(context_, HaloRequest{.method = "GET", .url = "https://acme.halopsa.com/api/Site"},
                 [&](HaloAnswer got) { answer = std::move(got); });
    EXPECT_TRUE(answer.has_value());
    return answer.value_or(HaloAnswer{absl::InternalError("no answer")});
  }

  StrictMock<MockHttpTransport> token_endpoint_;
  AuthDiscovery discovery_{token_endpoint_, AuthDiscoveryOptions()};
  TokenCache tokens_{token_endpoint_, discovery_, TokenCacheOptions()};
  StrictMock<MockHaloRequestSender> next_;
  AuthenticatingSender sender_{next_, tokens_};
  CallContext context_ = AcmeContext(absl::Now() + absl::Seconds(10));
};

TEST_F(AuthenticatingSenderTest, EveryRequestCarriesTheCachedToken) {
  InSequence in_order;
  ExpectToken("tok");
  ExpectSendWithToken("tok", 200);
  ExpectSendWithToken("tok", 404);
  EXPECT_EQ(Send().response->status, 200);
  EXPECT_EQ(Send().response->status, 404) << "the answer goes up unchanged";
  EXPECT_EQ(tokens_.token_requests(), 1);
}

TEST_F(AuthenticatingSenderTest, A401DropsTheTokenSoTheNextRequestGetsAFreshOne) {
  InSequence in_order;
  ExpectToken("revoked");
  ExpectSendWithToken("revoked", 401);
  ExpectToken("fresh");
  ExpectSendWithToken("fresh", 200);
  HaloAnswer refused = Send();
  EXPECT_EQ(refused.response->status, 401) << "the retrying layer decides whether to send again";
  EXPECT_FALSE(refused.unsent.has_value());
  EXPECT_EQ(Send().response->status, 200);
}

TEST_F(AuthenticatingSenderTest, OtherRefusalsKeepTheToken) {
  InSequence in_order;
  ExpectToken("tok");
  ExpectSendWithToken("tok", 403);
  ExpectSendWithToken("tok", 200);
  Send();
  Send();
  EXPECT_EQ(tokens_.token_requests(), 1);
}

TEST_F(AuthenticatingSenderTest, AFailedTokenRequestIsTheAnswerWithItsRetryDecisionAndNothingIsSent) {
  EXPECT_CALL(token_endpoint_, Send(RequestTo("POST", "https://acme.halopsa.com/auth/token"), _, _))
      .WillOnce(Respond(503, "down"))
      .WillOnce(Respond(401, R"({"error":"invalid_client"})"));
  HaloAnswer outage = Send();
  EXPECT_EQ(outage.response.status().code(), absl::StatusCode::kUnavailable);
  ASSERT_TRUE(outage.unsent.has_value());
  EXPECT_EQ(*outage.unsent, ClassifyTokenFailure(outage.response.status()));
  EXPECT_NE(*outage.unsent, AttemptFailure::kFinal) << "a token endpoint outage is retried";
  HaloAnswer rejected = Send();
  EXPECT_EQ(GetErrorInfo(rejected.response.status())->reason(), "UPSTREAM_TOKEN_REJECTED");
  EXPECT_EQ(rejected.unsent, AttemptFailure::kFinal);
}

}  // namespace
}  // namespace halopsa

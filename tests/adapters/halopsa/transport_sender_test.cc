#include "adapters/halopsa/halo_request_sender.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <optional>

#include "tests/adapters/halopsa/mock_halo_request_sender.h"
#include "tests/adapters/halopsa/mock_http_transport.h"

namespace halopsa {
namespace {

using ::testing::_;
using ::testing::ElementsAre;
using ::testing::Pair;
using ::testing::StrictMock;
using testing::AcmeContext;
using testing::MockHttpTransport;
using testing::RequestTo;

class TransportSenderTest : public ::testing::Test {
 protected:
  HaloAnswer Send(HaloRequest request) {
    std::optional<HaloAnswer> answer;
    sender_.Send(context_, std::move(request), [&](HaloAnswer got) { answer = std::move(got); });
    EXPECT_TRUE(answer.has_value());
    return answer.value_or(HaloAnswer{absl::InternalError("no answer")});
  }

  StrictMock<MockHttpTransport> transport_;
  TransportSender sender_{transport_};
  CallContext context_ = AcmeContext(absl::Now() + absl::Seconds(10));
};

TEST_F(TransportSenderTest, AGetCarriesTheBearerTokenWithinTheCallsDeadline) {
  EXPECT_CALL(transport_, Send(RequestTo("GET", "https://acme.halopsa.com/api/Site?id=1"), context_.deadline, _))
      .WillOnce([](net::HttpRequest request, absl::Time, net::HttpTransport::Callback done) {
        EXPECT_THAT(request.headers,
                    ElementsAre(Pair("Authorization", "Bearer tok"), Pair("Accept", "application/json")));
        EXPECT_EQ(request.body, "");
        done(net::HttpResponse{200, "application/json", "{}"});
      });
  HaloAnswer answer = Send({.method = "GET", .url = "https://acme.halopsa.com/api/Site?id=1", .endpoint = "/api/Site",
                            .bearer_token = "tok"});
  ASSERT_TRUE(answer.response.ok());
  EXPECT_EQ(answer.response->status, 200);
  EXPECT_EQ(answer.response->body, "{}");
  EXPECT_FALSE(answer.unsent.has_value());
}

TEST_F(TransportSenderTest, APostCarriesItsJsonAndWhetherItMayBeResent) {
  for (bool repeatable : {true, false}) {
    EXPECT_CALL(transport_, Send(RequestTo("POST", "https://acme.halopsa.com/api/Tickets"), _, _))
        .WillOnce([repeatable](net::HttpRequest request, absl::Time, net::HttpTransport::Callback done) {
          EXPECT_THAT(request.headers,
                      ElementsAre(Pair("Authorization", "Bearer tok"), Pair("Accept", "application/json"),
                                  Pair("Content-Type", "application/json")));
          EXPECT_EQ(request.body, R"([{"id":1}])");
          EXPECT_EQ(request.idempotent, repeatable);
          done(net::HttpResponse{500, "", ""});
        });
    HaloAnswer answer = Send({.method = "POST", .url = "https://acme.halopsa.com/api/Tickets",
                              .endpoint = "/api/Tickets", .body = R"([{"id":1}])", .repeatable = repeatable,
                              .bearer_token = "tok"});
    ASSERT_TRUE(answer.response.ok());
    EXPECT_EQ(answer.response->status, 500) << "any HTTP status is an answer";
  }
}

TEST_F(TransportSenderTest, TransportFailuresComeUpAsTheyAreForTheRetryTable) {
  const absl::Status refused = net::MarkNotSent(absl::UnavailableError("connect failed"));
  EXPECT_CALL(transport_, Send(_, _, _)).WillOnce([&](net::HttpRequest, absl::Time, net::HttpTransport::Callback done) {
    done(refused);
  });
  HaloAnswer answer = Send({.method = "GET", .url = "https://acme.halopsa.com/api/Site", .endpoint = "/api/Site"});
  EXPECT_EQ(answer.response.status(), refused);
  EXPECT_TRUE(net::WasNotSent(answer.response.status()));
  EXPECT_FALSE(answer.unsent.has_value()) << "the retry table classifies transport failures";
}

}  // namespace
}  // namespace halopsa

#include "adapters/halopsa/metered_sender.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <optional>

#include "server/metrics.h"
#include "tests/adapters/halopsa/mock_halo_request_sender.h"

namespace halopsa {
namespace {

using ::testing::_;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StrictMock;
using testing::AcmeContext;
using testing::AnswerFailure;
using testing::AnswerHttp;
using testing::MockHaloRequestSender;

class MeteredSenderTest : public ::testing::Test {
 protected:
  MeteredSenderTest() { context_.stats = std::make_shared<CallStats>(); }

  // Sends a GET of `endpoint` and checks it is answered.
  void Send(MeteredSender& sender, const std::string& endpoint) {
    std::optional<HaloAnswer> answer;
    sender.Send(context_, HaloRequest{.method = "GET", .endpoint = endpoint},
                [&](HaloAnswer got) { answer = std::move(got); });
    EXPECT_TRUE(answer.has_value());
  }

  StrictMock<MockHaloRequestSender> next_;
  MetricsRegistry registry_;
  ServiceMetrics metrics_{registry_};
  CallContext context_ = AcmeContext(absl::InfiniteFuture());
};

TEST_F(MeteredSenderTest, CountsEachAnswerByEndpointAndStatusAndInTheCallsStats) {
  MeteredSender sender(next_, &metrics_);
  EXPECT_CALL(next_, Send(_, _, _))
      .WillOnce(AnswerHttp(200, "{}"))
      .WillOnce(AnswerHttp(404))
      .WillOnce(AnswerHttp(200, "{}"));
  Send(sender, "/api/Tickets/2884");
  Send(sender, "/api/Tickets/17");
  Send(sender, "/api/Tickets/17");
  const std::string text = registry_.Render();
  EXPECT_THAT(text, HasSubstr("halopsa_upstream_requests_total{endpoint=\"/api/Tickets/{id}\",status=\"200\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("halopsa_upstream_requests_total{endpoint=\"/api/Tickets/{id}\",status=\"404\"} 1\n"));
  EXPECT_EQ(context_.stats->upstream_requests.load(), 3);
}

TEST_F(MeteredSenderTest, ATransportFailureCountsAsStatusZero) {
  MeteredSender sender(next_, &metrics_);
  EXPECT_CALL(next_, Send(_, _, _)).WillOnce(AnswerFailure(absl::UnavailableError("reset")));
  Send(sender, "/api/Client");
  EXPECT_THAT(registry_.Render(),
              HasSubstr("halopsa_upstream_requests_total{endpoint=\"/api/Client\",status=\"0\"} 1\n"));
}

TEST_F(MeteredSenderTest, CountsWhenTheAnswerComesNotBefore) {
  MeteredSender sender(next_, &metrics_);
  HaloRequestSender::Callback pending;
  EXPECT_CALL(next_, Send(_, _, _)).WillOnce([&](const CallContext&, HaloRequest, HaloRequestSender::Callback done) {
    pending = std::move(done);
  });
  std::optional<HaloAnswer> answer;
  sender.Send(context_, HaloRequest{.method = "GET", .endpoint = "/api/Site"},
              [&](HaloAnswer got) { answer = std::move(got); });
  EXPECT_EQ(context_.stats->upstream_requests.load(), 0);
  EXPECT_THAT(registry_.Render(), Not(HasSubstr("endpoint=\"/api/Site\"")));
  pending(HaloAnswer{net::HttpResponse{200, "", "{}"}});
  ASSERT_TRUE(answer.has_value());
  EXPECT_EQ(answer->response->body, "{}") << "the answer goes up unchanged";
  EXPECT_EQ(context_.stats->upstream_requests.load(), 1);
}

TEST_F(MeteredSenderTest, WithoutMetricsOnlyTheCallsStatsCount) {
  MeteredSender sender(next_, nullptr);
  EXPECT_CALL(next_, Send(_, _, _)).WillOnce(AnswerHttp(200, "{}"));
  Send(sender, "/api/Site");
  EXPECT_EQ(context_.stats->upstream_requests.load(), 1);
}

TEST(EndpointLabelTest, NumericSegmentsBecomeId) {
  EXPECT_EQ(EndpointLabel("/api/Tickets/2884"), "/api/Tickets/{id}");
  EXPECT_EQ(EndpointLabel("/api/Tickets"), "/api/Tickets");
  EXPECT_EQ(EndpointLabel("/api/Asset/12/Link/3a"), "/api/Asset/{id}/Link/3a");
}

}  // namespace
}  // namespace halopsa

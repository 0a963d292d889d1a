#include "adapters/limacharlie/deferral.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "server/error_mapping.h"
#include "tests/testing/json_matchers.h"
#include "tests/testing/lc_test_client.h"

namespace halopsa::lc {
namespace {

using ::testing::HasSubstr;
using halopsa::testing::JsonEq;
using ::testing::Optional;

absl::Status BudgetRefusal(absl::Duration delay) {
  return WithRetryDelay(WithErrorInfo(absl::UnavailableError("no request slot"), kReasonUpstreamRateLimited), delay);
}

TEST(DeferralSecondsTest, TheBudgetsDelayRoundedUp) {
  EXPECT_THAT(DeferralSeconds(BudgetRefusal(absl::Milliseconds(2300))), Optional(3));
  EXPECT_THAT(DeferralSeconds(BudgetRefusal(absl::Seconds(42))), Optional(42));
}

TEST(DeferralSecondsTest, WithinLimaCharliesBounds) {
  EXPECT_THAT(DeferralSeconds(BudgetRefusal(absl::ZeroDuration())), Optional(kMinDeferralSeconds));
  EXPECT_THAT(DeferralSeconds(BudgetRefusal(absl::Milliseconds(10))), Optional(1));
  EXPECT_THAT(DeferralSeconds(BudgetRefusal(absl::Minutes(20))), Optional(kMaxDeferralSeconds));
}

TEST(DeferralSecondsTest, OnlyTheBudgetsRefusalDefers) {
  // HaloPSA's own 429 after the call's retries: its RetryInfo, but no
  // promise that a later slot exists; the same reason, without a delay.
  EXPECT_EQ(DeferralSeconds(WithErrorInfo(absl::UnavailableError("429"), kReasonUpstreamRateLimited)), std::nullopt);
  EXPECT_EQ(DeferralSeconds(WithRetryDelay(WithErrorInfo(absl::UnavailableError("5xx"), "UPSTREAM_UNAVAILABLE"),
                                           absl::Seconds(2))),
            std::nullopt);
  EXPECT_EQ(DeferralSeconds(WithRetryDelay(WithErrorInfo(absl::ResourceExhaustedError("queue"), "OVERLOADED"),
                                           absl::Seconds(2))),
            std::nullopt);
  EXPECT_EQ(DeferralSeconds(absl::OkStatus()), std::nullopt);
}

// The continuation envelope's exact shape.
TEST(DeferredResponseTest, ExactEnvelope) {
  net::ServerResponse response =
      DeferredResponse({"create_ticket", R"({"summary":"s","client_id":"12"})", "parent-key"}, 17);
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.content_type, "application/json");
  EXPECT_EQ(response.body,
            R"({"version":20221218,"data":{"deferred":true,"retry_in_sec":17},"continuations":[{"in_delay_sec":17,)"
            R"("action":"run_deferred","state":{"action":"create_ticket","data":{"summary":"s","client_id":"12"},)"
            R"("idempotency_key":"parent-key"}}]})");
}

TEST(DeferredRequestTest, TheStateRoundTrips) {
  net::ServerResponse response = DeferredResponse({"add_action", R"({"ticket_id":7,"note":"n"})", "k\"1"}, 5);
  testing::Reply reply = testing::ParseReply(response);
  absl::StatusOr<DeferredRequest> request =
      ParseDeferredRequest(testing::Json(reply.json["continuations"][0]["state"]));
  ASSERT_TRUE(request.ok()) << request.status();
  EXPECT_EQ(request->action, "add_action");
  EXPECT_THAT(request->data_json, JsonEq(R"({"ticket_id":7,"note":"n"})"));
  EXPECT_EQ(request->idempotency_key, "k\"1");
}

TEST(DeferredRequestTest, RefusesWhatTheSchemaRefuses) {
  const auto refusal = [](absl::string_view state) {
    absl::StatusOr<DeferredRequest> request = ParseDeferredRequest(state);
    EXPECT_EQ(request.status().code(), absl::StatusCode::kInvalidArgument) << state;
    EXPECT_THAT(GetErrorInfo(request.status()), ::testing::Ne(std::nullopt)) << state;
    return std::string(request.status().message());
  };
  EXPECT_THAT(refusal(R"({"action":"create_ticket","data":{},"idempotency_key":"k","extra":1})"),
              HasSubstr("run_deferred.extra"));
  EXPECT_THAT(refusal(R"({"action":"create_ticket","data":{}})"), HasSubstr("idempotency_key: is required"));
  EXPECT_THAT(refusal(R"({"action":"create_ticket","data":{},"idempotency_key":""})"), HasSubstr("must not be empty"));
  EXPECT_THAT(refusal(R"({"action":"create_ticket","data":"{}","idempotency_key":"k"})"),
              HasSubstr("data: must be an object"));
  // Reads are never deferred, and the hidden action cannot defer itself.
  EXPECT_THAT(refusal(R"({"action":"search_tickets","data":{},"idempotency_key":"k"})"),
              HasSubstr("must be one of create_ticket, update_ticket, add_action, link_asset_to_ticket"));
  EXPECT_THAT(refusal(R"({"action":"run_deferred","data":{},"idempotency_key":"k"})"), HasSubstr("must be one of"));
  EXPECT_THAT(refusal(R"([1])"), HasSubstr("JSON object"));
}

}  // namespace
}  // namespace halopsa::lc

#include "adapters/halopsa/halo_errors.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "server/error_mapping.h"

namespace halopsa {
namespace {

using ::testing::HasSubstr;

struct HttpCase {
  int http_status;
  absl::StatusCode code;
  const char* reason;
};

class HaloHttpTableTest : public ::testing::TestWithParam<HttpCase> {};

TEST_P(HaloHttpTableTest, MapsStatusCodeAndReason) {
  const HttpCase& c = GetParam();
  absl::Status status = FromHaloHttpStatus(c.http_status, "/api/Tickets", R"({"error":"nope"})");
  EXPECT_EQ(status.code(), c.code);
  auto info = GetErrorInfo(status);
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->reason(), c.reason);
  EXPECT_EQ(info->domain(), "ext-halopsa");
  EXPECT_EQ(info->metadata().at("http_status"), std::to_string(c.http_status));
  EXPECT_EQ(info->metadata().at("endpoint"), "/api/Tickets");
  EXPECT_THAT(status.message(), HasSubstr("nope"));
}

INSTANTIATE_TEST_SUITE_P(
    Table, HaloHttpTableTest,
    ::testing::Values(HttpCase{400, absl::StatusCode::kInvalidArgument, "UPSTREAM_BAD_REQUEST"},
                      HttpCase{401, absl::StatusCode::kUnauthenticated, "UPSTREAM_UNAUTHENTICATED"},
                      HttpCase{403, absl::StatusCode::kPermissionDenied, "UPSTREAM_PERMISSION_DENIED"},
                      HttpCase{404, absl::StatusCode::kNotFound, "UPSTREAM_NOT_FOUND"},
                      HttpCase{409, absl::StatusCode::kAborted, "UPSTREAM_CONFLICT"},
                      HttpCase{429, absl::StatusCode::kUnavailable, "UPSTREAM_RATE_LIMITED"},
                      HttpCase{500, absl::StatusCode::kUnavailable, "UPSTREAM_UNAVAILABLE"},
                      HttpCase{502, absl::StatusCode::kUnavailable, "UPSTREAM_UNAVAILABLE"},
                      HttpCase{503, absl::StatusCode::kUnavailable, "UPSTREAM_UNAVAILABLE"},
                      HttpCase{504, absl::StatusCode::kUnavailable, "UPSTREAM_UNAVAILABLE"},
                      HttpCase{418, absl::StatusCode::kFailedPrecondition, "UPSTREAM_REJECTED"},
                      HttpCase{507, absl::StatusCode::kUnavailable, "UPSTREAM_UNAVAILABLE"},
                      HttpCase{302, absl::StatusCode::kUnknown, "UPSTREAM_UNEXPECTED_STATUS"}));

TEST(HaloHttpTest, A403NamesThePermissionHaloPsaNames) {
  absl::Status named = FromHaloHttpStatus(403, "/api/Tickets", R"({"error": "Requires read:tickets, edit:tickets"})");
  EXPECT_EQ(named.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(std::string(named.message()), ::testing::HasSubstr("lacks the permission read:tickets"));
  EXPECT_EQ(GetErrorInfo(named)->reason(), "UPSTREAM_PERMISSION_DENIED");
  EXPECT_EQ(GetErrorInfo(named)->metadata().at("missing_permission"), "read:tickets");
  EXPECT_EQ(GetErrorInfo(named)->metadata().at("http_status"), "403");

  absl::Status unnamed = FromHaloHttpStatus(403, "/api/Tickets", R"({"error": "Forbidden"})");
  EXPECT_EQ(unnamed.message(), "HaloPSA /api/Tickets answered HTTP 403: Forbidden");
  EXPECT_FALSE(GetErrorInfo(unnamed)->metadata().contains("missing_permission"));
  // Only a 403 is about permissions.
  EXPECT_FALSE(GetErrorInfo(FromHaloHttpStatus(400, "/x", R"("read:tickets")"))->metadata().contains(
      "missing_permission"));
}

struct BodyCase {
  const char* body;
  const char* text;
};

class HaloErrorTextTest : public ::testing::TestWithParam<BodyCase> {};

TEST_P(HaloErrorTextTest, ReadsEveryHaloErrorShape) {
  EXPECT_EQ(HaloErrorText(GetParam().body), GetParam().text);
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, HaloErrorTextTest,
    ::testing::Values(BodyCase{R"("CODE:APP03/2 Please select a Client")", "CODE:APP03/2 Please select a Client"},
                      BodyCase{R"({"error":"invalid_client"})", "invalid_client"},
                      BodyCase{R"({"error":"invalid_scope","error_description":"bad scope"})",
                               "invalid_scope: bad scope"},
                      BodyCase{R"({"errors":["An Outcome must be entered","Second"]})",
                               "An Outcome must be entered; Second"},
                      BodyCase{R"({"Message":"Object reference not set"})", "Object reference not set"},
                      BodyCase{R"({"summary":["is required"],"assets":"must be objects"})",
                               "assets: must be objects; summary: is required"},
                      BodyCase{"Rate Limit Reached - 300 Requests per rolling 5 minute window",
                               "Rate Limit Reached - 300 Requests per rolling 5 minute window"},
                      BodyCase{"line one\r\nline\ttwo", "line one  line two"},
                      BodyCase{"", ""}));

TEST(HaloErrorTextTest, BoundsLongBodies) {
  std::string text = HaloErrorText(std::string(10000, 'x'));
  EXPECT_LE(text.size(), kMaxUpstreamTextBytes + 3);
  EXPECT_THAT(text, ::testing::EndsWith("\xE2\x80\xA6"));  // …
}

struct TransportCase {
  absl::StatusCode code;
  const char* reason;
};

class TransportTableTest : public ::testing::TestWithParam<TransportCase> {};

TEST_P(TransportTableTest, KeepsCodeAndAddsReason) {
  absl::Status status = FromTransportFailure(absl::Status(GetParam().code, "waiting for response"), "/api/Asset");
  EXPECT_EQ(status.code(), GetParam().code);
  EXPECT_EQ(status.message(), "HaloPSA /api/Asset: waiting for response");
  EXPECT_EQ(GetErrorInfo(status)->reason(), GetParam().reason);
  EXPECT_EQ(GetErrorInfo(status)->metadata().at("endpoint"), "/api/Asset");
}

INSTANTIATE_TEST_SUITE_P(
    Table, TransportTableTest,
    ::testing::Values(TransportCase{absl::StatusCode::kDeadlineExceeded, "UPSTREAM_TIMEOUT"},
                      TransportCase{absl::StatusCode::kUnavailable, "UPSTREAM_UNREACHABLE"},
                      TransportCase{absl::StatusCode::kPermissionDenied, "UPSTREAM_ADDRESS_REFUSED"},
                      TransportCase{absl::StatusCode::kFailedPrecondition, "UPSTREAM_TLS_FAILED"},
                      TransportCase{absl::StatusCode::kInvalidArgument, "INVALID_INSTANCE_URL"},
                      TransportCase{absl::StatusCode::kResourceExhausted, "UPSTREAM_OVERLOADED"},
                      TransportCase{absl::StatusCode::kCancelled, "SHUTTING_DOWN"},
                      // Anything else did not reach HaloPSA either.
                      TransportCase{absl::StatusCode::kInternal, "UPSTREAM_UNREACHABLE"}));

}  // namespace
}  // namespace halopsa

#include "server/error_mapping.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "google/rpc/status.pb.h"

namespace halopsa {
namespace {

using ::testing::HasSubstr;

struct HttpCase {
  int http_status;
  absl::StatusCode code;
  const char* reason;
};

class HttpMappingTest : public ::testing::TestWithParam<HttpCase> {};

TEST_P(HttpMappingTest, MapsStatusCodeAndReason) {
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
    Table, HttpMappingTest,
    ::testing::Values(HttpCase{400, absl::StatusCode::kInvalidArgument, "UPSTREAM_BAD_REQUEST"},
                      HttpCase{401, absl::StatusCode::kUnauthenticated, "UPSTREAM_UNAUTHENTICATED"},
                      HttpCase{403, absl::StatusCode::kPermissionDenied, "UPSTREAM_PERMISSION_DENIED"},
                      HttpCase{404, absl::StatusCode::kNotFound, "UPSTREAM_NOT_FOUND"},
                      HttpCase{409, absl::StatusCode::kAborted, "UPSTREAM_CONFLICT"},
                      HttpCase{429, absl::StatusCode::kUnavailable, "UPSTREAM_RATE_LIMITED"},
                      HttpCase{500, absl::StatusCode::kUnavailable, "UPSTREAM_UNAVAILABLE"},
                      HttpCase{503, absl::StatusCode::kUnavailable, "UPSTREAM_UNAVAILABLE"},
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

TEST(LimaCharlieHttpTest, SameCodesAsHaloWithItsOwnReasonAndWording) {
  absl::Status status =
      FromLimaCharlieHttpStatus(404, "/v1/hive/secret/oid-1/halo/data", R"({"error":"record not found"})");
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(status.message(), "LimaCharlie /v1/hive/secret/oid-1/halo/data answered HTTP 404: record not found");
  auto info = GetErrorInfo(status);
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->reason(), "LIMACHARLIE_API_ERROR");
  EXPECT_EQ(info->metadata().at("http_status"), "404");
  EXPECT_EQ(FromLimaCharlieHttpStatus(401, "/x", "").code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(FromLimaCharlieHttpStatus(503, "/x", "").code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(FromLimaCharlieHttpStatus(418, "/x", "").code(), absl::StatusCode::kFailedPrecondition);
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
  EXPECT_LE(text.size(), 520u);
  EXPECT_THAT(text, ::testing::EndsWith("\xE2\x80\xA6"));  // …
}

TEST(HaloErrorTextTest, KeepsTextValidUtf8) {
  EXPECT_EQ(HaloErrorText("bad \xF9 byte"), "bad \xEF\xBF\xBD byte");  // U+FFFD
  // Cut at the bound on a character boundary, never inside "é".
  std::string long_text = std::string(511, 'a') + "\xC3\xA9" + "tail";
  std::string text = HaloErrorText(long_text);
  EXPECT_EQ(text, std::string(511, 'a') + "\xE2\x80\xA6");
}

TEST(GrpcConversionTest, InvalidUtf8MessageKeepsItsDetails) {
  absl::Status odd = WithErrorInfo(absl::InvalidArgumentError("raw \xF9"), "UPSTREAM_BAD_REQUEST");
  absl::Status round_trip = FromGrpcStatus(ToGrpcStatus(odd));
  ASSERT_TRUE(GetErrorInfo(round_trip).has_value());
  EXPECT_EQ(GetErrorInfo(round_trip)->reason(), "UPSTREAM_BAD_REQUEST");
  EXPECT_EQ(round_trip.message(), "raw \xEF\xBF\xBD");
}

TEST(InvalidFieldTest, NamesFieldInMessageAndDetails) {
  absl::Status status = InvalidField("customfields[1].id", "must be a positive id");
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(), "customfields[1].id: must be a positive id");
  EXPECT_EQ(GetErrorInfo(status)->reason(), "INVALID_FIELD");
  EXPECT_EQ(GetErrorInfo(status)->metadata().at("field"), "customfields[1].id");
}

TEST(TransportFailureTest, KeepsCodeAndAddsReason) {
  absl::Status status = FromTransportFailure(absl::DeadlineExceededError("waiting for response"), "/api/Asset");
  EXPECT_EQ(status.code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(status.message(), "HaloPSA /api/Asset: waiting for response");
  EXPECT_EQ(GetErrorInfo(status)->reason(), "UPSTREAM_TIMEOUT");
  EXPECT_EQ(GetErrorInfo(FromTransportFailure(absl::PermissionDeniedError("private"), "/x"))->reason(),
            "UPSTREAM_ADDRESS_REFUSED");
}

TEST(GrpcConversionTest, CarriesErrorInfoAndBadRequestAsRichStatus) {
  absl::Status status = InvalidField("summary", "is required");
  grpc::Status converted = ToGrpcStatus(status);
  EXPECT_EQ(converted.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(converted.error_message(), "summary: is required");

  google::rpc::Status rich;
  ASSERT_TRUE(rich.ParseFromString(converted.error_details()));
  EXPECT_EQ(rich.code(), grpc::StatusCode::INVALID_ARGUMENT);
  std::vector<std::string> types;
  for (const auto& detail : rich.details()) types.push_back(detail.type_url());
  EXPECT_THAT(types, ::testing::UnorderedElementsAre("type.googleapis.com/google.rpc.ErrorInfo",
                                                     "type.googleapis.com/google.rpc.BadRequest"));
  google::rpc::BadRequest bad_request;
  for (const auto& detail : rich.details()) {
    if (detail.Is<google::rpc::BadRequest>()) {
      ASSERT_TRUE(detail.UnpackTo(&bad_request));
    }
  }
  ASSERT_EQ(bad_request.field_violations_size(), 1);
  EXPECT_EQ(bad_request.field_violations(0).field(), "summary");

  absl::Status round_trip = FromGrpcStatus(converted);
  EXPECT_EQ(round_trip.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(round_trip.message(), "summary: is required");
  EXPECT_EQ(GetErrorInfo(round_trip)->reason(), "INVALID_FIELD");
}

TEST(GrpcConversionTest, OkStaysOk) {
  EXPECT_TRUE(ToGrpcStatus(absl::OkStatus()).ok());
  EXPECT_TRUE(FromGrpcStatus(grpc::Status::OK).ok());
}

struct EnvelopeCase {
  absl::StatusCode code;
  int http_status;
  bool retriable;
};

class EnvelopeMappingTest : public ::testing::TestWithParam<EnvelopeCase> {};

TEST_P(EnvelopeMappingTest, PermanentIs400TransientIs500) {
  EnvelopeOutcome outcome = ToEnvelopeOutcome(GetParam().code);
  EXPECT_EQ(outcome.http_status, GetParam().http_status);
  EXPECT_EQ(outcome.retriable, GetParam().retriable);
}

INSTANTIATE_TEST_SUITE_P(
    Table, EnvelopeMappingTest,
    ::testing::Values(EnvelopeCase{absl::StatusCode::kOk, 200, false},
                      EnvelopeCase{absl::StatusCode::kInvalidArgument, 400, false},
                      EnvelopeCase{absl::StatusCode::kNotFound, 400, false},
                      EnvelopeCase{absl::StatusCode::kPermissionDenied, 400, false},
                      EnvelopeCase{absl::StatusCode::kUnauthenticated, 400, false},
                      EnvelopeCase{absl::StatusCode::kFailedPrecondition, 400, false},
                      EnvelopeCase{absl::StatusCode::kUnavailable, 500, true},
                      EnvelopeCase{absl::StatusCode::kDeadlineExceeded, 500, true},
                      EnvelopeCase{absl::StatusCode::kResourceExhausted, 500, true},
                      EnvelopeCase{absl::StatusCode::kInternal, 500, true}));

}  // namespace
}  // namespace halopsa

#include "server/error_mapping.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "google/rpc/status.pb.h"

namespace halopsa {
namespace {

struct HttpCase {
  int http_status;
  absl::StatusCode code;
};

class HttpStatusToCodeTest : public ::testing::TestWithParam<HttpCase> {};

TEST_P(HttpStatusToCodeTest, MapsByTableThenByClass) {
  EXPECT_EQ(HttpStatusToCode(GetParam().http_status), GetParam().code);
}

INSTANTIATE_TEST_SUITE_P(Table, HttpStatusToCodeTest,
                         ::testing::Values(HttpCase{400, absl::StatusCode::kInvalidArgument},
                                           HttpCase{401, absl::StatusCode::kUnauthenticated},
                                           HttpCase{403, absl::StatusCode::kPermissionDenied},
                                           HttpCase{404, absl::StatusCode::kNotFound},
                                           HttpCase{409, absl::StatusCode::kAborted},
                                           HttpCase{429, absl::StatusCode::kUnavailable},
                                           HttpCase{500, absl::StatusCode::kUnavailable},
                                           HttpCase{503, absl::StatusCode::kUnavailable},
                                           HttpCase{507, absl::StatusCode::kUnavailable},
                                           HttpCase{418, absl::StatusCode::kFailedPrecondition},
                                           HttpCase{302, absl::StatusCode::kUnknown}));

TEST(UpstreamHttpErrorTest, NamesUpstreamEndpointAndStatus) {
  absl::Status status = UpstreamHttpError("Upstream", "SOME_REASON", 404, "/api/Thing", "no such thing");
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(status.message(), "Upstream /api/Thing answered HTTP 404: no such thing");
  auto info = GetErrorInfo(status);
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->reason(), "SOME_REASON");
  EXPECT_EQ(info->domain(), "ext-halopsa");
  EXPECT_EQ(info->metadata().at("http_status"), "404");
  EXPECT_EQ(info->metadata().at("endpoint"), "/api/Thing");
  EXPECT_EQ(UpstreamHttpError("Upstream", "SOME_REASON", 503, "/x", "").message(), "Upstream /x answered HTTP 503");
}

TEST(UpstreamErrorTextTest, MakesOneTrimmedLine) {
  EXPECT_EQ(UpstreamErrorText("  line one\r\nline\ttwo\n"), "line one  line two");
  EXPECT_EQ(UpstreamErrorText(""), "");
}

TEST(UpstreamErrorTextTest, BoundsLongText) {
  std::string text = UpstreamErrorText(std::string(10000, 'x'));
  EXPECT_EQ(text, std::string(kMaxUpstreamTextBytes, 'x') + "\xE2\x80\xA6");  // …
}

TEST(UpstreamErrorTextTest, KeepsTextValidUtf8) {
  EXPECT_EQ(UpstreamErrorText("bad \xF9 byte"), "bad \xEF\xBF\xBD byte");  // U+FFFD
  // Cut at the bound on a character boundary, never inside "é".
  std::string long_text = std::string(kMaxUpstreamTextBytes - 1, 'a') + "\xC3\xA9" + "tail";
  EXPECT_EQ(UpstreamErrorText(long_text), std::string(kMaxUpstreamTextBytes - 1, 'a') + "\xE2\x80\xA6");
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

TEST(RetryDelayTest, RoundTripsToTheMillisecond) {
  absl::Status status = WithRetryDelay(absl::UnavailableError("busy"), absl::Milliseconds(2500));
  EXPECT_EQ(GetRetryDelay(status), absl::Milliseconds(2500));
  EXPECT_EQ(GetRetryDelay(WithRetryDelay(absl::UnavailableError("busy"), absl::Seconds(-3))), absl::ZeroDuration());
  EXPECT_FALSE(GetRetryDelay(absl::UnavailableError("busy")).has_value());
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

}  // namespace
}  // namespace halopsa

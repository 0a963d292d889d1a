#include "adapters/limacharlie/lc_errors.h"

#include <gtest/gtest.h>

#include "server/error_mapping.h"

namespace halopsa::lc {
namespace {

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

TEST(LimaCharlieHttpTest, AnyOtherBodyIsItsText) {
  EXPECT_EQ(FromLimaCharlieHttpStatus(502, "/x", "Bad Gateway\n").message(),
            "LimaCharlie /x answered HTTP 502: Bad Gateway");
  EXPECT_EQ(FromLimaCharlieHttpStatus(400, "/x", R"({"error":5})").message(),
            R"(LimaCharlie /x answered HTTP 400: {"error":5})");
}

struct EnvelopeCase {
  absl::StatusCode code;
  int http_status;
  bool retriable;
};

class EnvelopeTableTest : public ::testing::TestWithParam<EnvelopeCase> {};

TEST_P(EnvelopeTableTest, PermanentIs400TransientIs500) {
  EnvelopeOutcome outcome = ToEnvelopeOutcome(GetParam().code);
  EXPECT_EQ(outcome.http_status, GetParam().http_status);
  EXPECT_EQ(outcome.retriable, GetParam().retriable);
}

INSTANTIATE_TEST_SUITE_P(
    Table, EnvelopeTableTest,
    ::testing::Values(EnvelopeCase{absl::StatusCode::kOk, 200, false},
                      EnvelopeCase{absl::StatusCode::kInvalidArgument, 400, false},
                      EnvelopeCase{absl::StatusCode::kNotFound, 400, false},
                      EnvelopeCase{absl::StatusCode::kAlreadyExists, 400, false},
                      EnvelopeCase{absl::StatusCode::kPermissionDenied, 400, false},
                      EnvelopeCase{absl::StatusCode::kUnauthenticated, 400, false},
                      EnvelopeCase{absl::StatusCode::kFailedPrecondition, 400, false},
                      EnvelopeCase{absl::StatusCode::kOutOfRange, 400, false},
                      EnvelopeCase{absl::StatusCode::kUnimplemented, 400, false},
                      EnvelopeCase{absl::StatusCode::kUnavailable, 500, true},
                      EnvelopeCase{absl::StatusCode::kDeadlineExceeded, 500, true},
                      EnvelopeCase{absl::StatusCode::kResourceExhausted, 500, true},
                      EnvelopeCase{absl::StatusCode::kInternal, 500, true},
                      EnvelopeCase{absl::StatusCode::kAborted, 500, true}));

}  // namespace
}  // namespace halopsa::lc

#include "server/logger.h"

#include <cstdio>
#include <string>

#include <gmock/gmock.h>
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>

#include "server/json_values.h"
#include "tests/testing/test_support.h"

namespace halopsa {
namespace {

using testing::ReadCapturedLog;

TEST(LoggerTest, WritesOneJsonObjectPerLineWithEscaping) {
  std::FILE* out = std::tmpfile();
  Logger logger(LogLevel::kInfo, out);
  logger.Log(LogLevel::kInfo, "rpc",
             {{"method", "CreateTicket"}, {"error", "line\n\"quoted\""}, {"upstream_requests", int64_t{2}},
              {"duration_ms", 1.5}, {"ok", true}});
  std::string text = ReadCapturedLog(out);
  ASSERT_EQ(std::count(text.begin(), text.end(), '\n'), 1);
  absl::StatusOr<google::protobuf::Value> line = ParseJson(text);
  ASSERT_TRUE(line.ok()) << text;
  const auto& fields = line->struct_value().fields();
  EXPECT_EQ(fields.at("level").string_value(), "info");
  EXPECT_EQ(fields.at("msg").string_value(), "rpc");
  EXPECT_EQ(fields.at("error").string_value(), "line\n\"quoted\"");
  EXPECT_EQ(fields.at("upstream_requests").number_value(), 2);
  EXPECT_EQ(fields.at("ok").bool_value(), true);
  EXPECT_FALSE(fields.at("ts").string_value().empty());
  std::fclose(out);
}

TEST(LoggerTest, DropsLinesBelowTheLevel) {
  std::FILE* out = std::tmpfile();
  Logger logger(LogLevel::kWarning, out);
  logger.Log(LogLevel::kInfo, "quiet", {});
  logger.Log(LogLevel::kError, "loud", {});
  std::string text = ReadCapturedLog(out);
  EXPECT_THAT(text, ::testing::Not(::testing::HasSubstr("quiet")));
  EXPECT_THAT(text, ::testing::HasSubstr("loud"));
  std::fclose(out);
}

TEST(LoggerTest, ParsesLevels) {
  EXPECT_EQ(*ParseLogLevel("DEBUG"), LogLevel::kDebug);
  EXPECT_EQ(*ParseLogLevel("warning"), LogLevel::kWarning);
  EXPECT_EQ(ParseLogLevel("verbose").status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace halopsa

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

// The probe's input: a raw 0xff byte in x-halopsa-org-id once made the
// line invalid UTF-8. ParseJson validates UTF-8, so it checks the line.
TEST(LoggerTest, LinesStayValidUtf8JsonWhateverBytesArrive) {
  std::FILE* out = std::tmpfile();
  Logger logger(LogLevel::kInfo, out);
  logger.Log(LogLevel::kInfo, "rpc\xff", {{"org", "org-\xff-9"}, {"key\xc0\xaf", "\xed\xa0\x80 \xf4\x90\x80\x80"}});
  std::string text = ReadCapturedLog(out);
  absl::StatusOr<google::protobuf::Value> line = ParseJson(text);
  ASSERT_TRUE(line.ok()) << line.status();
  EXPECT_EQ(line->struct_value().fields().at("org").string_value(), "org-\xEF\xBF\xBD-9");
  std::fclose(out);
}

TEST(LoggerTest, SafeForLogKeepsValidTextAndReplacesEachInvalidByte) {
  EXPECT_EQ(SafeForLog("plain ascii"), "plain ascii");
  EXPECT_EQ(SafeForLog("\xC3\xBC \xE2\x82\xAC \xF0\x9F\x98\x80"), "\xC3\xBC \xE2\x82\xAC \xF0\x9F\x98\x80");
  EXPECT_EQ(SafeForLog("a\xff" "b"), "a\xEF\xBF\xBD" "b");
  // Overlong "/", a surrogate, beyond U+10FFFF, a cut sequence.
  EXPECT_EQ(SafeForLog("\xC0\xAF"), "\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(SafeForLog("\xED\xA0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(SafeForLog("\xF4\x90\x80\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(SafeForLog("x\xE2\x82"), "x\xEF\xBF\xBD\xEF\xBF\xBD");
}

TEST(LoggerTest, SafeForLogBoundsLongText) {
  const std::string safe = SafeForLog(std::string(kMaxLoggedTextBytes + 100, 'a'));
  EXPECT_EQ(safe, std::string(kMaxLoggedTextBytes, 'a') + "\xE2\x80\xA6");
}

TEST(LoggerTest, SafeForLogCutsAtTheGivenBoundOnACharacterBoundary) {
  EXPECT_EQ(SafeForLog("abcdef", 6), "abcdef");
  EXPECT_EQ(SafeForLog("abcdefg", 6), "abcdef\xE2\x80\xA6");
  // "\xC3\xA9" (é) would end past the bound: cut before it, not inside it.
  EXPECT_EQ(SafeForLog("abcde\xC3\xA9", 6), "abcde\xE2\x80\xA6");
}

TEST(LoggerTest, ParsesLevels) {
  EXPECT_EQ(*ParseLogLevel("DEBUG"), LogLevel::kDebug);
  EXPECT_EQ(*ParseLogLevel("warning"), LogLevel::kWarning);
  EXPECT_EQ(ParseLogLevel("verbose").status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace halopsa

#include "adapters/limacharlie/gzip.h"

#include <gtest/gtest.h>

namespace halopsa::lc {
namespace {

TEST(GzipTest, RoundTrips) {
  const std::string text = R"({"version":20221218,"heartbeat":{}})";
  const std::string compressed = Gzip(text);
  ASSERT_GE(compressed.size(), 2u);
  EXPECT_EQ(static_cast<unsigned char>(compressed[0]), 0x1f);  // gzip magic
  EXPECT_EQ(static_cast<unsigned char>(compressed[1]), 0x8b);
  absl::StatusOr<std::string> decoded = Gunzip(compressed, 1 << 20);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(*decoded, text);
}

TEST(GzipTest, EmptyBodyRoundTrips) {
  absl::StatusOr<std::string> decoded = Gunzip(Gzip(""), 0);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(*decoded, "");
}

TEST(GzipTest, RejectsWhatIsNotGzip) {
  absl::StatusOr<std::string> decoded = Gunzip(R"({"heartbeat":{}})", 1 << 20);
  EXPECT_EQ(decoded.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(GzipTest, RejectsTruncatedStream) {
  const std::string compressed = Gzip(std::string(1000, 'x'));
  absl::StatusOr<std::string> decoded = Gunzip(compressed.substr(0, compressed.size() - 4), 1 << 20);
  EXPECT_EQ(decoded.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(decoded.status().message(), "gzip: truncated stream");
}

TEST(GzipTest, RejectsBytesAfterTheStream) {
  absl::StatusOr<std::string> decoded = Gunzip(Gzip("{}") + "junk", 1 << 20);
  EXPECT_EQ(decoded.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(GzipTest, OutputIsBoundedSoZipBombsStopEarly) {
  const std::string bomb = Gzip(std::string(8 << 20, '\0'));  // 8 MiB of zeros, a few KiB compressed
  ASSERT_LT(bomb.size(), 64u << 10);
  absl::StatusOr<std::string> decoded = Gunzip(bomb, 1 << 20);
  EXPECT_EQ(decoded.status().code(), absl::StatusCode::kResourceExhausted);
}

TEST(GzipTest, OutputExactlyAtTheBoundIsAccepted) {
  absl::StatusOr<std::string> decoded = Gunzip(Gzip(std::string(5000, 'a')), 5000);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(decoded->size(), 5000u);
  EXPECT_EQ(Gunzip(Gzip(std::string(5001, 'a')), 5000).status().code(), absl::StatusCode::kResourceExhausted);
}

}  // namespace
}  // namespace halopsa::lc

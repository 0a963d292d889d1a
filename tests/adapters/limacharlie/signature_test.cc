#include "adapters/limacharlie/signature.h"

#include <gtest/gtest.h>

#include "absl/strings/ascii.h"

namespace halopsa::lc {
namespace {

// RFC 4231, test case 2.
constexpr char kKey[] = "Jefe";
constexpr char kData[] = "what do ya want for nothing?";
constexpr char kMac[] = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843";

TEST(SignatureTest, SignIsLowercaseHexHmacSha256) { EXPECT_EQ(Sign(kKey, kData), kMac); }

TEST(SignatureTest, VerifiesTheExactSignature) { EXPECT_TRUE(VerifySignature(kKey, kData, kMac)); }

TEST(SignatureTest, RejectsOtherBodiesAndKeys) {
  EXPECT_FALSE(VerifySignature(kKey, "what do ya want for nothing? ", kMac));
  EXPECT_FALSE(VerifySignature("jefe", kData, kMac));
}

TEST(SignatureTest, RejectsWrongLengthWithoutReadingPastIt) {
  const std::string mac = kMac;
  EXPECT_FALSE(VerifySignature(kKey, kData, mac.substr(0, 63)));
  EXPECT_FALSE(VerifySignature(kKey, kData, mac + "0"));
  EXPECT_FALSE(VerifySignature(kKey, kData, ""));
}

TEST(SignatureTest, RejectsUpperCaseHex) { EXPECT_FALSE(VerifySignature(kKey, kData, absl::AsciiStrToUpper(kMac))); }

TEST(SignatureTest, RejectsOneDifferentCharacterAnywhere) {
  for (size_t i : {size_t{0}, size_t{31}, size_t{63}}) {
    std::string mac = kMac;
    mac[i] = mac[i] == '0' ? '1' : '0';
    EXPECT_FALSE(VerifySignature(kKey, kData, mac)) << i;
  }
}

}  // namespace
}  // namespace halopsa::lc

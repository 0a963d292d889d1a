// The gateway's door: size limits, Content-Encoding, the lc-ext-sig
// signature and the throttle on sources that keep failing it, before any
// envelope is read.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "adapters/limacharlie/gzip.h"
#include "adapters/limacharlie/signature.h"
#include "tests/adapters/limacharlie/gateway_fixture.h"

namespace halopsa::lc::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

TEST_F(GatewayTest, MissingSignatureIsAnswered200WithAnEmptyBody) {
  Reply reply = Lc().Send(RequestEnvelope(org_, "create_ticket", R"({"summary":"s"})", LiteralConfig()), Unsigned());
  EXPECT_EQ(reply.status, 200);
  EXPECT_EQ(reply.body, "");
}

TEST_F(GatewayTest, BadSignatureIs401AndNeverReachesAnAction) {
  const std::string envelope = RequestEnvelope(org_, "create_ticket", R"({"summary":"s"})", LiteralConfig());
  const std::string right = Sign(kSigningSecret, envelope);
  for (const std::string& wrong : {Sign("other-secret", envelope), absl::AsciiStrToUpper(right), right.substr(1),
                                   Sign(kSigningSecret, envelope + " ")}) {
    Reply reply = Lc().Send(envelope, SignedWith(wrong));
    EXPECT_EQ(reply.status, 401) << wrong;
    EXPECT_EQ(reply.error(), "invalid lc-ext-sig signature");
  }
}

TEST_F(GatewayTest, SignatureCoversTheDecodedBytes) {
  // Signed over the gzip bytes instead of the JSON: refused.
  const std::string envelope = HeartbeatEnvelope();
  Reply reply = Lc().Send(envelope, SignedWith(Sign(kSigningSecret, Gzip(envelope))));
  EXPECT_EQ(reply.status, 401);
  // Uncompressed bodies are accepted too.
  EXPECT_EQ(Lc().Send(envelope, Uncompressed()).status, 200);
}

// Eight unsigned gzip senders once raised a signed heartbeat's p50 100x:
// a source that keeps failing the signature is refused before inflating.
TEST_F(GatewayTest, RepeatedSignatureFailuresFromOneSourceAreThrottledBeforeInflating) {
  GatewayOptions options = Options();
  options.signature_failures = FailureThrottleOptions{.burst = 3, .refill_per_second = 0.001};
  StartGateway(options);
  const auto from = [this](const std::string& address, const SendOptions& send) {
    net::ServerRequest request = Lc().Build(HeartbeatEnvelope(), send);
    request.remote_address = address;
    return ParseReply(HandleAndWait(*gateway_, request));
  };
  const SendOptions forged = SignedWith(std::string(64, 'a'));
  for (int i = 0; i < 3; ++i) EXPECT_EQ(from("192.0.2.9", forged).status, 401);
  Reply throttled = from("192.0.2.9", forged);
  EXPECT_EQ(throttled.status, 429);
  EXPECT_THAT(throttled.error(), HasSubstr("invalid lc-ext-sig"));
  // Other sources, and correctly signed callbacks from them, are unaffected.
  EXPECT_EQ(from("192.0.2.10", {}).status, 200);
  EXPECT_EQ(from("192.0.2.10", forged).status, 401);
}

TEST_F(GatewayTest, EmptySigningSecretRefusesEverything) {
  StartGateway(GatewayOptions());
  EXPECT_EQ(FakeLimaCharlie("", [this](net::ServerRequest r) { return HandleAndWait(*gateway_, r); })
                .Send(HeartbeatEnvelope())
                .status,
            401);
}

TEST_F(GatewayTest, BadGzipIs400WithAnEnvelopeError) {
  net::ServerRequest request = Lc().Build(HeartbeatEnvelope());
  request.body = "not gzip at all";
  Reply reply = ParseReply(HandleAndWait(*gateway_, request));
  EXPECT_EQ(reply.status, 400);
  EXPECT_THAT(reply.error(), StartsWith("request body is not valid gzip: "));
  EXPECT_EQ(reply.retriable(), false);
}

TEST_F(GatewayTest, UnsupportedEncodingIs400) {
  net::ServerRequest request = Lc().Build(HeartbeatEnvelope(), Uncompressed());
  request.headers.emplace_back("Content-Encoding", "br");
  Reply reply = ParseReply(HandleAndWait(*gateway_, request));
  EXPECT_EQ(reply.status, 400);
  EXPECT_EQ(reply.error(), "unsupported Content-Encoding 'br'");
}

TEST_F(GatewayTest, BadJsonIs400WithAnEnvelopeError) {
  Reply reply = Lc().Send("{\"heartbeat\": {");
  EXPECT_EQ(reply.status, 400);
  EXPECT_THAT(reply.error(), StartsWith("request body is not a JSON envelope: invalid JSON at offset"));
  EXPECT_EQ(reply.retriable(), false);
}

TEST_F(GatewayTest, BodiesOverTheLimitsAre413) {
  GatewayOptions options = Options();
  options.max_body_bytes = 2000;
  options.max_decoded_body_bytes = 10000;
  StartGateway(options);
  const std::string big = RequestEnvelope(
      org_, "create_ticket", absl::StrCat(R"({"summary":")", std::string(20000, 'x'), R"("})"), LiteralConfig());
  Reply decoded = Lc().Send(big);  // compresses to well under 2000 bytes
  EXPECT_EQ(decoded.status, 413);
  EXPECT_THAT(decoded.error(), HasSubstr("exceeds 10000 bytes"));
  Reply raw = Lc().Send(big, Uncompressed());
  EXPECT_EQ(raw.status, 413);
  EXPECT_THAT(raw.error(), HasSubstr("exceeds 2000 bytes"));
}

}  // namespace
}  // namespace halopsa::lc::testing

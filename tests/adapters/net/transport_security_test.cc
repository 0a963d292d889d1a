#include "adapters/net/beast_http_transport.h"

#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "adapters/net/http_transport.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/adapters/net/transport_test_support.h"

// TLS verification and the address guard, through the transport.
namespace halopsa::net::transport_test {
namespace {

using ::testing::HasSubstr;

BeastTransportOptions TlsOptions() {
  BeastTransportOptions options;
  options.allow_private_addresses = true;
  options.extra_ca_file = CertPath("ca.pem");
  return options;
}

TEST(BeastHttpTransportTest, HttpsVerifiesServerAgainstExtraCa) {
  TestServer server(CertPath("server.pem"), CertPath("server.key"));
  auto transport = MakeTransport(TlsOptions());
  ASSERT_NE(transport, nullptr);

  for (const char* host : {"127.0.0.1", "localhost"}) {
    absl::StatusOr<HttpResponse> response = SendAndWait(*transport, Get(server.Url(host, "/x")));
    ASSERT_TRUE(response.ok()) << host << ": " << response.status();
    EXPECT_EQ(response->body, "hello");
  }
  EXPECT_EQ(server.requests().size(), 2u);
}

TEST(BeastHttpTransportTest, HttpsRejectsUntrustedCertificate) {
  TestServer server(CertPath("untrusted.pem"), CertPath("untrusted.key"));
  auto transport = MakeTransport(TlsOptions());
  ASSERT_NE(transport, nullptr);

  absl::StatusOr<HttpResponse> response = SendAndWait(*transport, Get(server.Url("localhost")));

  EXPECT_EQ(response.status().code(), absl::StatusCode::kFailedPrecondition) << response.status();
  EXPECT_THAT(response.status().message(),
              HasSubstr("TLS certificate verification failed for localhost: self-signed"));
  EXPECT_TRUE(server.requests().empty());
}

TEST(BeastHttpTransportTest, HttpsRejectsCertificateForAnotherName) {
  TestServer server(CertPath("server.pem"), CertPath("server.key"));
  auto transport = MakeTransport(TlsOptions());
  ASSERT_NE(transport, nullptr);

  // "127.1" reaches 127.0.0.1 but is neither of the certificate's names.
  absl::StatusOr<HttpResponse> response = SendAndWait(*transport, Get(server.Url("127.1")));

  EXPECT_EQ(response.status().code(), absl::StatusCode::kFailedPrecondition) << response.status();
  EXPECT_THAT(response.status().message(), HasSubstr("hostname mismatch"));
  EXPECT_TRUE(server.requests().empty());
}

TEST(BeastHttpTransportTest, HttpsWithoutTheTestCaFails) {
  TestServer server(CertPath("server.pem"), CertPath("server.key"));
  BeastTransportOptions options = TlsOptions();
  options.extra_ca_file.clear();
  auto transport = MakeTransport(options);
  ASSERT_NE(transport, nullptr);

  absl::StatusOr<HttpResponse> response = SendAndWait(*transport, Get(server.Url("localhost")));

  EXPECT_EQ(response.status().code(), absl::StatusCode::kFailedPrecondition) << response.status();
}

TEST(BeastHttpTransportTest, CreateFailsForUnreadableCaFile) {
  BeastTransportOptions options;
  options.extra_ca_file = CertPath("does-not-exist.pem");
  EXPECT_EQ(BeastHttpTransport::Create(options).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(BeastHttpTransportTest, PlainHttpRefusedUnlessAllowed) {
  TestServer server;
  BeastTransportOptions options = LoopbackOptions();
  options.allow_insecure_http = false;
  auto transport = MakeTransport(options);
  ASSERT_NE(transport, nullptr);

  absl::StatusOr<HttpResponse> response = SendAndWait(*transport, Get(server.Url("127.0.0.1")));

  EXPECT_EQ(response.status().code(), absl::StatusCode::kInvalidArgument) << response.status();
  EXPECT_EQ(server.counts().accepted, 0);
}

TEST(BeastHttpTransportTest, PrivateDestinationsRefusedUnlessAllowed) {
  TestServer server(CertPath("server.pem"), CertPath("server.key"));
  BeastTransportOptions options = TlsOptions();
  options.allow_private_addresses = false;
  auto transport = MakeTransport(options);
  ASSERT_NE(transport, nullptr);

  // The name is checked by what it resolves to, not by how it is spelled.
  for (const char* host : {"127.0.0.1", "localhost", "[::ffff:127.0.0.1]"}) {
    absl::StatusOr<HttpResponse> response = SendAndWait(*transport, Get(server.Url(host)));
    EXPECT_EQ(response.status().code(), absl::StatusCode::kPermissionDenied)
        << host << ": " << response.status();
  }
  EXPECT_EQ(server.counts().accepted, 0);
}

TEST(BeastHttpTransportTest, ScopedAllowanceOpensOnlyTheListedHostsAndRanges) {
  TestServer server(CertPath("server.pem"), CertPath("server.key"));
  struct Case {
    const char* allowed;
    const char* host;
    bool reaches;
  };
  const Case cases[] = {
      {"127.0.0.0/8", "127.0.0.1", true},
      {"127.0.0.1/32", "[::ffff:127.0.0.1]", true},  // the IPv4 it carries is in range
      {"10.0.0.0/8", "127.0.0.1", false},
      {"localhost", "localhost", true},
      {"halo.corp.example", "localhost", false},
  };
  for (const Case& c : cases) {
    BeastTransportOptions options = TlsOptions();
    options.allow_private_addresses = false;
    options.allowed_upstreams = *UpstreamAllowance::Parse(c.allowed);
    auto transport = MakeTransport(options);
    ASSERT_NE(transport, nullptr);
    absl::StatusOr<HttpResponse> response = SendAndWait(*transport, Get(server.Url(c.host)));
    if (c.reaches) {
      // The certificate is for 127.0.0.1: reaching it is what counts here.
      EXPECT_NE(response.status().code(), absl::StatusCode::kPermissionDenied) << c.allowed << " " << c.host;
    } else {
      EXPECT_EQ(response.status().code(), absl::StatusCode::kPermissionDenied) << c.allowed << " " << c.host;
    }
  }
}
}  // namespace
}  // namespace halopsa::net::transport_test

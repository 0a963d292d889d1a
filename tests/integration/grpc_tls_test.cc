// gRPC transport security of ServerApp: TLS, mTLS, and no silent plaintext.

#include <grpcpp/grpcpp.h>

#include <fstream>
#include <sstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "app/server_app.h"
#include "tests/testing/health_probe.h"

namespace halopsa {
namespace {

const std::string kCerts = HALOPSA_TESTDATA_DIR "/certs/";

std::string ReadFile(const std::string& path) {
  std::ifstream file(path);
  std::stringstream content;
  content << file.rdbuf();
  return content.str();
}

ServerConfig TlsConfig() {
  ServerConfig config;
  config.grpc_listen = "127.0.0.1:0";
  config.grpc_tls_cert_file = kCerts + "server.pem";
  config.grpc_tls_key_file = kCerts + "server.key";
  return config;
}

std::shared_ptr<grpc::Channel> TlsChannel(int port, bool with_client_certificate) {
  grpc::SslCredentialsOptions options;
  options.pem_root_certs = ReadFile(kCerts + "ca.pem");
  if (with_client_certificate) {
    options.pem_cert_chain = ReadFile(kCerts + "server.pem");
    options.pem_private_key = ReadFile(kCerts + "server.key");
  }
  return grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::SslCredentials(options));
}

TEST(GrpcTlsTest, NoCertificateAndNoPlaintextRefusesToStart) {
  ServerConfig config;
  config.grpc_listen = "127.0.0.1:0";
  auto app = ServerApp::Start(config);
  EXPECT_EQ(app.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(app.status().message()), ::testing::HasSubstr("grpc_plaintext"));
}

TEST(GrpcTlsTest, TlsServesVerifiedClientsAndRefusesPlaintext) {
  auto app = ServerApp::Start(TlsConfig());
  ASSERT_TRUE(app.ok()) << app.status();
  EXPECT_TRUE(testing::IsServing(TlsChannel((*app)->grpc_port(), false)));
  EXPECT_FALSE(testing::IsServing(grpc::CreateChannel(absl::StrCat("127.0.0.1:", (*app)->grpc_port()),
                                                      grpc::InsecureChannelCredentials())));
}

TEST(GrpcTlsTest, MutualTlsRequiresAClientCertificate) {
  ServerConfig config = TlsConfig();
  config.grpc_client_ca_file = kCerts + "ca.pem";
  auto app = ServerApp::Start(config);
  ASSERT_TRUE(app.ok()) << app.status();
  EXPECT_FALSE(testing::IsServing(TlsChannel((*app)->grpc_port(), false)));
  EXPECT_TRUE(testing::IsServing(TlsChannel((*app)->grpc_port(), true)));
}

}  // namespace
}  // namespace halopsa

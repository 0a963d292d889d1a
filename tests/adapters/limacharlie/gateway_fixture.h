#ifndef HALOPSA_TESTS_ADAPTERS_LIMACHARLIE_GATEWAY_FIXTURE_H_
#define HALOPSA_TESTS_ADAPTERS_LIMACHARLIE_GATEWAY_FIXTURE_H_

// The gateway in front of a gMock HaloPsaService (the ServiceCalls it is
// given, in process or over gRPC) and a gMock LimaCharlie API, fed by a
// LimaCharlie look-alike.

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>
#include <google/protobuf/util/json_util.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "adapters/limacharlie/gateway.h"
#include "halopsa/v1/halopsa.pb.h"
#include "server/error_mapping.h"
#include "tests/adapters/halopsa/mock_http_transport.h"
#include "tests/testing/lc_test_client.h"
#include "tests/testing/mock_service_calls.h"

namespace halopsa::lc::testing {

inline constexpr char kSigningSecret[] = "lc-extension-secret";

// A request or response message as the type the test knows it is.
template <typename Message>
const Message& As(const google::protobuf::Message& message) {
  const auto* typed = google::protobuf::DynamicCastToGenerated<Message>(&message);
  EXPECT_NE(typed, nullptr) << message.GetDescriptor()->full_name();
  return typed != nullptr ? *typed : Message::default_instance();
}

// CreateTicket's answer: ticket `id` with the request's summary.
inline std::unique_ptr<google::protobuf::Message> TicketResponse(int id, const google::protobuf::Message& request) {
  auto response = std::make_unique<v1::CreateTicketResponse>();
  const std::string json = absl::StrCat(R"({"id":)", id, R"(,"ticket":{"id":)", id, R"(,"summary":")",
                                        As<v1::CreateTicketRequest>(request).summary(), R"("}})");
  EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(json, response.get()).ok());
  return response;
}

// A Call action answering CreateTicket with ticket `id`.
inline auto CreatesTicket(int id) {
  return [id](const google::protobuf::MethodDescriptor&, std::shared_ptr<const google::protobuf::Message> request,
              const ServiceCalls::Metadata&, absl::Time, ServiceCalls::Callback done) {
    done(TicketResponse(id, *request));
  };
}

// A failure as HaloPsaService reports it: the status with its ErrorInfo reason.
inline auto FailsWith(absl::Status status, absl::string_view reason) {
  return halopsa::testing::Fails(WithErrorInfo(std::move(status), reason));
}

class GatewayTest : public ::testing::Test {
 protected:
  GatewayTest() { StartGateway(Options()); }

  static GatewayOptions Options() {
    GatewayOptions options;
    options.signing_secret = kSigningSecret;
    options.lc_api_url = "https://api.lc.test";
    return options;
  }

  // A new gateway (and service mock) with `options`. A call the test does
  // not expect fails it and is answered, so that the callback still ends.
  void StartGateway(GatewayOptions options) {
    gateway_.reset();
    auto service = std::make_unique<::testing::StrictMock<halopsa::testing::MockServiceCalls>>();
    service_ = service.get();
    ON_CALL(*service_, Call)
        .WillByDefault(halopsa::testing::Fails(absl::InternalError("unexpected HaloPsaService call")));
    EXPECT_CALL(*service_, CancelAll()).Times(::testing::AnyNumber());
    gateway_ = std::make_unique<Gateway>(std::move(options), std::move(service), lc_api_);
  }

  FakeLimaCharlie Lc() {
    return FakeLimaCharlie(kSigningSecret,
                           [this](net::ServerRequest request) { return HandleAndWait(*gateway_, request); });
  }

  static Config LiteralConfig() {
    return {{"instance_url", "https://acme.halopsa.com"}, {"client_id", "cid"}, {"client_secret", "literal-secret"}};
  }

  static Config HiveConfig() {
    Config config = LiteralConfig();
    config["client_secret"] = "hive://secret/halo";
    return config;
  }

  Reply Request(absl::string_view action, absl::string_view data, const Config& config = LiteralConfig(),
                absl::string_view key = "") {
    return Lc().Send(RequestEnvelope(org_, action, data, config, key));
  }

  ::testing::StrictMock<halopsa::testing::MockHttpTransport> lc_api_;
  ::testing::StrictMock<halopsa::testing::MockServiceCalls>* service_ = nullptr;  // owned by gateway_
  std::unique_ptr<Gateway> gateway_;
  TestOrg org_;
};

}  // namespace halopsa::lc::testing

#endif  // HALOPSA_TESTS_ADAPTERS_LIMACHARLIE_GATEWAY_FIXTURE_H_

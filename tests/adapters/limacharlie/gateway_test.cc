#include "adapters/limacharlie/gateway.h"

#include <gmock/gmock.h>
#include <google/protobuf/util/json_util.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "adapters/limacharlie/gzip.h"
#include "server/grpc_service_calls.h"
#include "adapters/limacharlie/signature.h"
#include "halopsa/v1/halopsa.pb.h"
#include "server/error_mapping.h"
#include "tests/adapters/halopsa/mock_http_transport.h"
#include "tests/adapters/limacharlie/fake_halopsa_service.h"
#include "tests/testing/json_matchers.h"
#include "tests/testing/lc_test_client.h"

namespace halopsa::lc {
namespace {

using ::halopsa::testing::MockHttpTransport;
using ::halopsa::testing::RequestTo;
using ::halopsa::testing::Respond;
using ::testing::_;
using testing::Config;
using ::testing::Contains;
using testing::FakeHaloPsaService;
using testing::FakeLimaCharlie;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using testing::Json;
using halopsa::testing::JsonEq;
using ::testing::Not;
using ::testing::Pair;
using testing::Reply;
using ::testing::SizeIs;
using ::testing::StartsWith;
using testing::TestOrg;

constexpr char kSigningSecret[] = "lc-extension-secret";
constexpr char kHiveUrl[] = "https://api.lc.test/v1/hive/secret/8cbe27f4-bfa1-4afb-ba19-138cd51389cd/halo/data";

template <typename Message>
Message As(const google::protobuf::Message& message) {
  Message typed;
  typed.CopyFrom(message);
  return typed;
}

template <typename Message>
void FillFromJson(google::protobuf::Message* message, const std::string& json) {
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(json, message).ok()) << json;
}

grpc::Status Failure(absl::Status status, absl::string_view reason) {
  return ToGrpcStatus(WithErrorInfo(std::move(status), reason));
}

class GatewayTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    channel_ = grpc::CreateChannel(absl::StrCat("127.0.0.1:", port_), grpc::InsecureChannelCredentials());
    GatewayOptions options;
    options.signing_secret = kSigningSecret;
    options.lc_api_url = "https://api.lc.test";
    StartGateway(options);
  }

  void TearDown() override {
    service_.Release();
    gateway_.reset();
    server_->Shutdown(absl::ToChronoTime(absl::Now() + absl::Seconds(5)));
  }

  void StartGateway(const GatewayOptions& options) {
    gateway_.reset();
    gateway_ = std::make_unique<Gateway>(options, std::make_unique<GrpcServiceCalls>(channel_), lc_api_);
  }

  FakeLimaCharlie Lc() {
    return FakeLimaCharlie(kSigningSecret,
                           [this](net::ServerRequest request) { return testing::HandleAndWait(*gateway_, request); });
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
    return Lc().Send(testing::RequestEnvelope(org_, action, data, config, key));
  }

  // A handler answering CreateTicket with ticket `id`.
  static FakeHaloPsaService::Handler CreatesTicket(int id) {
    return [id](const FakeHaloPsaService::Call& call, google::protobuf::Message* response) {
      auto request = As<v1::CreateTicketRequest>(*call.request);
      FillFromJson<v1::CreateTicketResponse>(response, absl::StrCat(R"({"id":)", id, R"(,"ticket":{"id":)", id,
                                                                    R"(,"summary":")", request.summary(), R"("}})"));
      return grpc::Status::OK;
    };
  }

  int port_ = 0;
  FakeHaloPsaService service_;
  std::unique_ptr<grpc::Server> server_;
  std::shared_ptr<grpc::Channel> channel_;
  ::testing::StrictMock<MockHttpTransport> lc_api_;
  std::unique_ptr<Gateway> gateway_;
  TestOrg org_;
};

// --- wire ---

TEST_F(GatewayTest, MissingSignatureIsAnswered200WithAnEmptyBody) {
  Reply reply = Lc().Send(testing::RequestEnvelope(org_, "create_ticket", R"({"summary":"s"})", LiteralConfig()),
                          testing::Unsigned());
  EXPECT_EQ(reply.status, 200);
  EXPECT_EQ(reply.body, "");
  EXPECT_THAT(service_.calls(), IsEmpty());
}

TEST_F(GatewayTest, BadSignatureIs401AndNeverReachesAnAction) {
  const std::string envelope = testing::RequestEnvelope(org_, "create_ticket", R"({"summary":"s"})", LiteralConfig());
  const std::string right = Sign(kSigningSecret, envelope);
  for (const std::string& wrong : {Sign("other-secret", envelope), absl::AsciiStrToUpper(right), right.substr(1),
                                   Sign(kSigningSecret, envelope + " ")}) {
    Reply reply = Lc().Send(envelope, testing::SignedWith(wrong));
    EXPECT_EQ(reply.status, 401) << wrong;
    EXPECT_EQ(reply.error(), "invalid lc-ext-sig signature");
  }
  EXPECT_THAT(service_.calls(), IsEmpty());
}

TEST_F(GatewayTest, SignatureCoversTheDecodedBytes) {
  // Signed over the gzip bytes instead of the JSON: refused.
  const std::string envelope = testing::HeartbeatEnvelope();
  Reply reply = Lc().Send(envelope, testing::SignedWith(Sign(kSigningSecret, Gzip(envelope))));
  EXPECT_EQ(reply.status, 401);
  // Uncompressed bodies are accepted too.
  EXPECT_EQ(Lc().Send(envelope, testing::Uncompressed()).status, 200);
}

// Eight unsigned gzip senders once raised a signed heartbeat's p50 100x:
// a source that keeps failing the signature is refused before inflating.
TEST_F(GatewayTest, RepeatedSignatureFailuresFromOneSourceAreThrottledBeforeInflating) {
  GatewayOptions options;
  options.signing_secret = kSigningSecret;
  options.signature_failures = FailureThrottleOptions{.burst = 3, .refill_per_second = 0.001};
  StartGateway(options);
  const auto from = [this](const std::string& address, const testing::SendOptions& send) {
    net::ServerRequest request = Lc().Build(testing::HeartbeatEnvelope(), send);
    request.remote_address = address;
    return testing::ParseReply(testing::HandleAndWait(*gateway_, request));
  };
  const testing::SendOptions forged = testing::SignedWith(std::string(64, 'a'));
  for (int i = 0; i < 3; ++i) EXPECT_EQ(from("192.0.2.9", forged).status, 401);
  Reply throttled = from("192.0.2.9", forged);
  EXPECT_EQ(throttled.status, 429);
  EXPECT_THAT(throttled.error(), HasSubstr("invalid lc-ext-sig"));
  // Other sources, and correctly signed callbacks from them, are unaffected.
  EXPECT_EQ(from("192.0.2.10", {}).status, 200);
  EXPECT_EQ(from("192.0.2.10", forged).status, 401);
}

TEST(FailureThrottleTest, RefillsOverTimeAndForgetsSourcesBeyondItsBound) {
  absl::Time now = absl::FromUnixSeconds(1'800'000'000);
  FailureThrottle throttle(FailureThrottleOptions{.burst = 2, .refill_per_second = 1, .max_sources = 2},
                           [&now] { return now; });
  throttle.RecordFailure("a");
  throttle.RecordFailure("a");
  EXPECT_FALSE(throttle.Allows("a"));
  now += absl::Seconds(1);
  EXPECT_TRUE(throttle.Allows("a"));
  throttle.RecordFailure("b");
  throttle.RecordFailure("c");  // beyond max_sources: the full buckets go, then everything
  EXPECT_TRUE(throttle.Allows("b"));
}

TEST_F(GatewayTest, EmptySigningSecretRefusesEverything) {
  GatewayOptions options;
  StartGateway(options);
  EXPECT_EQ(FakeLimaCharlie("", [this](net::ServerRequest r) { return testing::HandleAndWait(*gateway_, r); })
                .Send(testing::HeartbeatEnvelope())
                .status,
            401);
}

TEST_F(GatewayTest, BadGzipIs400WithAnEnvelopeError) {
  net::ServerRequest request = Lc().Build(testing::HeartbeatEnvelope());
  request.body = "not gzip at all";
  Reply reply = testing::ParseReply(testing::HandleAndWait(*gateway_, request));
  EXPECT_EQ(reply.status, 400);
  EXPECT_THAT(reply.error(), StartsWith("request body is not valid gzip: "));
  EXPECT_EQ(reply.retriable(), false);
}

TEST_F(GatewayTest, UnsupportedEncodingIs400) {
  net::ServerRequest request = Lc().Build(testing::HeartbeatEnvelope(), testing::Uncompressed());
  request.headers.emplace_back("Content-Encoding", "br");
  Reply reply = testing::ParseReply(testing::HandleAndWait(*gateway_, request));
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
  GatewayOptions options;
  options.signing_secret = kSigningSecret;
  options.max_body_bytes = 2000;
  options.max_decoded_body_bytes = 10000;
  StartGateway(options);
  const std::string big = testing::RequestEnvelope(
      org_, "create_ticket", absl::StrCat(R"({"summary":")", std::string(20000, 'x'), R"("})"), LiteralConfig());
  Reply decoded = Lc().Send(big);  // compresses to well under 2000 bytes
  EXPECT_EQ(decoded.status, 413);
  EXPECT_THAT(decoded.error(), HasSubstr("exceeds 10000 bytes"));
  Reply raw = Lc().Send(big, testing::Uncompressed());
  EXPECT_EQ(raw.status, 413);
  EXPECT_THAT(raw.error(), HasSubstr("exceeds 2000 bytes"));
  EXPECT_THAT(service_.calls(), IsEmpty());
}

// --- envelope kinds ---

TEST_F(GatewayTest, HeartbeatAnswersEmptyData) {
  Reply reply = Lc().Send(testing::HeartbeatEnvelope());
  EXPECT_EQ(reply.status, 200);
  EXPECT_EQ(reply.body, R"({"version":20221218,"data":{}})");
}

TEST_F(GatewayTest, SchemaRequestAnswersTheSchema) {
  Reply reply = Lc().Send(testing::SchemaRequestEnvelope());
  EXPECT_EQ(reply.status, 200);
  EXPECT_EQ(reply.json["version"].GetInt(), 20221218);
  EXPECT_TRUE(reply.data()["request_schema"].HasMember("link_asset_to_ticket"));
  EXPECT_TRUE(reply.data()["config_schema"]["fields"].HasMember("client_secret"));
}

// The observer logs the report (as a JSON line, through SafeForLog).
TEST_F(GatewayTest, ErrorReportReachesTheObserverBounded) {
  std::vector<std::pair<std::string, std::string>> reports;
  GatewayOptions options;
  options.signing_secret = kSigningSecret;
  options.observer = [&reports](const GatewayCall& call) {
    reports.emplace_back(std::string(call.org), std::string(call.error_report));
  };
  StartGateway(options);
  Reply reply = Lc().Send(testing::ErrorReportEnvelope("callback failed:\ntimeout", "org-9"));
  EXPECT_EQ(reply.status, 200);
  EXPECT_FALSE(reply.has_error());
  Reply long_report = Lc().Send(testing::ErrorReportEnvelope(std::string(5000, 'e'), "org-9"));
  EXPECT_EQ(long_report.status, 200);
  ASSERT_THAT(reports, SizeIs(2));
  EXPECT_EQ(reports[0], std::make_pair(std::string("org-9"), std::string("callback failed:\ntimeout")));
  EXPECT_EQ(reports[1].second, std::string(1024, 'e'));
}

TEST_F(GatewayTest, LifecycleEventsAreAcknowledged) {
  for (const char* event : {"subscribe", "update", "unsubscribe"}) {
    Reply reply = Lc().Send(testing::EventEnvelope(org_, event, LiteralConfig()));
    EXPECT_EQ(reply.status, 200) << event;
    EXPECT_FALSE(reply.has_error()) << event;
  }
  EXPECT_THAT(service_.calls(), IsEmpty());
}

TEST_F(GatewayTest, UnknownEventIs400) {
  Reply reply = Lc().Send(testing::EventEnvelope(org_, "rename", LiteralConfig()));
  EXPECT_EQ(reply.status, 400);
  EXPECT_EQ(reply.retriable(), false);
  EXPECT_EQ(reply.error(), "unknown event_name 'rename'; known events: subscribe, unsubscribe, update");
}

TEST_F(GatewayTest, UnknownActionIs400NamingTheKnownOnes) {
  Reply reply = Request("close_ticket", "{}");
  EXPECT_EQ(reply.status, 400);
  EXPECT_EQ(reply.retriable(), false);
  EXPECT_EQ(reply.error(),
            "unknown action 'close_ticket'; known actions: create_ticket, update_ticket, search_tickets, add_action, "
            "link_asset_to_ticket, lookup_client_site");
}

// --- conf_validation ---

TEST_F(GatewayTest, ConfValidationObtainsATokenWithTheConfsConnection) {
  Config conf = LiteralConfig();
  conf["tenant"] = "acme";
  conf["scope"] = "all";
  Reply reply = Lc().Send(testing::ConfValidationEnvelope(org_, conf));
  EXPECT_EQ(reply.status, 200);
  EXPECT_FALSE(reply.has_error());
  auto calls = service_.calls();
  ASSERT_THAT(calls, SizeIs(1));
  EXPECT_EQ(calls[0].method, "LookupClientSite");
  auto probe = As<v1::LookupClientSiteRequest>(*calls[0].request);
  EXPECT_EQ(probe.type(), v1::LookupClientSiteRequest::client);
  EXPECT_EQ(probe.page_size(), 1);
  EXPECT_THAT(calls[0].metadata, Contains(Pair("x-halopsa-instance-url", "https://acme.halopsa.com")));
  EXPECT_THAT(calls[0].metadata, Contains(Pair("x-halopsa-client-id", "cid")));
  EXPECT_THAT(calls[0].metadata, Contains(Pair("x-halopsa-client-secret", "literal-secret")));
  EXPECT_THAT(calls[0].metadata, Contains(Pair("x-halopsa-tenant", "acme")));
  EXPECT_THAT(calls[0].metadata, Contains(Pair("x-halopsa-scope", "all")));
  EXPECT_THAT(calls[0].metadata, Contains(Pair("x-halopsa-org-id", org_.oid)));
}

TEST_F(GatewayTest, ConfValidationWithRejectedCredentialsIs400WithHalosReason) {
  service_.SetHandler([](const FakeHaloPsaService::Call&, google::protobuf::Message*) {
    return Failure(absl::UnauthenticatedError("HaloPSA /auth/token answered HTTP 401: invalid_client"),
                   kReasonTokenRejected);
  });
  Reply reply = Lc().Send(testing::ConfValidationEnvelope(org_, LiteralConfig()));
  EXPECT_EQ(reply.status, 400);
  EXPECT_EQ(reply.retriable(), false);
  EXPECT_EQ(reply.error(),
            "HaloPSA refused config.client_id/config.client_secret (check the API application, Client ID and "
            "Secret (Services) with Login Type Agent, and the stored secret): HaloPSA /auth/token answered HTTP 401: "
            "invalid_client");
}

TEST_F(GatewayTest, ConfValidationNamesTheScopeSettingAndTheMissingPermission) {
  service_.SetHandler([](const FakeHaloPsaService::Call&, google::protobuf::Message*) {
    return Failure(absl::FailedPreconditionError("HaloPSA refused the requested scope 'read:actions'"),
                   kReasonInvalidScope);
  });
  Reply scope = Lc().Send(testing::ConfValidationEnvelope(org_, LiteralConfig()));
  EXPECT_EQ(scope.status, 400);
  EXPECT_EQ(scope.error(), "HaloPSA refused config.scope: HaloPSA refused the requested scope 'read:actions'");

  service_.SetHandler([](const FakeHaloPsaService::Call&, google::protobuf::Message*) {
    return Failure(absl::PermissionDeniedError("HaloPSA /api/Client answered HTTP 403"), "UPSTREAM_PERMISSION_DENIED");
  });
  Reply permission = Lc().Send(testing::ConfValidationEnvelope(org_, LiteralConfig()));
  EXPECT_EQ(permission.status, 400);
  EXPECT_THAT(permission.error(), StartsWith("the HaloPSA API application lacks a permission (it needs edit:tickets, "
                                             "edit:assets and read:customers"));
}

TEST_F(GatewayTest, ConfValidationWhileHaloIsDownIs500Retriable) {
  service_.SetHandler([](const FakeHaloPsaService::Call&, google::protobuf::Message*) {
    return Failure(absl::UnavailableError("HaloPSA /auth/token answered HTTP 503"), "UPSTREAM_UNAVAILABLE");
  });
  Reply reply = Lc().Send(testing::ConfValidationEnvelope(org_, LiteralConfig()));
  EXPECT_EQ(reply.status, 500);
  EXPECT_EQ(reply.retriable(), true);
  EXPECT_EQ(reply.error(), "HaloPSA /auth/token answered HTTP 503");
}

TEST_F(GatewayTest, ConfValidationWithMissingFieldNamesIt) {
  Config conf = LiteralConfig();
  conf.erase("client_id");
  Reply reply = Lc().Send(testing::ConfValidationEnvelope(org_, conf));
  EXPECT_EQ(reply.status, 400);
  EXPECT_THAT(reply.error(), StartsWith("config.client_id: is missing"));
  EXPECT_THAT(service_.calls(), IsEmpty());
}

TEST_F(GatewayTest, RefusedInstanceUrlIs400NamingIt) {
  struct Case {
    absl::StatusCode code;
    const char* reason;
    const char* hint;
  };
  for (const Case& c :
       {Case{absl::StatusCode::kPermissionDenied, "UPSTREAM_ADDRESS_REFUSED", "config.instance_url is refused"},
        Case{absl::StatusCode::kInvalidArgument, "INVALID_INSTANCE_URL", "config.instance_url is not usable"}}) {
    service_.SetHandler([&](const FakeHaloPsaService::Call&, google::protobuf::Message*) {
      return Failure(absl::Status(c.code, "HaloPSA /auth/token: 10.0.0.5:443 resolves to a private address"), c.reason);
    });
    Reply reply = Lc().Send(testing::ConfValidationEnvelope(org_, LiteralConfig()));
    EXPECT_EQ(reply.status, 400) << c.reason;
    EXPECT_EQ(reply.retriable(), false);
    EXPECT_THAT(reply.error(), StartsWith(c.hint));
    EXPECT_THAT(reply.error(), HasSubstr("resolves to a private address"));
  }
}

// --- requests ---

TEST_F(GatewayTest, CreateTicketWithTemplatedStringsReturnsTheTicket) {
  service_.SetHandler(CreatesTicket(2885));
  Reply reply = Request("create_ticket", R"({"summary":"NEW_PROCESS - ws-1","details":"{\"a\":1}",
                                             "client_id":"12","site_id":"18","tickettype_id":1,"priority_id":"3"})");
  ASSERT_EQ(reply.status, 200) << reply.body;
  EXPECT_FALSE(reply.has_error());
  ASSERT_TRUE(reply.data()["id"].IsInt());
  EXPECT_EQ(reply.data()["id"].GetInt(), 2885);
  EXPECT_STREQ(reply.data()["summary"].GetString(), "NEW_PROCESS - ws-1");

  auto calls = service_.calls();
  ASSERT_THAT(calls, SizeIs(1));
  EXPECT_EQ(calls[0].method, "CreateTicket");
  auto sent = As<v1::CreateTicketRequest>(*calls[0].request);
  EXPECT_EQ(sent.client_id(), 12);
  EXPECT_EQ(sent.site_id(), 18);
  EXPECT_EQ(sent.priority_id(), 3);
  EXPECT_EQ(sent.details(), R"({"a":1})");
  EXPECT_THAT(calls[0].metadata, Contains(Pair("x-halopsa-client-secret", "literal-secret")));
  EXPECT_THAT(calls[0].metadata, Not(Contains(Pair("x-halopsa-tenant", _))));
}

TEST_F(GatewayTest, UnknownFieldIs400WithASuggestionAndNoCall) {
  Reply reply = Request("create_ticket", R"({"sumary":"s"})");
  EXPECT_EQ(reply.status, 400);
  EXPECT_EQ(reply.retriable(), false);
  EXPECT_EQ(reply.error(), "unknown field 'sumary' for create_ticket; did you mean 'summary'?");
  EXPECT_THAT(service_.calls(), IsEmpty());
}

TEST_F(GatewayTest, WrongTypeIs400NamingTheField) {
  Reply reply = Request("add_action", R"({"ticket_id":"twelve","note":"n"})");
  EXPECT_EQ(reply.status, 400);
  EXPECT_EQ(reply.error(), R"(ticket_id: must be a whole number (32-bit), got "twelve")");
}

TEST_F(GatewayTest, ServiceErrorsKeepTheirTextAndOutcome) {
  service_.SetHandler([](const FakeHaloPsaService::Call&, google::protobuf::Message*) {
    return ToGrpcStatus(InvalidField("summary", "is required"));
  });
  Reply invalid = Request("create_ticket", "{}");
  EXPECT_EQ(invalid.status, 400);
  EXPECT_EQ(invalid.retriable(), false);
  EXPECT_EQ(invalid.error(), "summary: is required");

  service_.SetHandler([](const FakeHaloPsaService::Call&, google::protobuf::Message*) {
    return Failure(absl::UnavailableError("HaloPSA /api/Tickets answered HTTP 503: Service Unavailable"),
                   "UPSTREAM_UNAVAILABLE");
  });
  Reply unavailable = Request("create_ticket", R"({"summary":"s"})");
  EXPECT_EQ(unavailable.status, 500);
  EXPECT_EQ(unavailable.retriable(), true);
  EXPECT_EQ(unavailable.error(), "HaloPSA /api/Tickets answered HTTP 503: Service Unavailable");

  service_.SetHandler([](const FakeHaloPsaService::Call&, google::protobuf::Message*) {
    return Failure(absl::NotFoundError("HaloPSA /api/Tickets/99 answered HTTP 404"), "UPSTREAM_NOT_FOUND");
  });
  EXPECT_EQ(Request("update_ticket", R"({"id":99})").status, 400);
}

TEST_F(GatewayTest, MissingConfigIs400BeforeAnyCall) {
  Reply reply = Request("search_tickets", "{}", Config{{"client_id", "c"}, {"client_secret", "s"}});
  EXPECT_EQ(reply.status, 400);
  EXPECT_EQ(reply.error(), "config.instance_url: is missing (set it in Extensions → ext-halopsa → Configuration)");
  EXPECT_THAT(service_.calls(), IsEmpty());
}

TEST_F(GatewayTest, LookupAnswersOnlyTheListOfItsType) {
  service_.SetHandler([](const FakeHaloPsaService::Call&, google::protobuf::Message* response) {
    FillFromJson<v1::LookupClientSiteResponse>(response, R"({"record_count":1,"sites":[{"id":18}]})");
    return grpc::Status::OK;
  });
  Reply reply = Request("lookup_client_site", R"({"type":"site","client_id":"12"})");
  ASSERT_EQ(reply.status, 200) << reply.body;
  EXPECT_EQ(Json(reply.data()), R"({"record_count":1,"sites":[{"id":18}]})");
}

TEST_F(GatewayTest, CallDeadlineBoundsTheRequest) {
  GatewayOptions options;
  options.signing_secret = kSigningSecret;
  options.call_deadline = absl::Milliseconds(300);
  StartGateway(options);
  service_.Hold();
  Reply reply = Request("search_tickets", "{}");
  EXPECT_EQ(reply.status, 500);
  EXPECT_EQ(reply.retriable(), true);
  EXPECT_EQ(reply.error(), "HaloPsaService.SearchTickets: Deadline Exceeded");
}

// --- hive secrets ---

TEST_F(GatewayTest, HiveSecretIsResolvedWithTheOrgJwtAndCached) {
  EXPECT_CALL(lc_api_, Send(RequestTo("GET", kHiveUrl), _, _))
      .WillOnce([](net::HttpRequest request, absl::Time, net::HttpTransport::Callback done) {
        EXPECT_THAT(request.headers, Contains(Pair("Authorization", "Bearer org-jwt-1")));
        done(net::HttpResponse{200, "application/json", R"({"data":{"secret":"from-hive"}})"});
      });
  service_.SetHandler(CreatesTicket(1));
  EXPECT_EQ(Request("create_ticket", R"({"summary":"a"})", HiveConfig()).status, 200);
  EXPECT_EQ(Request("create_ticket", R"({"summary":"b"})", HiveConfig()).status, 200);
  for (const auto& call : service_.calls()) {
    EXPECT_THAT(call.metadata, Contains(Pair("x-halopsa-client-secret", "from-hive")));
  }
}

TEST_F(GatewayTest, RotatedHiveSecretTakesEffectAfterOneRejection) {
  EXPECT_CALL(lc_api_, Send(RequestTo("GET", kHiveUrl), _, _))
      .WillOnce(Respond(200, R"({"data":{"secret":"old"}})"))
      .WillOnce(Respond(200, R"({"data":{"secret":"new"}})"));
  service_.SetHandler([](const FakeHaloPsaService::Call& call, google::protobuf::Message* response) {
    if (call.metadata.at("x-halopsa-client-secret") != "new") {
      return Failure(absl::UnauthenticatedError("HaloPSA /auth/token answered HTTP 401: invalid_client"),
                     kReasonTokenRejected);
    }
    FillFromJson<v1::AddActionResponse>(response, R"({"id":2,"ticket_id":2884,"action":{"note":"n"}})");
    return grpc::Status::OK;
  });
  Reply reply = Request("add_action", R"({"ticket_id":2884,"note":"n"})", HiveConfig());
  ASSERT_EQ(reply.status, 200) << reply.body;
  EXPECT_THAT(Json(reply.data()), JsonEq(R"({"id":2,"note":"n","ticket_id":2884})"));
  EXPECT_THAT(service_.calls(), SizeIs(2));
}

TEST_F(GatewayTest, RejectedLiteralSecretIsNotRetried) {
  service_.SetHandler([](const FakeHaloPsaService::Call&, google::protobuf::Message*) {
    return Failure(absl::UnauthenticatedError("HaloPSA /api/Tickets answered HTTP 401"), "UPSTREAM_UNAUTHENTICATED");
  });
  Reply reply = Request("search_tickets", "{}");
  EXPECT_EQ(reply.status, 400);
  EXPECT_THAT(service_.calls(), SizeIs(1));
}

TEST_F(GatewayTest, StillRejectedAfterRereadingTheSecretGivesUp) {
  EXPECT_CALL(lc_api_, Send(RequestTo("GET", kHiveUrl), _, _))
      .Times(2)
      .WillRepeatedly(Respond(200, R"({"data":{"secret":"wrong"}})"));
  service_.SetHandler([](const FakeHaloPsaService::Call&, google::protobuf::Message*) {
    return Failure(absl::UnauthenticatedError("HaloPSA /auth/token answered HTTP 401: invalid_client"),
                   kReasonTokenRejected);
  });
  Reply reply = Request("search_tickets", "{}", HiveConfig());
  EXPECT_EQ(reply.status, 400);
  EXPECT_THAT(reply.error(), StartsWith("HaloPSA refused config.client_id/config.client_secret"));
  EXPECT_THAT(service_.calls(), SizeIs(2));
}

TEST_F(GatewayTest, MissingHiveSecretIs400NamingTheConfigField) {
  EXPECT_CALL(lc_api_, Send(RequestTo("GET", kHiveUrl), _, _))
      .WillOnce(Respond(404, R"({"error":"record not found"})"));
  Reply reply = Request("search_tickets", "{}", HiveConfig());
  EXPECT_EQ(reply.status, 400);
  EXPECT_THAT(reply.error(), StartsWith("config.client_secret: cannot read hive://secret/halo: LimaCharlie "));
  EXPECT_THAT(reply.error(), HasSubstr("record not found"));
  EXPECT_THAT(service_.calls(), IsEmpty());
}

TEST_F(GatewayTest, UnreachableLimaCharlieApiIs500Retriable) {
  EXPECT_CALL(lc_api_, Send(_, _, _)).WillOnce([](net::HttpRequest, absl::Time, net::HttpTransport::Callback done) {
    done(absl::UnavailableError("connection refused"));
  });
  Reply reply = Request("search_tickets", "{}", HiveConfig());
  EXPECT_EQ(reply.status, 500);
  EXPECT_EQ(reply.retriable(), true);
}

// --- idempotency ---

TEST_F(GatewayTest, RetriedRequestIsAnsweredFromMemory) {
  service_.SetHandler(CreatesTicket(4000));
  Reply first = Request("create_ticket", R"({"summary":"s"})", LiteralConfig(), "idem-1");
  Reply retry = Request("create_ticket", R"({"summary":"s"})", LiteralConfig(), "idem-1");
  EXPECT_EQ(first.status, 200);
  EXPECT_EQ(retry.status, 200);
  EXPECT_EQ(retry.body, first.body);
  EXPECT_THAT(service_.calls(), SizeIs(1));
  // Another key, or no key, runs again.
  Request("create_ticket", R"({"summary":"s"})", LiteralConfig(), "idem-2");
  Request("create_ticket", R"({"summary":"s"})");
  Request("create_ticket", R"({"summary":"s"})");
  EXPECT_THAT(service_.calls(), SizeIs(4));
}

TEST_F(GatewayTest, PermanentFailuresAreRememberedRetriableOnesAreNot) {
  service_.SetHandler([](const FakeHaloPsaService::Call&, google::protobuf::Message*) {
    return Failure(absl::UnavailableError("HaloPSA answered 503"), "UPSTREAM_UNAVAILABLE");
  });
  EXPECT_EQ(Request("create_ticket", R"({"summary":"s"})", LiteralConfig(), "k").status, 500);
  service_.SetHandler([](const FakeHaloPsaService::Call&, google::protobuf::Message*) {
    return ToGrpcStatus(InvalidField("client_id", "unknown client"));
  });
  EXPECT_EQ(Request("create_ticket", R"({"summary":"s"})", LiteralConfig(), "k").status, 400);
  EXPECT_EQ(Request("create_ticket", R"({"summary":"s"})", LiteralConfig(), "k").status, 400);
  EXPECT_THAT(service_.calls(), SizeIs(2));
}

class MockReplyCache : public ReplyCache {
 public:
  MOCK_METHOD(void, Join, (const Key&, absl::Time, Waiter, Run), (override));
  MOCK_METHOD(void, Finish, (const Key&, const net::ServerResponse&, bool), (override));
};

GatewayOptions SharingRepliesIn(ReplyCache& replies) {
  GatewayOptions options;
  options.signing_secret = kSigningSecret;
  options.shared_replies = &replies;
  return options;
}

TEST_F(GatewayTest, WithoutSharedRepliesWritesAreRefusedRetriableAndReadsStillRun) {
  ::testing::StrictMock<MockReplyCache> replies;
  absl::Status unavailable =
      WithErrorInfo(absl::UnavailableError("shared state (Redis) unavailable"), kReasonSharedStateUnavailable);
  EXPECT_CALL(replies, Join(ReplyCache::Key(org_.oid, "k1"), _, _, _))
      .Times(2)
      .WillRepeatedly([&](const ReplyCache::Key&, absl::Time, ReplyCache::Waiter waiter, ReplyCache::Run) {
        waiter(unavailable);
      });
  StartGateway(SharingRepliesIn(replies));
  service_.SetHandler(CreatesTicket(4100));
  Reply refused = Request("create_ticket", R"({"summary":"s"})", LiteralConfig(), "k1");
  EXPECT_EQ(refused.status, 500);
  EXPECT_THAT(refused.body, HasSubstr(R"("retriable":true)"));
  EXPECT_THAT(service_.calls(), IsEmpty()) << "a write never runs uncoordinated";
  service_.SetHandler([](const FakeHaloPsaService::Call&, google::protobuf::Message* response) {
    FillFromJson<v1::SearchTicketsResponse>(response, R"({"record_count": 0})");
    return grpc::Status::OK;
  });
  EXPECT_EQ(Request("search_tickets", R"({"search":"x"})", LiteralConfig(), "k1").status, 200);
  EXPECT_THAT(service_.calls(), SizeIs(1));
}

TEST_F(GatewayTest, SharedRepliesRunTheFirstAttemptAndKeepItsReply) {
  ::testing::StrictMock<MockReplyCache> replies;
  ReplyCache::Waiter kept;
  EXPECT_CALL(replies, Join(ReplyCache::Key(org_.oid, "k2"), _, _, _))
      .WillOnce([&](const ReplyCache::Key&, absl::Time, ReplyCache::Waiter waiter, ReplyCache::Run run) {
        kept = std::move(waiter);
        run();
      });
  EXPECT_CALL(replies, Finish(ReplyCache::Key(org_.oid, "k2"), _, /*remember=*/true))
      .WillOnce([&](const ReplyCache::Key&, const net::ServerResponse& reply, bool) {
        // Taken out first: the test ends (and `kept` with it) as soon as the reply is out.
        std::exchange(kept, nullptr)(reply);
      });
  StartGateway(SharingRepliesIn(replies));
  service_.SetHandler(CreatesTicket(4200));
  Reply created = Request("create_ticket", R"({"summary":"s"})", LiteralConfig(), "k2");
  EXPECT_EQ(created.status, 200);
  EXPECT_THAT(created.body, HasSubstr("4200"));
}

TEST_F(GatewayTest, ConcurrentDuplicateWaitsForTheFirstAttempt) {
  service_.SetHandler(CreatesTicket(5000));
  service_.Hold();
  const std::string envelope =
      testing::RequestEnvelope(org_, "create_ticket", R"({"summary":"s"})", LiteralConfig(), "dup");
  struct Answer {
    absl::Notification done;
    net::ServerResponse response;
  };
  auto first = std::make_shared<Answer>();
  auto second = std::make_shared<Answer>();
  for (const auto& answer : {first, second}) {
    gateway_->Handle(Lc().Build(envelope), [answer](net::ServerResponse response) {
      answer->response = std::move(response);
      answer->done.Notify();
    });
  }
  ASSERT_TRUE(service_.WaitForHeld(1));
  EXPECT_FALSE(second->done.HasBeenNotified());
  service_.Release();
  ASSERT_TRUE(first->done.WaitForNotificationWithTimeout(absl::Seconds(10)));
  ASSERT_TRUE(second->done.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_EQ(first->response.status, 200);
  EXPECT_EQ(second->response.body, first->response.body);
  EXPECT_THAT(service_.calls(), SizeIs(1));
}

TEST_F(GatewayTest, DestructionCancelsCallsInFlightAndAnswersThem) {
  service_.Hold();
  struct Answer {
    absl::Notification done;
    net::ServerResponse response;
  };
  auto answer = std::make_shared<Answer>();
  gateway_->Handle(Lc().Build(testing::RequestEnvelope(org_, "search_tickets", "{}", LiteralConfig())),
                   [answer](net::ServerResponse response) {
                     answer->response = std::move(response);
                     answer->done.Notify();
                   });
  ASSERT_TRUE(service_.WaitForHeld(1));
  gateway_.reset();
  ASSERT_TRUE(answer->done.HasBeenNotified());
  EXPECT_EQ(answer->response.status, 500);
  EXPECT_THAT(answer->response.body, HasSubstr("ext-halopsa is shutting down"));
}

}  // namespace
}  // namespace halopsa::lc

// The LimaCharlie gateway end to end: a LimaCharlie look-alike POSTs signed,
// gzipped envelopes over HTTP to the Gateway, which calls the real gRPC
// server (ServerApp), which calls the HaloPSA simulator over loopback TLS.
// Hive secrets come from a fake LimaCharlie API. Everything on port 0.

#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "adapters/limacharlie/gateway.h"
#include "adapters/limacharlie/gzip.h"
#include "adapters/limacharlie/signature.h"
#include "adapters/net/beast_http_transport.h"
#include "adapters/net/http_server.h"
#include "app/server_app.h"
#include "server/json_values.h"
#include "simulator/halo_simulator.h"
#include "tests/testing/lc_over_http.h"
#include "tests/testing/lc_test_client.h"
#include "tests/testing/loopback_config.h"
#include "tests/testing/loopback_stack.h"
#include "tests/testing/test_http_client.h"
#include "tests/testing/test_support.h"

namespace halopsa::lc {
namespace {

using testing::Config;
using testing::FakeLimaCharlie;
using ::testing::HasSubstr;
using testing::Json;
using testing::Reply;
using ::testing::SizeIs;
using ::testing::StartsWith;
using testing::TestOrg;

constexpr char kSigningSecret[] = "lc-shared-extension-secret";
constexpr char kClientId[] = "lc-gateway-client";
constexpr char kHaloSecret[] = "halo-secret-current";
constexpr char kSecretName[] = "halopsa-client-secret";

// LimaCharlie's REST API as far as the extension uses it: hive secrets,
// readable with the org's jwt. Secrets can be changed (rotated) by tests.
class FakeLimaCharlieApi {
 public:
  FakeLimaCharlieApi() {
    auto server = net::HttpServer::Start(
        {}, [this](net::ServerRequest request, net::Responder respond) { respond(Serve(request)); });
    EXPECT_TRUE(server.ok()) << server.status();
    if (server.ok()) server_ = *std::move(server);
  }

  std::string url() const { return absl::StrCat("http://127.0.0.1:", server_->port()); }

  void SetSecret(const std::string& oid, const std::string& name, const std::string& value) {
    absl::MutexLock lock(&mu_);
    secrets_[absl::StrCat("/v1/hive/secret/", oid, "/", name, "/data")] = value;
  }
  void SetJwt(const std::string& jwt) {
    absl::MutexLock lock(&mu_);
    jwt_ = jwt;
  }
  int reads() const {
    absl::MutexLock lock(&mu_);
    return reads_;
  }

 private:
  net::ServerResponse Serve(const net::ServerRequest& request) {
    absl::MutexLock lock(&mu_);
    net::ServerResponse response;
    if (request.Header("Authorization") != absl::StrCat("Bearer ", jwt_)) {
      response.status = 401;
      response.body = R"({"error":"unauthorized"})";
      return response;
    }
    auto it = secrets_.find(request.target);
    if (request.method != "GET" || it == secrets_.end()) {
      response.status = 404;
      response.body = R"({"error":"record not found"})";
      return response;
    }
    ++reads_;
    response.body = absl::StrCat(R"({"data":{"secret":")", it->second, R"("},"sys_mtd":{"etag":"e"}})");
    return response;
  }

  mutable absl::Mutex mu_;
  std::map<std::string, std::string> secrets_ ABSL_GUARDED_BY(mu_);
  std::string jwt_ ABSL_GUARDED_BY(mu_) = TestOrg().jwt;
  int reads_ ABSL_GUARDED_BY(mu_) = 0;
  std::unique_ptr<net::HttpServer> server_;
};

class GatewayIntegrationTest : public halopsa::testing::LoopbackStackTest<> {
 protected:
  void SetUp() override {
    ASSERT_TRUE(StartSimulator(kClientId, kHaloSecret));
    lc_api_.SetSecret(org_.oid, kSecretName, kHaloSecret);
    app_ = StartApp(/*allow_private_addresses=*/true);  // the simulator is on loopback
    ASSERT_NE(app_, nullptr);
  }

  void TearDown() override {
    // Destroyed, not only shut down: that closes its pooled connections to
    // the simulator, which would otherwise hold up its shutdown.
    refusing_app_.reset();
    LoopbackStackTest::TearDown();
  }

  // halopsa-server's wiring: gRPC service and, in front of it over the
  // in-process channel, the webhook gateway on its own port.
  std::unique_ptr<ServerApp> StartApp(bool allow_private_addresses) {
    ServerConfig config = halopsa::testing::LoopbackGatewayConfig(log_, kSigningSecret);
    config.log_level = LogLevel::kInfo;  // the webhook and rpc lines are checked
    config.transport.allow_private_addresses = allow_private_addresses;
    config.shutdown_grace = absl::Seconds(5);
    config.admin_listen = "127.0.0.1:0";
    config.gateway.lc_api_url = lc_api_.url();
    config.gateway.max_body_bytes = 64 << 10;
    config.lc_api_transport.allow_insecure_http = true;      // the fake API is plain HTTP
    config.lc_api_transport.allow_private_addresses = true;  // on loopback
    auto app = ServerApp::Start(config);
    EXPECT_TRUE(app.ok()) << app.status();
    return app.ok() ? *std::move(app) : nullptr;
  }

  FakeLimaCharlie Lc() const { return testing::LimaCharlieAt(app_->gateway_port(), kSigningSecret); }

  Config HaloConfig() const {
    return {{"instance_url", sim_->base_url()},
            {"client_id", kClientId},
            {"client_secret", absl::StrCat("hive://secret/", kSecretName)}};
  }

  Reply Request(absl::string_view action, absl::string_view data, absl::string_view key = "") {
    return Lc().Send(testing::RequestEnvelope(org_, action, data, HaloConfig(), key));
  }

  int RequestsTo(const std::string& method, const std::string& path) const {
    int count = 0;
    for (const auto& request : sim_->requests()) {
      if (request.method == method && request.path == path) ++count;
    }
    return count;
  }

  static double Number(const google::protobuf::Struct& object, const std::string& key) {
    return object.fields().at(key).number_value();
  }

  TestOrg org_;
  FakeLimaCharlieApi lc_api_;
  std::unique_ptr<ServerApp> refusing_app_;
};

TEST_F(GatewayIntegrationTest, ExtensionLifecycle) {
  // Registration: schema, then liveness.
  Reply schema = Lc().Send(testing::SchemaRequestEnvelope());
  ASSERT_EQ(schema.status, 200);
  EXPECT_EQ(schema.data()["request_schema"].MemberCount(), 9u);  // the eight actions and run_deferred
  EXPECT_EQ(Lc().Send(testing::HeartbeatEnvelope()).body, R"({"version":20221218,"data":{}})");

  // Saving the configuration: really obtains a token.
  Reply valid = Lc().Send(testing::ConfValidationEnvelope(org_, HaloConfig()));
  EXPECT_EQ(valid.status, 200) << valid.body;
  EXPECT_FALSE(valid.has_error());
  EXPECT_EQ(sim_->token_requests(), 1);
  Config wrong = HaloConfig();
  wrong["client_secret"] = "not-the-secret";
  Reply invalid = Lc().Send(testing::ConfValidationEnvelope(org_, wrong));
  EXPECT_EQ(invalid.status, 400);
  EXPECT_EQ(invalid.retriable(), false);
  EXPECT_THAT(invalid.error(), StartsWith("HaloPSA refused config.client_id/config.client_secret"));
  EXPECT_THAT(invalid.error(), HasSubstr("invalid_client"));
  EXPECT_THAT(invalid.error(), ::testing::Not(HasSubstr("not-the-secret")));

  for (const char* event : {"subscribe", "update", "unsubscribe"}) {
    EXPECT_EQ(Lc().Send(testing::EventEnvelope(org_, event, HaloConfig())).status, 200) << event;
  }
  EXPECT_EQ(lc_api_.reads(), 1);  // one hive read served every call of the org
}

TEST_F(GatewayIntegrationTest, TicketActionsReachHaloPsa) {
  Reply created = Request("create_ticket", R"({"summary":"Lifecycle ticket","details":"body","client_id":12,
                                               "site_id":18,"customfields":[{"id":101,"value":"s-1"}]})");
  ASSERT_EQ(created.status, 200) << created.body;
  ASSERT_TRUE(created.data()["id"].IsInt());
  const int ticket_id = created.data()["id"].GetInt();
  EXPECT_STREQ(created.data()["summary"].GetString(), "Lifecycle ticket");
  EXPECT_EQ(Number(TicketInHalo(ticket_id), "client_id"), 12);

  Reply updated =
      Request("update_ticket", absl::StrCat(R"({"id":)", ticket_id, R"(,"status_id":"2","summary":"Renamed"})"));
  ASSERT_EQ(updated.status, 200) << updated.body;
  EXPECT_EQ(updated.data()["id"].GetInt(), ticket_id);
  EXPECT_EQ(Number(TicketInHalo(ticket_id), "status_id"), 2);
  EXPECT_EQ(TicketInHalo(ticket_id).fields().at("summary").string_value(), "Renamed");

  Reply found = Request("search_tickets", R"({"client_id":"12","page_size":"10"})");
  ASSERT_EQ(found.status, 200) << found.body;
  EXPECT_GE(found.data()["record_count"].GetInt(), 1);
  bool listed = false;
  for (const auto& ticket : found.data()["tickets"].GetArray()) listed |= ticket["id"].GetInt() == ticket_id;
  EXPECT_TRUE(listed);
  Reply none = Request("search_tickets", R"({"search":"no ticket matches this text"})");
  ASSERT_EQ(none.status, 200) << none.body;
  EXPECT_EQ(Json(none.data()), R"({"record_count":0,"tickets":[]})");

  Reply action = Request("add_action", absl::StrCat(R"({"ticket_id":)", ticket_id, R"(,"note":"Triage: benign"})"));
  ASSERT_EQ(action.status, 200) << action.body;
  EXPECT_EQ(action.data()["ticket_id"].GetInt(), ticket_id);
  EXPECT_TRUE(action.data()["id"].IsInt());
  const auto actions = sim_->actions(ticket_id);
  ASSERT_FALSE(actions.empty());
  EXPECT_EQ(actions.back().fields().at("note").string_value(), "Triage: benign");
  EXPECT_TRUE(actions.back().fields().at("hiddenfromuser").bool_value());
  EXPECT_EQ(lc_api_.reads(), 1);  // one hive read served every call of the org
}

TEST_F(GatewayIntegrationTest, LinkAndLookupActionsReachHaloPsa) {
  const int ticket_id = 2884;
  Reply linked = Request("link_asset_to_ticket",
                         absl::StrCat(R"({"ticket_id":)", ticket_id,
                                      R"(,"hostname":"lc-sensor-01","client_id":12,"site_id":18,"asset_type_id":1})"));
  ASSERT_EQ(linked.status, 200) << linked.body;
  const rapidjson::Value& link = linked.data();
  EXPECT_TRUE(link["asset_created"].GetBool());
  EXPECT_TRUE(link["asset"].IsObject());
  EXPECT_TRUE(link["ticket"].IsObject());
  ASSERT_TRUE(link["asset_id"].IsInt());
  EXPECT_TRUE(halopsa::testing::Links(TicketInHalo(ticket_id), link["asset_id"].GetInt()));

  Reply clients = Request("lookup_client_site", R"({"type":"client","search":"contoso"})");
  ASSERT_EQ(clients.status, 200) << clients.body;
  EXPECT_EQ(clients.data()["record_count"].GetInt(), 1);
  EXPECT_EQ(clients.data()["clients"][0]["id"].GetInt(), 12);
  EXPECT_FALSE(clients.data().HasMember("sites"));
  Reply sites = Request("lookup_client_site", R"({"type":"site","client_id":"12"})");
  ASSERT_EQ(sites.status, 200) << sites.body;
  EXPECT_EQ(sites.data()["sites"][0]["id"].GetInt(), 18);
  EXPECT_FALSE(sites.data().HasMember("clients"));
}

TEST_F(GatewayIntegrationTest, ProductPageDetectionExamplesWithTemplatedValues) {
  // Open a ticket for a detection: every value rendered by a template.
  Reply created = Request("create_ticket", R"({
      "summary": "NEW_PROCESS - ws-42", "details": "{\"event\":{\"FILE_PATH\":\"x\"}}",
      "client_id": "12", "site_id": "18", "tickettype_id": "1", "priority_id": "3"})");
  ASSERT_EQ(created.status, 200) << created.body;
  const int ticket_id = created.data()["id"].GetInt();
  const google::protobuf::Struct ticket = TicketInHalo(ticket_id);
  EXPECT_EQ(ticket.fields().at("summary").string_value(), "NEW_PROCESS - ws-42");
  EXPECT_EQ(Number(ticket, "client_id"), 12);
  EXPECT_EQ(Number(ticket, "site_id"), 18);
  EXPECT_EQ(Number(ticket, "tickettype_id"), 1);
  EXPECT_EQ(Number(ticket, "priority_id"), 3);

  // Append triage findings to ticket 2884.
  Reply noted = Request("add_action", R"({
      "ticket_id": "2884", "note": "ws-42: suspicious process tree observed. See LC for details.",
      "hiddenfromuser": "true", "timetaken": "1", "outcome": "Note"})");
  ASSERT_EQ(noted.status, 200) << noted.body;
  const google::protobuf::Struct added = sim_->actions(2884).back();
  EXPECT_EQ(added.fields().at("note").string_value(), "ws-42: suspicious process tree observed. See LC for details.");
  EXPECT_TRUE(added.fields().at("hiddenfromuser").bool_value());
  EXPECT_EQ(Number(added, "timetaken"), 1);
  EXPECT_EQ(added.fields().at("outcome").string_value(), "Note");
}

TEST_F(GatewayIntegrationTest, WireErrors) {
  const std::string envelope = testing::RequestEnvelope(org_, "create_ticket", R"({"summary":"s"})", HaloConfig());
  Reply unsigned_reply = Lc().Send(envelope, testing::Unsigned());
  EXPECT_EQ(unsigned_reply.status, 200);
  EXPECT_EQ(unsigned_reply.body, "");
  EXPECT_EQ(Lc().Send(envelope, testing::SignedWith(Sign("guess", envelope))).status, 401);
  EXPECT_THAT(sim_->requests(), ::testing::IsEmpty()) << "no unsigned or missigned call reaches HaloPSA";

  net::ServerRequest corrupt = Lc().Build(envelope);
  corrupt.body = corrupt.body.substr(0, corrupt.body.size() / 2);
  auto truncated = halopsa::testing::Fetch(app_->gateway_port(), false, "POST", "/", corrupt.body, corrupt.headers);
  ASSERT_TRUE(truncated.ok());
  EXPECT_EQ(truncated->status, 400);
  EXPECT_THAT(truncated->body, HasSubstr("request body is not valid gzip"));

  Reply not_json = Lc().Send("this is not json");
  EXPECT_EQ(not_json.status, 400);
  EXPECT_THAT(not_json.error(), StartsWith("request body is not a JSON envelope"));

  const std::string huge = testing::RequestEnvelope(
      org_, "create_ticket", absl::StrCat(R"({"summary":")", std::string(100 << 10, 'x'), R"("})"), HaloConfig());
  EXPECT_EQ(Lc().Send(huge, testing::Uncompressed()).status, 413);
  EXPECT_EQ(RequestsTo("POST", "/api/Tickets"), 0);
  EXPECT_EQ(lc_api_.reads(), 0);
}

TEST_F(GatewayIntegrationTest, RequestErrors) {
  struct Case {
    const char* action;
    const char* data;
    int status;
    const char* error;
  };
  for (const Case& c : {
           Case{"close_ticket", "{}", 400, "unknown action 'close_ticket'"},
           Case{"create_ticket", R"({"sumary":"s"})", 400,
                "unknown field 'sumary' for create_ticket; did you mean 'summary'?"},
           Case{"create_ticket", R"({"summary":"s","client_id":"twelve"})", 400,
                R"(client_id: must be a whole number (32-bit), got "twelve")"},
           Case{"create_ticket", R"({"details":"no summary"})", 400, "summary: "},
           Case{"lookup_client_site", R"({"type":"company"})", 400, "type: must be one of client, site"},
           Case{"add_action", R"({"ticket_id":999999,"note":"n"})", 400, "HaloPSA "},
       }) {
    Reply reply = Request(c.action, c.data);
    EXPECT_EQ(reply.status, c.status) << c.action << " " << c.data << ": " << reply.body;
    EXPECT_EQ(reply.retriable(), false) << c.data;
    EXPECT_THAT(reply.error(), StartsWith(c.error)) << c.data;
  }
  EXPECT_EQ(RequestsTo("POST", "/api/Tickets"), 0);

  sim_->InjectFailure("POST", "/api/Tickets", 502, "Bad Gateway", 1);
  Reply unavailable = Request("create_ticket", R"({"summary":"s"})");
  EXPECT_EQ(unavailable.status, 500);
  EXPECT_EQ(unavailable.retriable(), true);
  EXPECT_THAT(unavailable.error(), HasSubstr("Bad Gateway"));

  Reply event = Lc().Send(testing::EventEnvelope(org_, "rename", HaloConfig()));
  EXPECT_EQ(event.status, 400);
}

TEST_F(GatewayIntegrationTest, ConfigErrors) {
  Config missing = HaloConfig();
  missing.erase("instance_url");
  Reply no_url = Lc().Send(testing::RequestEnvelope(org_, "search_tickets", "{}", missing));
  EXPECT_EQ(no_url.status, 400);
  EXPECT_THAT(no_url.error(), StartsWith("config.instance_url: is missing"));

  Config unknown_secret = HaloConfig();
  unknown_secret["client_secret"] = "hive://secret/does-not-exist";
  Reply no_secret = Lc().Send(testing::RequestEnvelope(org_, "search_tickets", "{}", unknown_secret));
  EXPECT_EQ(no_secret.status, 400);
  EXPECT_THAT(no_secret.error(), StartsWith("config.client_secret: cannot read hive://secret/does-not-exist"));
  EXPECT_THAT(no_secret.error(), HasSubstr("record not found"));

  lc_api_.SetJwt("another-jwt");  // LimaCharlie refuses the org's token
  Reply refused = Lc().Send(testing::RequestEnvelope(org_, "search_tickets", "{}", HaloConfig()));
  EXPECT_EQ(refused.status, 400);
  EXPECT_THAT(refused.error(), HasSubstr("answered HTTP 401"));

  Config plain_http = HaloConfig();
  plain_http["client_secret"] = kHaloSecret;
  plain_http["instance_url"] = absl::StrCat("http://127.0.0.1:", sim_->port());
  Reply insecure = Lc().Send(testing::RequestEnvelope(org_, "search_tickets", "{}", plain_http));
  EXPECT_EQ(insecure.status, 400);
  EXPECT_EQ(insecure.retriable(), false);
  EXPECT_THAT(insecure.error(), StartsWith("config.instance_url is not usable"));
  EXPECT_EQ(sim_->token_requests(), 0);
}

TEST_F(GatewayIntegrationTest, NoOrgConfigTurnsTlsVerificationOff) {
  // A HaloPSA look-alike whose certificate no trusted CA signed.
  sim::SimulatorOptions options;
  options.tls_cert_file = halopsa::testing::CertPath("untrusted.pem");
  options.tls_key_file = halopsa::testing::CertPath("untrusted.key");
  options.client_id = kClientId;
  options.client_secret = kHaloSecret;
  auto impostor = sim::HaloSimulator::Start(options);
  ASSERT_TRUE(impostor.ok()) << impostor.status();
  Config config = {{"instance_url", (*impostor)->base_url()},
                   {"client_id", kClientId},
                   {"client_secret", kHaloSecret},
                   // What an org might try; none of it is a setting.
                   {"verify_tls", "false"},
                   {"insecure_skip_verify", "true"},
                   {"ca_file", halopsa::testing::CertPath("untrusted.pem")}};

  Reply reply = Lc().Send(testing::RequestEnvelope(org_, "create_ticket", R"({"summary":"s"})", config));

  EXPECT_EQ(reply.status, 400) << reply.body;
  EXPECT_EQ(reply.retriable(), false);
  EXPECT_THAT(reply.error(), HasSubstr("certificate verification failed"));
  EXPECT_THAT((*impostor)->requests(), ::testing::IsEmpty()) << "not even the credentials were sent";
  app_.reset();  // closes its connections before the impostor stops
  (*impostor)->Shutdown();
}

TEST_F(GatewayIntegrationTest, PrivateInstanceUrlIsRefusedByAServerThatForbidsThem) {
  refusing_app_ = StartApp(/*allow_private_addresses=*/false);
  ASSERT_NE(refusing_app_, nullptr);
  Reply reply = testing::LimaCharlieAt(refusing_app_->gateway_port(), kSigningSecret)
                    .Send(testing::ConfValidationEnvelope(org_, HaloConfig()));
  EXPECT_EQ(reply.status, 400);
  EXPECT_EQ(reply.retriable(), false);
  EXPECT_THAT(reply.error(), StartsWith("config.instance_url is refused"));
  EXPECT_THAT(sim_->requests(), ::testing::IsEmpty());
}

TEST_F(GatewayIntegrationTest, RetriedCreateTicketCreatesExactlyOneTicket) {
  const std::string data = R"({"summary":"Retried detection"})";
  // The first delivery fails upstream with an unknown outcome (502: 500,
  // retriable); the retry looks for its marker, finds none, and creates.
  sim_->InjectFailure("POST", "/api/Tickets", 502, "Bad Gateway", 1);
  Reply failed = Request("create_ticket", data, "callback-1");
  EXPECT_EQ(failed.status, 500);
  Reply first = Request("create_ticket", data, "callback-1");
  ASSERT_EQ(first.status, 200) << first.body;
  // Later retries of the completed callback are answered from memory.
  Reply again = Request("create_ticket", data, "callback-1");
  EXPECT_EQ(again.status, 200);
  EXPECT_EQ(again.body, first.body);
  EXPECT_EQ(RequestsTo("POST", "/api/Tickets"), 2);  // the failed one and the one that created

  auto metrics = halopsa::testing::Fetch(app_->admin_port(), false, "GET", "/metrics", "", {});
  ASSERT_TRUE(metrics.ok()) << metrics.status();
  EXPECT_THAT(metrics->body, HasSubstr("halopsa_idempotency_replays_total 1\n"));
  EXPECT_THAT(metrics->body, HasSubstr("halopsa_gateway_requests_total{kind=\"create_ticket\",status=\"200\"} 2\n"));
  EXPECT_THAT(metrics->body, HasSubstr("halopsa_gateway_requests_total{kind=\"create_ticket\",status=\"500\"} 1\n"));
  EXPECT_THAT(metrics->body, HasSubstr("halopsa_gateway_duration_seconds_count{kind=\"create_ticket\"} 3\n"));

  int created = 0;
  for (int id = first.data()["id"].GetInt() - 5; id <= first.data()["id"].GetInt() + 5; ++id) {
    auto ticket = sim_->ticket(id);
    if (ticket && ticket->fields().at("summary").string_value() == "Retried detection") ++created;
  }
  EXPECT_EQ(created, 1);
}

TEST_F(GatewayIntegrationTest, ConcurrentDuplicatesCreateOneTicket) {
  const std::string envelope =
      testing::RequestEnvelope(org_, "create_ticket", R"({"summary":"Concurrent"})", HaloConfig(), "callback-2");
  constexpr int kDuplicates = 4;
  std::vector<Reply> replies(kDuplicates);
  std::vector<std::thread> threads;
  for (int i = 0; i < kDuplicates; ++i) {
    threads.emplace_back([&, i] { replies[i] = Lc().Send(envelope); });
  }
  for (auto& thread : threads) thread.join();
  for (const Reply& reply : replies) {
    EXPECT_EQ(reply.status, 200) << reply.body;
    EXPECT_EQ(reply.body, replies[0].body);
  }
  EXPECT_EQ(RequestsTo("POST", "/api/Tickets"), 1);
}

TEST_F(GatewayIntegrationTest, RotatedHiveSecretTakesEffectAfterOne401) {
  // LimaCharlie still holds the old secret; HaloPSA already wants the new one.
  lc_api_.SetSecret(org_.oid, kSecretName, "halo-secret-old");
  Reply stale = Request("search_tickets", "{}");
  EXPECT_EQ(stale.status, 400);
  EXPECT_EQ(lc_api_.reads(), 2);  // read, refused, read again, refused again

  // The secret is rotated in LimaCharlie: the cached old value is refused
  // once, read again, and the call goes through.
  lc_api_.SetSecret(org_.oid, kSecretName, kHaloSecret);
  sim_->ClearRequests();
  Reply fresh = Request("search_tickets", R"({"client_id":12})");
  ASSERT_EQ(fresh.status, 200) << fresh.body;
  EXPECT_EQ(lc_api_.reads(), 3);
  EXPECT_EQ(RequestsTo("POST", "/auth/token"), 2);  // the old secret, then the new one
  EXPECT_EQ(sim_->token_requests(), 1);             // only the new one got a token

  EXPECT_EQ(Request("search_tickets", "{}").status, 200);
  EXPECT_EQ(lc_api_.reads(), 3);  // cached again
}

TEST_F(GatewayIntegrationTest, LogsEachWebhookAndItsCallWithoutSecrets) {
  Reply created = Request("create_ticket", R"({"summary":"logged"})", "callback-logged");
  ASSERT_EQ(created.status, 200) << created.body;
  std::string logs = halopsa::testing::ReadCapturedLog(log_);

  bool webhook_line = false;
  bool rpc_line = false;
  for (absl::string_view line : absl::StrSplit(logs, '\n', absl::SkipEmpty())) {
    absl::StatusOr<google::protobuf::Value> json = halopsa::ParseJson(line);
    ASSERT_TRUE(json.ok()) << line;
    const auto& fields = json->struct_value().fields();
    if (fields.at("msg").string_value() == "webhook" &&
        fields.at("idempotency_key").string_value() == "callback-logged") {
      webhook_line = true;
      EXPECT_EQ(fields.at("action").string_value(), "create_ticket");
      EXPECT_EQ(fields.at("org").string_value(), org_.oid);
      EXPECT_EQ(fields.at("http_status").number_value(), 200);
    }
    if (fields.at("msg").string_value() == "rpc" && fields.at("request_id").string_value() == "callback-logged") {
      rpc_line = true;
      EXPECT_EQ(fields.at("method").string_value(), "CreateTicket");
    }
  }
  EXPECT_TRUE(webhook_line) << logs;
  EXPECT_TRUE(rpc_line) << logs;
  for (const std::string& secret : {std::string(kHaloSecret), std::string(kSigningSecret), org_.jwt}) {
    EXPECT_THAT(logs, ::testing::Not(HasSubstr(secret)));
  }
}

}  // namespace
}  // namespace halopsa::lc

// The real gRPC server (ServerApp) against the real simulator over loopback
// TLS, both on port 0, called through the generated stub.

#include <grpcpp/grpcpp.h>

#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "adapters/net/beast_http_transport.h"
#include "app/server_app.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "halopsa/v1/halopsa.grpc.pb.h"
#include "server/json_values.h"
#include "simulator/halo_simulator.h"
#include "tests/testing/callback_result.h"
#include "tests/testing/error_details.h"
#include "tests/testing/health_probe.h"
#include "tests/testing/loopback_config.h"
#include "tests/testing/loopback_stack.h"
#include "tests/testing/test_support.h"

namespace halopsa {
namespace {

using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::Pair;
using google::protobuf::Struct;
using testing::FromJson;
using testing::ErrorInfoOf;

constexpr char kClientId[] = "it-client";
constexpr char kClientSecret[] = "it-secret-0123456789";

double Number(const Struct& object, const std::string& key) { return object.fields().at(key).number_value(); }

class ServiceIntegrationTest : public testing::LoopbackStackTest<> {
 protected:
  void SetUp() override {
    ASSERT_TRUE(StartSimulator(kClientId, kClientSecret));
    ServerConfig config = testing::LoopbackServerConfig(*sim_, kClientId, kClientSecret, log_);
    config.admin_listen = "127.0.0.1:0";
    config.shutdown_grace = absl::Seconds(5);
    // The budget's pace is not what this suite checks (fair_budget_integration_test does).
    config.rate_limit = RateLimitOptions{.max_requests = 1000000, .window = absl::Seconds(1)};
    ASSERT_TRUE(StartServer(config));
    channel_ = grpc::CreateChannel(absl::StrCat("127.0.0.1:", app_->grpc_port()), grpc::InsecureChannelCredentials());
    stub_ = v1::HaloPsaService::NewStub(channel_);
  }

  std::string Logs() { return testing::ReadCapturedLog(log_); }

  // GET on the admin listener.
  net::HttpResponse Admin(const std::string& path) {
    net::BeastTransportOptions options;
    options.allow_insecure_http = true;
    options.allow_private_addresses = true;
    auto client = net::BeastHttpTransport::Create(options);
    if (!client.ok()) {
      ADD_FAILURE() << client.status();
      return {};
    }
    testing::CallbackResult<absl::StatusOr<net::HttpResponse>> answer(absl::StrCat("the answer to GET ", path));
    (*client)->Send({"GET", absl::StrCat("http://127.0.0.1:", app_->admin_port(), path), {}, ""},
                    absl::Now() + absl::Seconds(10), answer.Callback());
    absl::StatusOr<net::HttpResponse> response = answer.Await(absl::Seconds(15));
    EXPECT_TRUE(response.ok()) << response.status();
    return response.value_or(net::HttpResponse{});
  }

  std::unique_ptr<grpc::ClientContext> Context() {
    auto context = std::make_unique<grpc::ClientContext>();
    context->set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(20)));
    return context;
  }

  // Requests the simulator received on `path` (exact), in order.
  std::vector<sim::RecordedRequest> RequestsTo(const std::string& method, const std::string& path) {
    std::vector<sim::RecordedRequest> matching;
    for (auto& request : sim_->requests()) {
      if (request.method == method && request.path == path) matching.push_back(request);
    }
    return matching;
  }

  std::vector<sim::RecordedRequest> ApiRequests() {
    std::vector<sim::RecordedRequest> api;
    for (auto& request : sim_->requests()) {
      if (absl::StartsWith(request.path, "/api/")) api.push_back(request);
    }
    return api;
  }

  v1::CreateTicketResponse CreateTicket(const std::string& json) {
    v1::CreateTicketResponse response;
    auto context = Context();
    grpc::Status status = stub_->CreateTicket(context.get(), FromJson<v1::CreateTicketRequest>(json), &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response;
  }

  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::HaloPsaService::Stub> stub_;
};

TEST_F(ServiceIntegrationTest, HealthIsServing) {
  EXPECT_TRUE(testing::IsServing(channel_));
}

TEST_F(ServiceIntegrationTest, CreateTicketReachesHaloInItsShapes) {
  v1::CreateTicketResponse created = CreateTicket(R"({"summary": "Malware - ws-1", "details": "event json",
      "client_id": 12, "site_id": 18, "tickettype_id": 1, "priority_id": 3, "asset_ids": [3],
      "customfields": [{"id": 101, "value": "sensor-9"}], "extra": {"category_2": "EDR"}})");
  ASSERT_GT(created.id(), 2884);
  EXPECT_EQ(created.ticket().fields().at("summary").string_value(), "Malware - ws-1");

  auto posts = RequestsTo("POST", "/api/Tickets");
  ASSERT_EQ(posts.size(), 1u);
  Struct sent = ParseJson(posts[0].body)->list_value().values(0).struct_value();
  EXPECT_EQ(Number(sent, "client_id"), 12);
  EXPECT_EQ(Number(sent.fields().at("assets").list_value().values(0).struct_value(), "id"), 3);
  EXPECT_EQ(sent.fields().at("category_2").string_value(), "EDR");
  EXPECT_THAT(posts[0].authorization, ::testing::StartsWith("Bearer "));

  std::optional<Struct> stored = sim_->ticket(created.id());
  ASSERT_TRUE(stored.has_value());
  EXPECT_EQ(Number(*stored, "site_id"), 18);
  // details became the first action of the ticket.
  auto actions = sim_->actions(created.id());
  ASSERT_FALSE(actions.empty());
  EXPECT_EQ(actions[0].fields().at("note").string_value(), "event json");
}

TEST_F(ServiceIntegrationTest, MissingRequiredFieldsAreRejectedBeforeHalo) {
  struct Case {
    std::function<grpc::Status(grpc::ClientContext*)> call;
    const char* field;
  };
  std::vector<Case> cases = {
      {[&](grpc::ClientContext* c) { v1::CreateTicketResponse r; return stub_->CreateTicket(c, {}, &r); }, "summary"},
      {[&](grpc::ClientContext* c) {
         v1::UpdateTicketResponse r;
         return stub_->UpdateTicket(c, FromJson<v1::UpdateTicketRequest>(R"({"summary":"x"})"), &r);
       }, "id"},
      {[&](grpc::ClientContext* c) {
         v1::AddActionResponse r;
         return stub_->AddAction(c, FromJson<v1::AddActionRequest>(R"({"ticket_id":2884})"), &r);
       }, "note"},
      {[&](grpc::ClientContext* c) {
         v1::LinkAssetToTicketResponse r;
         return stub_->LinkAssetToTicket(c, FromJson<v1::LinkAssetToTicketRequest>(R"({"hostname":"h"})"), &r);
       }, "ticket_id"},
      {[&](grpc::ClientContext* c) { v1::LookupClientSiteResponse r; return stub_->LookupClientSite(c, {}, &r); },
       "type"},
      {[&](grpc::ClientContext* c) {
         v1::SearchTicketsResponse r;
         return stub_->SearchTickets(c, FromJson<v1::SearchTicketsRequest>(R"({"page_size":5000})"), &r);
       }, "page_size"},
  };
  for (const Case& c : cases) {
    auto context = Context();
    grpc::Status status = c.call(context.get());
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << c.field;
    EXPECT_THAT(status.error_message(), ::testing::StartsWith(absl::StrCat(c.field, ": ")));
    auto info = ErrorInfoOf(status);
    ASSERT_TRUE(info.has_value()) << c.field;
    EXPECT_EQ(info->reason(), "INVALID_FIELD");
  }
  EXPECT_THAT(sim_->requests(), IsEmpty());
}

TEST_F(ServiceIntegrationTest, AddActionDefaultsToPrivateNote) {
  v1::AddActionResponse response;
  auto context = Context();
  ASSERT_TRUE(stub_->AddAction(context.get(),
                               FromJson<v1::AddActionRequest>(R"({"ticket_id": 2884, "note": "host1: suspicious",
                                                                  "timetaken": 1})"),
                               &response)
                  .ok());
  EXPECT_EQ(response.ticket_id(), 2884);
  EXPECT_GE(response.id(), 2);  // the ticket's body is action 1
  auto actions = sim_->actions(2884);
  const Struct& added = actions.back();
  EXPECT_EQ(added.fields().at("hiddenfromuser").bool_value(), true);
  EXPECT_EQ(added.fields().at("outcome").string_value(), "Note");
  EXPECT_EQ(Number(added, "timetaken"), 1);
}

TEST_F(ServiceIntegrationTest, SearchSendsExplicitPagingAndTicketTypeAsRequestType) {
  v1::SearchTicketsResponse response;
  auto context = Context();
  ASSERT_TRUE(stub_->SearchTickets(context.get(), FromJson<v1::SearchTicketsRequest>(R"({"tickettype_id": 1})"),
                                   &response)
                  .ok());
  auto gets = RequestsTo("GET", "/api/Tickets");
  ASSERT_EQ(gets.size(), 1u);
  EXPECT_THAT(gets[0].query, Contains(Pair("pageinate", "true")));
  EXPECT_THAT(gets[0].query, Contains(Pair("page_size", "50")));
  EXPECT_THAT(gets[0].query, Contains(Pair("page_no", "1")));
  EXPECT_THAT(gets[0].query, Contains(Pair("requesttype_id", "1")));
  EXPECT_THAT(gets[0].query, Not(Contains(Pair("tickettype_id", ::testing::_))));
  for (const Struct& ticket : response.tickets()) EXPECT_EQ(Number(ticket, "tickettype_id"), 1);
  EXPECT_GT(response.tickets_size(), 0);
}

TEST_F(ServiceIntegrationTest, PageAboveHaloCapIsComplete) {
  v1::SearchTicketsResponse all;
  auto context = Context();
  ASSERT_TRUE(stub_->SearchTickets(context.get(), FromJson<v1::SearchTicketsRequest>(
                                                      R"({"client_id": 2, "page_size": 1000})"), &all).ok());
  ASSERT_GT(all.record_count(), 100) << "the simulator seeds over 100 tickets for client 2";
  EXPECT_EQ(all.tickets_size(), all.record_count());

  sim_->ClearRequests();
  v1::SearchTicketsResponse second;
  auto context2 = Context();
  ASSERT_TRUE(stub_->SearchTickets(context2.get(), FromJson<v1::SearchTicketsRequest>(
                                                       R"({"client_id": 2, "page_size": 60, "page_no": 2})"),
                                   &second).ok());
  ASSERT_EQ(second.tickets_size(), std::min(60, all.record_count() - 60));
  EXPECT_EQ(Number(second.tickets(0), "id"), Number(all.tickets(60), "id"));
}

TEST_F(ServiceIntegrationTest, LinkAssetCreatesOnceThenIsIdempotent) {
  const std::string request = R"({"ticket_id": 2884, "hostname": "contoso-new-01", "client_id": 12,
                                  "site_id": 18, "asset_type_id": 1})";
  v1::LinkAssetToTicketResponse first;
  auto context = Context();
  ASSERT_TRUE(stub_->LinkAssetToTicket(context.get(), FromJson<v1::LinkAssetToTicketRequest>(request), &first).ok());
  EXPECT_TRUE(first.asset_created());
  std::optional<Struct> ticket = sim_->ticket(2884);
  ASSERT_TRUE(ticket.has_value());
  int linked = 0;
  for (const auto& asset : ticket->fields().at("assets").list_value().values()) {
    if (Number(asset.struct_value(), "id") == first.asset_id()) ++linked;
  }
  EXPECT_EQ(linked, 1);

  sim_->ClearRequests();
  v1::LinkAssetToTicketResponse again;
  auto context2 = Context();
  ASSERT_TRUE(
      stub_->LinkAssetToTicket(context2.get(), FromJson<v1::LinkAssetToTicketRequest>(
                                                   R"({"ticket_id": 2884, "hostname": "CONTOSO-NEW-01"})"), &again)
          .ok());
  EXPECT_FALSE(again.asset_created());
  EXPECT_EQ(again.asset_id(), first.asset_id());
  for (const auto& r : sim_->requests()) EXPECT_NE(r.method, "POST") << r.path;  // nothing written
  EXPECT_LE(ApiRequests().size(), 2u);
}

TEST_F(ServiceIntegrationTest, LinkAssetKeepsExistingAssets) {
  auto link = [&](const std::string& host) {
    v1::LinkAssetToTicketResponse response;
    auto context = Context();
    grpc::Status status = stub_->LinkAssetToTicket(
        context.get(),
        FromJson<v1::LinkAssetToTicketRequest>(absl::StrCat(R"({"ticket_id": 2884, "hostname": ")", host,
                                                            R"(", "client_id": 12, "asset_type_id": 1})")),
        &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.asset_id();
  };
  int first = link("host-a");
  int second = link("host-b");
  std::optional<Struct> ticket = sim_->ticket(2884);
  ASSERT_TRUE(ticket.has_value());
  std::vector<int> ids;
  for (const auto& asset : ticket->fields().at("assets").list_value().values()) {
    ids.push_back(static_cast<int>(Number(asset.struct_value(), "id")));
  }
  EXPECT_THAT(ids, ::testing::IsSupersetOf({first, second}));
}

// Many links at once, through the real server and simulator.
TEST_F(ServiceIntegrationTest, ConcurrentLinksLoseNoAssetAndCreateEachHostOnce) {
  auto link = [&](int ticket, const std::string& host) {
    v1::LinkAssetToTicketResponse response;
    auto context = Context();
    grpc::Status status = stub_->LinkAssetToTicket(
        context.get(),
        FromJson<v1::LinkAssetToTicketRequest>(absl::StrCat(R"({"ticket_id": )", ticket, R"(, "hostname": ")", host,
                                                            R"(", "client_id": 2, "asset_type_id": 1})")),
        &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.asset_id();
  };
  constexpr int kLinks = 8;
  std::vector<std::thread> threads;
  std::vector<int> ids(kLinks);
  for (int i = 0; i < kLinks; ++i) threads.emplace_back([&, i] { ids[i] = link(1001, absl::StrCat("burst-host-", i)); });
  for (int i = 0; i < kLinks; ++i) threads.emplace_back([&, i] { link(1002 + i, "burst-shared-host"); });
  for (auto& thread : threads) thread.join();

  std::optional<Struct> ticket = sim_->ticket(1001);
  ASSERT_TRUE(ticket.has_value());
  std::vector<int> linked;
  for (const auto& asset : ticket->fields().at("assets").list_value().values()) {
    linked.push_back(static_cast<int>(Number(asset.struct_value(), "id")));
  }
  EXPECT_THAT(linked, ::testing::IsSupersetOf(ids));
  int shared_assets = 0;
  for (const Struct& asset : sim_->assets()) {
    if (asset.fields().at("inventory_number").string_value() == "burst-shared-host") ++shared_assets;
  }
  EXPECT_EQ(shared_assets, 1);
}

TEST_F(ServiceIntegrationTest, LookupClientsAndSites) {
  v1::LookupClientSiteResponse clients;
  auto context = Context();
  ASSERT_TRUE(stub_->LookupClientSite(context.get(), FromJson<v1::LookupClientSiteRequest>(
                                                         R"({"type": "client", "search": "contoso"})"), &clients).ok());
  ASSERT_EQ(clients.clients_size(), 1);
  EXPECT_EQ(Number(clients.clients(0), "id"), 12);

  v1::LookupClientSiteResponse sites;
  auto context2 = Context();
  ASSERT_TRUE(stub_->LookupClientSite(context2.get(), FromJson<v1::LookupClientSiteRequest>(
                                                          R"({"type": "site", "client_id": 1})"), &sites).ok());
  EXPECT_EQ(sites.record_count(), 2);
  for (const Struct& site : sites.sites()) EXPECT_EQ(Number(site, "client_id"), 1);
}

TEST_F(ServiceIntegrationTest, UpstreamErrorsMapWithHalosTextAndStatus) {
  v1::AddActionResponse action;
  auto context = Context();
  grpc::Status missing = stub_->AddAction(
      context.get(), FromJson<v1::AddActionRequest>(R"({"ticket_id": 999999, "note": "n"})"), &action);
  EXPECT_EQ(missing.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(testing::ErrorMetadataOf(missing, "http_status"), "404");

  // A 502 to a create may come after Halo did the work: never resent.
  sim_->InjectFailure("POST", "/api/Tickets", 502, "Bad Gateway", 1);
  sim_->ClearRequests();
  v1::CreateTicketResponse created;
  auto context2 = Context();
  grpc::Status unavailable = stub_->CreateTicket(context2.get(), FromJson<v1::CreateTicketRequest>(
                                                                     R"({"summary": "s"})"), &created);
  EXPECT_EQ(unavailable.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_THAT(unavailable.error_message(), HasSubstr("Bad Gateway"));
  EXPECT_EQ(testing::ReasonOf(unavailable), "UPSTREAM_OUTCOME_UNKNOWN");
  EXPECT_EQ(RequestsTo("POST", "/api/Tickets").size(), 1u);

  sim_->InjectFailure("POST", "/api/Tickets", 400, R"("CODE:APP03/2 Please select a Client")", 1);
  auto context3 = Context();
  grpc::Status rejected = stub_->CreateTicket(context3.get(), FromJson<v1::CreateTicketRequest>(
                                                                  R"({"summary": "s"})"), &created);
  EXPECT_EQ(rejected.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(rejected.error_message(), HasSubstr("CODE:APP03/2 Please select a Client"));
  EXPECT_EQ(testing::ErrorMetadataOf(rejected, "http_status"), "400");
}

TEST_F(ServiceIntegrationTest, CreateRefusedWith503IsSentAgainAfterABackoff) {
  sim_->InjectFailure("POST", "/api/Tickets", 503, "Service Unavailable", 1);
  sim_->ClearRequests();
  const int before = static_cast<int>(sim_->tickets().size());

  CreateTicket(R"({"summary": "after a 503"})");

  EXPECT_EQ(RequestsTo("POST", "/api/Tickets").size(), 2u);
  EXPECT_EQ(static_cast<int>(sim_->tickets().size()), before + 1);
}

TEST_F(ServiceIntegrationTest, RevokedTokenIsReplacedAndTheCallRetriedOnce) {
  CreateTicket(R"({"summary": "first"})");
  EXPECT_EQ(sim_->token_requests(), 1);
  sim_->RevokeTokens();
  sim_->ClearRequests();
  CreateTicket(R"({"summary": "second"})");
  EXPECT_EQ(sim_->token_requests(), 2);
  // 401, new token, same call again.
  EXPECT_EQ(RequestsTo("POST", "/api/Tickets").size(), 2u);
  EXPECT_EQ(RequestsTo("POST", "/auth/token").size(), 1u);
}

TEST_F(ServiceIntegrationTest, ConcurrentColdStartFetchesOneToken) {
  constexpr int kCalls = 32;
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int i = 0; i < kCalls; ++i) {
    threads.emplace_back([&] {
      v1::LookupClientSiteResponse response;
      auto context = Context();
      if (stub_->LookupClientSite(context.get(), FromJson<v1::LookupClientSiteRequest>(R"({"type": "client"})"),
                                  &response).ok()) {
        ++ok;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(ok.load(), kCalls);
  EXPECT_EQ(sim_->token_requests(), 1);
  EXPECT_EQ(app_->tokens().token_requests(), 1);
}

TEST_F(ServiceIntegrationTest, TokenRequestIsTheDocumentedForm) {
  CreateTicket(R"({"summary": "s"})");
  auto tokens = RequestsTo("POST", "/auth/token");
  ASSERT_EQ(tokens.size(), 1u);
  EXPECT_EQ(tokens[0].content_type, "application/x-www-form-urlencoded");
  EXPECT_THAT(tokens[0].body, HasSubstr("grant_type=client_credentials"));
  EXPECT_THAT(tokens[0].body, HasSubstr("scope=all"));
  EXPECT_THAT(tokens[0].body, HasSubstr(absl::StrCat("client_id=", kClientId)));
}

TEST_F(ServiceIntegrationTest, PerCallConnectionFromMetadata) {
  auto call = [&](const std::string& secret) {
    auto context = Context();
    context->AddMetadata("x-halopsa-instance-url", sim_->base_url());
    context->AddMetadata("x-halopsa-client-id", kClientId);
    context->AddMetadata("x-halopsa-client-secret", secret);
    context->AddMetadata("x-halopsa-org-id", "org-7");
    v1::LookupClientSiteResponse response;
    return stub_->LookupClientSite(context.get(), FromJson<v1::LookupClientSiteRequest>(R"({"type": "client"})"),
                                   &response);
  };
  EXPECT_TRUE(call(kClientSecret).ok());
  grpc::Status wrong = call("not-the-secret");
  EXPECT_EQ(wrong.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(testing::ReasonOf(wrong), "UPSTREAM_TOKEN_REJECTED");
  EXPECT_THAT(wrong.error_message(), HasSubstr("invalid_client"));
  EXPECT_THAT(wrong.error_message(), Not(HasSubstr("not-the-secret")));
}

TEST_F(ServiceIntegrationTest, AdminEndpointsAndMetricsMoveWithCalls) {
  EXPECT_EQ(Admin("/healthz").status, 200);
  EXPECT_EQ(Admin("/readyz").status, 200);
  EXPECT_EQ(Admin("/nope").status, 404);
  std::string before = Admin("/metrics").body;
  EXPECT_THAT(before, Not(HasSubstr("halopsa_rpc_calls_total{method=\"CreateTicket\"")));
  EXPECT_THAT(before, HasSubstr("halopsa_token_requests_total 0\n"));

  CreateTicket(R"({"summary": "counted"})");
  CreateTicket(R"({"summary": "counted again"})");
  std::string after = Admin("/metrics").body;
  EXPECT_THAT(after, HasSubstr("halopsa_rpc_calls_total{method=\"CreateTicket\",code=\"OK\"} 2\n"));
  EXPECT_THAT(after, HasSubstr("halopsa_rpc_duration_seconds_count{method=\"CreateTicket\"} 2\n"));
  EXPECT_THAT(after, ::testing::ContainsRegex("halopsa_upstream_requests_total\\{endpoint=\"/api/Tickets\",status=\"20[01]\"\\} 2"));
  EXPECT_THAT(after, HasSubstr("halopsa_token_requests_total 1\n"));
  EXPECT_THAT(after, HasSubstr("halopsa_token_cache_hits_total 1\n"));
  EXPECT_THAT(after, HasSubstr("halopsa_upstream_connections_opened_total 1\n"));

  sim_->RevokeTokens();
  CreateTicket(R"({"summary": "after revocation"})");
  EXPECT_THAT(Admin("/metrics").body, HasSubstr("halopsa_upstream_retries_total{reason=\"unauthorized\"} 1\n"));

  app_->Shutdown();
  EXPECT_EQ(Admin("/readyz").status, 503);
}

TEST_F(ServiceIntegrationTest, OneLogLinePerCallAndNoSecrets) {
  CreateTicket(R"({"summary": "logged"})");
  {
    auto context = Context();  // a failure, with a wrong secret in metadata
    context->AddMetadata("x-halopsa-instance-url", sim_->base_url());
    context->AddMetadata("x-halopsa-client-id", kClientId);
    context->AddMetadata("x-halopsa-client-secret", "wrong-secret-value-42");
    context->AddMetadata("x-halopsa-org-id", "org-9");
    context->AddMetadata("x-request-id", "req-123");
    v1::LookupClientSiteResponse response;
    EXPECT_FALSE(stub_->LookupClientSite(context.get(), FromJson<v1::LookupClientSiteRequest>(R"({"type": "site"})"),
                                         &response).ok());
  }
  std::string logs = Logs();
  std::vector<std::string> rpc_lines;
  for (absl::string_view line : absl::StrSplit(logs, '\n', absl::SkipEmpty())) {
    absl::StatusOr<google::protobuf::Value> json = ParseJson(line);
    ASSERT_TRUE(json.ok()) << line;
    if (json->struct_value().fields().at("msg").string_value() == "rpc") rpc_lines.emplace_back(line);
  }
  ASSERT_EQ(rpc_lines.size(), 2u) << logs;
  Struct created = ParseJson(rpc_lines[0])->struct_value();
  EXPECT_EQ(created.fields().at("method").string_value(), "CreateTicket");
  EXPECT_EQ(created.fields().at("code").string_value(), "OK");
  EXPECT_EQ(Number(created, "upstream_requests"), 1);
  Struct failed = ParseJson(rpc_lines[1])->struct_value();
  EXPECT_EQ(failed.fields().at("code").string_value(), "UNAUTHENTICATED");
  EXPECT_EQ(failed.fields().at("org").string_value(), "org-9");
  EXPECT_EQ(failed.fields().at("request_id").string_value(), "req-123");
  EXPECT_EQ(failed.fields().at("reason").string_value(), "UPSTREAM_TOKEN_REJECTED");

  std::vector<std::string> secrets = {kClientSecret, "wrong-secret-value-42"};
  for (const auto& request : sim_->requests()) {
    if (absl::StartsWith(request.authorization, "Bearer ")) secrets.push_back(request.authorization.substr(7));
  }
  ASSERT_GT(secrets.size(), 2u);
  std::string metrics = Admin("/metrics").body;
  for (const std::string& secret : secrets) {
    EXPECT_THAT(logs, Not(HasSubstr(secret)));
    EXPECT_THAT(metrics, Not(HasSubstr(secret)));
  }
}

TEST(ServiceTlsTest, UntrustedHaloCertificateIsRefused) {
  sim::SimulatorOptions sim_options;
  sim_options.tls_cert_file = testing::CertPath("untrusted.pem");
  sim_options.tls_key_file = testing::CertPath("untrusted.key");
  auto sim = sim::HaloSimulator::Start(sim_options);
  ASSERT_TRUE(sim.ok());
  ServerConfig config =
      testing::LoopbackServerConfig(**sim, sim_options.client_id, sim_options.client_secret, stdout);
  auto app = ServerApp::Start(config);
  ASSERT_TRUE(app.ok());
  auto stub = v1::HaloPsaService::NewStub(
      grpc::CreateChannel(absl::StrCat("127.0.0.1:", (*app)->grpc_port()), grpc::InsecureChannelCredentials()));
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(20)));
  v1::CreateTicketResponse response;
  grpc::Status status = stub->CreateTicket(&context, FromJson<v1::CreateTicketRequest>(R"({"summary": "s"})"),
                                           &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(testing::ReasonOf(status), "UPSTREAM_TLS_FAILED");
  EXPECT_THAT((*sim)->requests(), IsEmpty());  // refused during the handshake, before any request
}

}  // namespace
}  // namespace halopsa

// The real server against a simulator that behaves as Halo-hosted tenants
// do: tokens from a separate authorisation server found through
// /api/authinfo, least-privilege scopes, reference lines that survive the
// plain-text derivation, outcomes that differ per tenant and the documented
// asset lookups. Loopback TLS, port 0.

#include <grpcpp/grpcpp.h>

#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/algorithm/container.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "app/server_app.h"
#include "google/rpc/error_details.pb.h"
#include "halopsa/v1/halopsa.grpc.pb.h"
#include "server/call_runner.h"
#include "server/idempotent_create.h"
#include "simulator/halo_simulator.h"
#include "tests/testing/error_details.h"
#include "tests/testing/loopback_config.h"
#include "tests/testing/loopback_stack.h"
#include "tests/testing/test_support.h"

namespace halopsa {
namespace {

using ::testing::HasSubstr;
using google::protobuf::Struct;
using testing::FromJson;

constexpr char kClientId[] = "hosted-client";
constexpr char kClientSecret[] = "hosted-secret-0123456789";

std::string Text(const Struct& object, const std::string& key) {
  auto it = object.fields().find(key);
  return it == object.fields().end() ? "" : it->second.string_value();
}

class FidelityIntegrationTest : public testing::LoopbackStackTest<> {
 protected:
  // A Halo-hosted tenant, and a server whose connection names only the
  // instance URL and the credentials (plus `scope`).
  void Start(const std::string& scope = "all") {
    sim::SimulatorOptions options;
    options.tls_cert_file = testing::CertPath("server.pem");
    options.tls_key_file = testing::CertPath("server.key");
    options.client_id = kClientId;
    options.client_secret = kClientSecret;
    options.hosted_auth = true;
    auto simulator = sim::HaloSimulator::Start(options);
    ASSERT_TRUE(simulator.ok()) << simulator.status();
    sim_ = *std::move(simulator);

    ServerConfig config = testing::LoopbackServerConfig(*sim_, kClientId, kClientSecret, log_);
    auto connection = std::make_shared<HaloConnection>(*config.default_connection);
    connection->scope = scope;
    config.default_connection = connection;
    config.rate_limit = rate_limit_;
    ASSERT_TRUE(StartServer(config));
    stub_ = v1::HaloPsaService::NewStub(
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", app_->grpc_port()), grpc::InsecureChannelCredentials()));
  }

  std::unique_ptr<grpc::ClientContext> Context(const std::vector<std::pair<std::string, std::string>>& metadata = {}) {
    auto context = std::make_unique<grpc::ClientContext>();
    context->set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(20)));
    for (const auto& [key, value] : metadata) context->AddMetadata(key, value);
    return context;
  }

  // HaloPSA creates what is POSTed, then its answer is lost. A call first,
  // so that the token (also a POST) is already there.
  void LoseEveryAnswerToAPost() {
    v1::SearchTicketsResponse warm_up;
    auto context = Context();
    ASSERT_TRUE(stub_->SearchTickets(context.get(), v1::SearchTicketsRequest(), &warm_up).ok());
    ASSERT_TRUE(sim_->SetFaults(sim::FaultConfig{.method = "POST", .error_after_probability = 1.0}).ok());
  }

  // One create of `org` (x-halopsa-org-id) with this deadline: its answer
  // and how long it took.
  std::pair<grpc::Status, absl::Duration> CreateFor(const std::string& org, absl::Duration deadline) {
    auto context = Context({{"x-halopsa-org-id", org}});
    const absl::Time start = absl::Now();
    context->set_deadline(absl::ToChronoTime(start + deadline));
    v1::CreateTicketRequest request;
    request.set_summary(absl::StrCat("detection of ", org));
    v1::CreateTicketResponse response;
    grpc::Status status = stub_->CreateTicket(context.get(), request, &response);
    return {status, absl::Now() - start};
  }

  int RequestsTo(const std::string& method, const std::string& path) {
    int count = 0;
    for (const auto& request : sim_->requests()) count += request.method == method && request.path == path;
    return count;
  }

  RateLimitOptions rate_limit_;  // the default: 300 per 5 minutes, as hosted HaloPSA
  std::unique_ptr<v1::HaloPsaService::Stub> stub_;
};

TEST_F(FidelityIntegrationTest, HostedTenantWorksWithOnlyInstanceUrlAndCredentials) {
  ASSERT_NO_FATAL_FAILURE(Start());
  v1::CreateTicketResponse first, second;
  auto context = Context();
  grpc::Status status =
      stub_->CreateTicket(context.get(), FromJson<v1::CreateTicketRequest>(R"({"summary": "hosted"})"), &first);
  ASSERT_TRUE(status.ok()) << status.error_message();
  auto context2 = Context();
  ASSERT_TRUE(
      stub_->CreateTicket(context2.get(), FromJson<v1::CreateTicketRequest>(R"({"summary": "again"})"), &second).ok());
  EXPECT_EQ(RequestsTo("GET", "/api/authinfo"), 1);  // discovered once
  EXPECT_EQ(sim_->token_requests(), 1);              // from the auth server, with the discovered tenant
}

TEST_F(FidelityIntegrationTest, LeastPrivilegeScopesServeEverySixActions) {
  ASSERT_NO_FATAL_FAILURE(Start("edit:tickets edit:assets read:customers"));
  v1::CreateTicketResponse ticket;
  auto c1 = Context();
  ASSERT_TRUE(stub_->CreateTicket(c1.get(), FromJson<v1::CreateTicketRequest>(R"({"summary": "s"})"), &ticket).ok());
  v1::UpdateTicketResponse updated;
  auto c2 = Context();
  ASSERT_TRUE(stub_->UpdateTicket(c2.get(), FromJson<v1::UpdateTicketRequest>(
                                                absl::StrCat(R"({"id": )", ticket.id(), R"(, "status_id": 2})")),
                                  &updated).ok());
  v1::SearchTicketsResponse found;
  auto c3 = Context();
  ASSERT_TRUE(stub_->SearchTickets(c3.get(), v1::SearchTicketsRequest(), &found).ok());
  v1::AddActionResponse action;
  auto c4 = Context();
  ASSERT_TRUE(stub_->AddAction(c4.get(), FromJson<v1::AddActionRequest>(
                                             absl::StrCat(R"({"ticket_id": )", ticket.id(), R"(, "note": "n"})")),
                               &action).ok());
  v1::LinkAssetToTicketResponse link;
  auto c5 = Context();
  grpc::Status linked = stub_->LinkAssetToTicket(
      c5.get(), FromJson<v1::LinkAssetToTicketRequest>(absl::StrCat(R"({"ticket_id": )", ticket.id(),
                                                                    R"(, "hostname": "new-host", "client_id": 12,
                                                                    "asset_type_id": 1})")),
      &link);
  ASSERT_TRUE(linked.ok()) << linked.error_message();
  v1::LookupClientSiteResponse clients;
  auto c6 = Context();
  ASSERT_TRUE(stub_->LookupClientSite(c6.get(), FromJson<v1::LookupClientSiteRequest>(R"({"type": "client"})"),
                                      &clients).ok());
}

TEST_F(FidelityIntegrationTest, AnInvalidScopeNamesTheScopeSetting) {
  ASSERT_NO_FATAL_FAILURE(Start("edit:tickets read:actions"));
  v1::CreateTicketResponse response;
  auto context = Context();
  grpc::Status status =
      stub_->CreateTicket(context.get(), FromJson<v1::CreateTicketRequest>(R"({"summary": "s"})"), &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(status.error_message(), HasSubstr("scope setting"));
  EXPECT_THAT(status.error_message(), HasSubstr("edit:tickets edit:assets read:customers"));
}

TEST_F(FidelityIntegrationTest, TheReferenceLineSurvivesAndFindsTheTicketWhoseAnswerWasLost) {
  ASSERT_NO_FATAL_FAILURE(Start());
  LoseEveryAnswerToAPost();
  v1::CreateTicketResponse created;
  auto context = Context({{kIdempotencyKeyHeader, "lc-callback-1"}});
  grpc::Status status = stub_->CreateTicket(
      context.get(), FromJson<v1::CreateTicketRequest>(R"({"summary": "lost answer", "details": "a <b> c"})"),
      &created);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(RequestsTo("POST", "/api/Tickets"), 1);
  std::optional<Struct> stored = sim_->ticket(created.id());
  ASSERT_TRUE(stored.has_value());
  const std::string reference = IdempotencyReference("lc-callback-1");
  EXPECT_EQ(Text(*stored, "details"), absl::StrCat("a <b> c\n", reference));  // visible, and the text as given
  EXPECT_THAT(Text(*stored, "details_html"), HasSubstr(reference));
}

TEST_F(FidelityIntegrationTest, WithTheMarkerOffALostAnswerStaysUnknown) {
  ASSERT_NO_FATAL_FAILURE(Start());
  LoseEveryAnswerToAPost();
  sim_->ClearRequests();
  v1::CreateTicketResponse created;
  auto context = Context({{kIdempotencyKeyHeader, "lc-callback-2"}, {kIdempotencyMarkerHeader, "off"}});
  grpc::Status status = stub_->CreateTicket(
      context.get(), FromJson<v1::CreateTicketRequest>(R"({"summary": "unmarked", "details": "d"})"), &created);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_THAT(status.error_message(), HasSubstr("HaloPSA may have processed the request"));
  EXPECT_EQ(RequestsTo("POST", "/api/Tickets"), 1);
  EXPECT_EQ(RequestsTo("GET", "/api/Tickets"), 0);  // nothing to search for
  int unmarked = 0;
  for (const Struct& ticket : sim_->tickets()) {
    if (Text(ticket, "summary") != "unmarked") continue;
    ++unmarked;
    EXPECT_EQ(Text(ticket, "details"), "d");  // no reference line
  }
  EXPECT_EQ(unmarked, 1);
}

TEST_F(FidelityIntegrationTest, ARefusedDefaultOutcomeNamesTheSettingToFix) {
  ASSERT_NO_FATAL_FAILURE(Start());
  v1::AddActionResponse action;
  auto context = Context({{kDefaultOutcomeHeader, "Triage"}});
  grpc::Status status =
      stub_->AddAction(context.get(), FromJson<v1::AddActionRequest>(R"({"ticket_id": 2884, "note": "n"})"), &action);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("'Triage' from the default_outcome setting"));

  auto fixed = Context({{kDefaultOutcomeIdHeader, "2"}});
  ASSERT_TRUE(stub_->AddAction(fixed.get(), FromJson<v1::AddActionRequest>(R"({"ticket_id": 2884, "note": "n"})"),
                               &action).ok());
  EXPECT_EQ(action.action().fields().at("outcome_id").number_value(), 2);
}

TEST_F(FidelityIntegrationTest, LinksUseTheDocumentedLookupsAndKeepOtherAssets) {
  ASSERT_NO_FATAL_FAILURE(Start());
  v1::LinkAssetToTicketResponse link;
  auto context = Context();
  // Ticket 2880 already has asset 1; CONTOSO-LT-7 is asset 3, found by the exact filter.
  ASSERT_TRUE(stub_->LinkAssetToTicket(context.get(), FromJson<v1::LinkAssetToTicketRequest>(
                                                          R"({"ticket_id": 2880, "hostname": "contoso-lt-7"})"),
                                       &link).ok());
  EXPECT_EQ(link.asset_id(), 3);
  std::optional<Struct> ticket = sim_->ticket(2880);
  ASSERT_TRUE(ticket.has_value());
  EXPECT_EQ(ticket->fields().at("assets").list_value().values_size(), 2);
  int lookups = 0;
  for (const auto& request : sim_->requests()) {
    if (request.path != "/api/Asset" || request.method != "GET") continue;
    ++lookups;
    EXPECT_FALSE(absl::c_any_of(request.query, [](const auto& p) { return p.first == "search"; }))
        << "no search after the exact filter found the asset";
  }
  EXPECT_EQ(lookups, 2);  // the ticket's assets, then inventory_number=
}

// Hosted HaloPSA's budget is shared by the MSP's orgs: a storm of one org is
// refused at once (not at its deadline) where its org's queue cannot serve
// it in time, with the queue's estimate as RetryInfo, while another org's
// single call is served; first come, first served would have put that call
// behind the storm's queue, past its deadline.
TEST_F(FidelityIntegrationTest, AStormOfOneOrgIsRefusedAtOnceWithRetryInfoWhileAnotherOrgIsServed) {
  rate_limit_ = RateLimitOptions{.max_requests = 40, .window = absl::Seconds(20)};  // 2 at once, one per 20/39 s
  ASSERT_NO_FATAL_FAILURE(Start());
  const absl::Duration deadline = absl::Seconds(4);
  std::mutex mu;
  std::vector<std::pair<grpc::Status, absl::Duration>> storm;
  std::vector<std::thread> senders;
  for (int i = 0; i < 20; ++i) {
    senders.emplace_back([&] {
      auto outcome = CreateFor("storm-org", deadline);
      std::lock_guard<std::mutex> lock(mu);
      storm.push_back(std::move(outcome));
    });
  }
  const absl::Time give_up = absl::Now() + absl::Seconds(10);
  while (absl::Now() < give_up) {  // the storm's refusals are back, its queue is full
    std::lock_guard<std::mutex> lock(mu);
    if (storm.size() >= 10) break;
  }
  const auto [quiet, quiet_took] = CreateFor("quiet-org", absl::Seconds(2));
  for (std::thread& sender : senders) sender.join();

  EXPECT_TRUE(quiet.ok()) << quiet.error_message();
  int refused = 0;
  for (const auto& [status, took] : storm) {
    if (status.ok()) continue;
    ++refused;
    EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << status.error_message();
    std::optional<google::rpc::ErrorInfo> info = testing::ErrorInfoOf(status);
    ASSERT_TRUE(info.has_value());
    EXPECT_EQ(info->reason(), "UPSTREAM_RATE_LIMITED");
    std::optional<google::rpc::RetryInfo> retry = testing::DetailOf<google::rpc::RetryInfo>(status);
    ASSERT_TRUE(retry.has_value()) << "the queue's estimate";
    EXPECT_TRUE(retry->retry_delay().seconds() > 0 || retry->retry_delay().nanos() > 0);
    EXPECT_LT(took, deadline / 2) << "refused at once, not at the deadline";
  }
  EXPECT_GE(refused, 5);
  EXPECT_GE(storm.size() - refused, 3u) << "the storm's share was served";
}

}  // namespace
}  // namespace halopsa

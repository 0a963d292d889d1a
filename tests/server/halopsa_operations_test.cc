#include "server/halopsa_operations.h"

#include <gmock/gmock.h>
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>

#include "adapters/halopsa/halo_errors.h"
#include "server/error_mapping.h"
#include "tests/server/mock_halo_api.h"
#include "tests/testing/error_details.h"

namespace halopsa {
namespace {

using ::testing::_;
using ::testing::ElementsAre;
using ::testing::Pair;
using ::testing::StrictMock;
using testing::AnswerJson;
using testing::AnswerStatus;
using testing::JsonEq;
using testing::MockHaloApi;
using testing::RunAction;

template <typename Request>
Request Parse(const std::string& json) {
  Request request;
  EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(json, &request).ok()) << json;
  return request;
}

class ActionsTest : public ::testing::Test {
 protected:
  template <typename Response, typename Request>
  absl::StatusOr<Response> Call(void (HaloPsaOperations::*action)(const CallContext&, const Request&, Reply<Response>),
                                const std::string& json) {
    Request request = Parse<Request>(json);
    return RunAction<Response>([&](Reply<Response> done) { (actions_.*action)(context_, request, std::move(done)); });
  }

  StrictMock<MockHaloApi> api_;
  HaloPsaOperations actions_{api_};
  CallContext context_{std::make_shared<HaloConnection>(), absl::InfiniteFuture(), nullptr, ""};
};

TEST_F(ActionsTest, CreateTicketSendsHaloShapesAndMergesExtraLast) {
  EXPECT_CALL(api_, Post(_, "/api/Tickets", JsonEq(R"([{
      "summary": "Malware - host1", "details": "evt", "client_id": 12, "site_id": 18, "tickettype_id": 1,
      "priority_id": 3, "assets": [{"id": 4}, {"id": 9}],
      "customfields": [{"id": 101, "value": "sensor-1"}, {"id": 102, "value": 7}],
      "team": "SOC", "dateoccurred": "2026-11-01T00:00:00"}])"), _))
      .WillOnce(AnswerJson(R"({"id": 3001, "summary": "Malware - host1", "client_id": 12})"));

  auto response = Call(&HaloPsaOperations::CreateTicket, R"({
      "summary": "Malware - host1", "details": "evt", "client_id": 12, "site_id": 18, "tickettype_id": 1,
      "priority_id": 3, "asset_ids": [4, 9], "team": "Tier1",
      "customfields": [{"id": 101, "value": "sensor-1"}, {"id": 102, "value": 7}],
      "extra": {"team": "SOC", "dateoccurred": "2026-11-01T00:00:00"}})");
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->id(), 3001);
  EXPECT_EQ(response->ticket().fields().at("client_id").number_value(), 12);
}

TEST_F(ActionsTest, CreateTicketAcceptsOneElementArrayAnswer) {
  EXPECT_CALL(api_, Post(_, "/api/Tickets", JsonEq(R"([{"summary": "s"}])"), _))
      .WillOnce(AnswerJson(R"([{"id": 7, "summary": "s"}])"));
  auto response = Call(&HaloPsaOperations::CreateTicket, R"({"summary": "s"})");
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->id(), 7);
}

TEST_F(ActionsTest, CreateTicketWithoutIdInAnswerIsUnavailable) {
  EXPECT_CALL(api_, Post(_, "/api/Tickets", _, _)).WillOnce(AnswerJson(R"({"summary": "s"})"));
  auto response = Call(&HaloPsaOperations::CreateTicket, R"({"summary": "s"})");
  EXPECT_EQ(response.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(testing::ReasonOf(response.status()), "UPSTREAM_BAD_RESPONSE");
}

TEST_F(ActionsTest, InvalidRequestNeverReachesHalo) {
  // StrictMock fails the test on any upstream call.
  auto response = Call(&HaloPsaOperations::CreateTicket, R"({"details": "no summary"})");
  EXPECT_EQ(response.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(response.status().message(), "summary: is required");
}

TEST_F(ActionsTest, UpstreamErrorPassesThrough) {
  absl::Status halo = FromHaloHttpStatus(400, "/api/Tickets", R"("CODE:APP03/2 Please select a Client")");
  EXPECT_CALL(api_, Post(_, "/api/Tickets", _, _)).WillOnce(AnswerStatus(halo));
  auto response = Call(&HaloPsaOperations::CreateTicket, R"({"summary": "s"})");
  EXPECT_EQ(response.status(), halo);
}

TEST_F(ActionsTest, UpdateTicketSendsOnlyChangedFields) {
  EXPECT_CALL(api_, Post(_, "/api/Tickets", JsonEq(R"([{"id": 42, "status_id": 9, "assets": [{"id": 1}],
      "customfields": [{"id": 5, "value": true}], "category_2": "x"}])"), _))
      .WillOnce(AnswerJson(R"({"id": 42, "status_id": 9})"));
  auto response = Call(&HaloPsaOperations::UpdateTicket, R"({"id": 42, "status_id": 9, "asset_ids": [1],
      "customfields": [{"id": 5, "value": true}], "extra": {"category_2": "x"}})");
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->id(), 42);
  EXPECT_EQ(response->ticket().fields().at("status_id").number_value(), 9);
}

TEST_F(ActionsTest, AddActionDefaultsToPrivateNoteOutcome) {
  EXPECT_CALL(api_, Post(_, "/api/Actions", JsonEq(R"([{"ticket_id": 2884, "note": "triage",
      "hiddenfromuser": true, "outcome": "Note"}])"), _))
      .WillOnce(AnswerJson(R"({"id": 3, "ticket_id": 2884, "note": "triage"})"));
  auto response = Call(&HaloPsaOperations::AddAction, R"({"ticket_id": 2884, "note": "triage"})");
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->id(), 3);
  EXPECT_EQ(response->ticket_id(), 2884);
}

TEST_F(ActionsTest, AddActionPublicReplyWithTimeAndFractionalExtra) {
  EXPECT_CALL(api_, Post(_, "/api/Actions", JsonEq(R"([{"ticket_id": 5, "note": "done", "hiddenfromuser": false,
      "outcome": "Resolved", "timetaken": 0.25, "actionchargehours": 2}])"), _))
      .WillOnce(AnswerJson(R"({"id": 1, "ticket_id": 5})"));
  auto response = Call(&HaloPsaOperations::AddAction, R"({"ticket_id": 5, "note": "done", "hiddenfromuser": false,
      "outcome": "Resolved", "timetaken": 1, "actionchargehours": 2, "extra": {"timetaken": 0.25}})");
  EXPECT_TRUE(response.ok()) << response.status();
}

TEST_F(ActionsTest, AddActionWithOutcomeIdInExtraSendsNoDefaultOutcome) {
  EXPECT_CALL(api_, Post(_, "/api/Actions", JsonEq(R"([{"ticket_id": 5, "note": "n", "hiddenfromuser": true,
      "outcome_id": 12}])"), _))
      .WillOnce(AnswerJson(R"({"id": 1, "ticket_id": 5})"));
  EXPECT_TRUE(Call(&HaloPsaOperations::AddAction, R"({"ticket_id": 5, "note": "n", "extra": {"outcome_id": 12}})").ok());
}

TEST_F(ActionsTest, AddActionUsesTheConnectionsDefaultOutcomeIdThenName) {
  auto connection = std::make_shared<HaloConnection>();
  connection->default_outcome = "Private Note";
  context_.connection = connection;
  EXPECT_CALL(api_, Post(_, "/api/Actions", JsonEq(R"([{"ticket_id": 5, "note": "n", "hiddenfromuser": true,
      "outcome": "Private Note"}])"), _))
      .WillOnce(AnswerJson(R"({"id": 1, "ticket_id": 5})"));
  EXPECT_TRUE(Call(&HaloPsaOperations::AddAction, R"({"ticket_id": 5, "note": "n"})").ok());

  connection->default_outcome_id = 21;  // an id wins over a name
  EXPECT_CALL(api_, Post(_, "/api/Actions", JsonEq(R"([{"ticket_id": 5, "note": "n", "hiddenfromuser": true,
      "outcome_id": 21}])"), _))
      .WillOnce(AnswerJson(R"({"id": 2, "ticket_id": 5})"));
  EXPECT_TRUE(Call(&HaloPsaOperations::AddAction, R"({"ticket_id": 5, "note": "n"})").ok());
}

TEST_F(ActionsTest, AddActionOutcomeOfTheRequestWinsOverTheDefaults) {
  auto connection = std::make_shared<HaloConnection>();
  connection->default_outcome_id = 21;
  context_.connection = connection;
  EXPECT_CALL(api_, Post(_, "/api/Actions", JsonEq(R"([{"ticket_id": 5, "note": "n", "hiddenfromuser": true,
      "outcome_id": 4}])"), _))
      .WillOnce(AnswerJson(R"({"id": 1, "ticket_id": 5})"));
  EXPECT_TRUE(Call(&HaloPsaOperations::AddAction, R"({"ticket_id": 5, "note": "n", "outcome_id": 4})").ok());
}

TEST_F(ActionsTest, RefusedOutcomeNamesTheSettingThatSuppliedIt) {
  auto connection = std::make_shared<HaloConnection>();
  connection->default_outcome = "Triage";
  context_.connection = connection;
  absl::Status refused =
      FromHaloHttpStatus(400, "/api/Actions", R"({"errors": ["An Outcome must be entered for this Action"]})");
  EXPECT_CALL(api_, Post(_, "/api/Actions", _, _)).WillOnce(AnswerStatus(refused));
  absl::Status status = Call(&HaloPsaOperations::AddAction, R"({"ticket_id": 5, "note": "n"})").status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()),
              ::testing::AllOf(::testing::HasSubstr("An Outcome must be entered"),
                               ::testing::HasSubstr("'Triage' from the default_outcome setting"),
                               ::testing::HasSubstr("x-halopsa-default-outcome")));
  EXPECT_EQ(testing::ReasonOf(status), kReasonOutcomeRefused);
  EXPECT_EQ(testing::ErrorMetadataOf(status, "setting"), "default_outcome");
  EXPECT_EQ(testing::ErrorMetadataOf(status, "http_status"), "400");
}

TEST_F(ActionsTest, OtherActionFailuresAreNotBlamedOnTheOutcome) {
  absl::Status missing = FromHaloHttpStatus(404, "/api/Actions", R"({"error": "Ticket 5 not found"})");
  EXPECT_CALL(api_, Post(_, "/api/Actions", _, _)).WillOnce(AnswerStatus(missing));
  EXPECT_EQ(Call(&HaloPsaOperations::AddAction, R"({"ticket_id": 5, "note": "n"})").status(), missing);
}

TEST_F(ActionsTest, SearchTicketsDefaultsAndTranslatesFilters) {
  EXPECT_CALL(api_, Get(_, "/api/Tickets",
                        ElementsAre(Pair("search", "ransom"), Pair("client_id", "12"), Pair("status_id", "1,2"),
                                    Pair("requesttype_id", "3"), Pair("order", "id"), Pair("orderdesc", "true"),
                                    Pair("pageinate", "true"), Pair("page_size", "50"), Pair("page_no", "1")),
                        _))
      .WillOnce(AnswerJson(R"({"record_count": 2, "page_no": 1, "page_size": 50,
                              "tickets": [{"id": 1}, {"id": 2}]})"));
  auto response = Call(&HaloPsaOperations::SearchTickets, R"({"search": "ransom", "client_id": 12,
      "status_ids": "1, 2", "tickettype_id": 3, "order": "id", "orderdesc": true})");
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->record_count(), 2);
  ASSERT_EQ(response->tickets_size(), 2);
  EXPECT_EQ(response->tickets(1).fields().at("id").number_value(), 2);
}

TEST_F(ActionsTest, LookupSitesOfClient) {
  EXPECT_CALL(api_, Get(_, "/api/Site",
                        ElementsAre(Pair("search", "HQ"), Pair("client_id", "12"), Pair("pageinate", "true"),
                                    Pair("page_size", "10"), Pair("page_no", "2")),
                        _))
      .WillOnce(AnswerJson(R"({"record_count": 11, "sites": [{"id": 18, "name": "Contoso HQ"}]})"));
  auto response = Call(&HaloPsaOperations::LookupClientSite,
                       R"({"type": "site", "search": "HQ", "client_id": 12, "page_size": 10, "page_no": 2})");
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->record_count(), 11);
  ASSERT_EQ(response->sites_size(), 1);
  EXPECT_EQ(response->clients_size(), 0);
}

TEST_F(ActionsTest, LookupClientsDefaults) {
  EXPECT_CALL(api_, Get(_, "/api/Client",
                        ElementsAre(Pair("pageinate", "true"), Pair("page_size", "50"), Pair("page_no", "1")), _))
      .WillOnce(AnswerJson(R"({"record_count": 1, "clients": [{"id": 12, "name": "Contoso"}]})"));
  auto response = Call(&HaloPsaOperations::LookupClientSite, R"({"type": "client"})");
  ASSERT_TRUE(response.ok()) << response.status();
  ASSERT_EQ(response->clients_size(), 1);
  EXPECT_EQ(response->clients(0).fields().at("name").string_value(), "Contoso");
}

}  // namespace
}  // namespace halopsa

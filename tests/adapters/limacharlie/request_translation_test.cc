#include "adapters/limacharlie/request_translation.h"

#include <gmock/gmock.h>
#include <google/protobuf/message.h>
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>

#include "adapters/limacharlie/actions.h"
#include "adapters/limacharlie/lc_errors.h"
#include "halopsa/v1/halopsa.pb.h"
#include "server/error_mapping.h"
#include "server/json_values.h"
#include "tests/testing/json_matchers.h"
#include "tests/testing/lc_test_client.h"

namespace halopsa::lc {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using halopsa::testing::JsonEq;

const ActionSpec& Action(absl::string_view name) {
  const ActionSpec* action = FindAction(name);
  EXPECT_NE(action, nullptr) << name;
  return *action;
}

template <typename Request>
Request Translate(absl::string_view action, absl::string_view data) {
  absl::StatusOr<std::unique_ptr<google::protobuf::Message>> message = RequestFromData(Action(action), data);
  EXPECT_TRUE(message.ok()) << message.status();
  Request request;
  if (message.ok()) request.CopyFrom(**message);
  return request;
}

absl::Status TranslateError(absl::string_view action, absl::string_view data) {
  absl::StatusOr<std::unique_ptr<google::protobuf::Message>> message = RequestFromData(Action(action), data);
  EXPECT_FALSE(message.ok()) << data;
  return message.status();
}

template <typename Message>
Message FromJson(const std::string& json) {
  Message message;
  EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(json, &message).ok()) << json;
  return message;
}

TEST(RequestFromDataTest, EveryActionAcceptsAnEmptyObject) {
  for (const ActionSpec& action : Actions()) {
    EXPECT_TRUE(RequestFromData(action, "{}").ok()) << action.name;
  }
}

TEST(RequestFromDataTest, TypedValuesPassThrough) {
  auto request = Translate<v1::CreateTicketRequest>("create_ticket",
                                                    R"({"summary":"Malware - ws-1","client_id":12,"asset_ids":[3,4],
                          "customfields":[{"name":"CFSensorId","value":"sensor-9"}],"extra":{"category_2":"EDR"}})");
  EXPECT_EQ(request.summary(), "Malware - ws-1");
  EXPECT_EQ(request.client_id(), 12);
  EXPECT_THAT(request.asset_ids(), ElementsAre(3, 4));
  EXPECT_EQ(request.customfields(0).name(), "CFSensorId");
  EXPECT_EQ(request.customfields(0).value().string_value(), "sensor-9");
  EXPECT_EQ(request.extra().fields().at("category_2").string_value(), "EDR");
}

TEST(RequestFromDataTest, TemplateRenderedStringsBecomeIntegersAndBools) {
  auto action = Translate<v1::AddActionRequest>(
      "add_action", R"({"ticket_id":"2884","note":"n","hiddenfromuser":"false","timetaken":" 1 "})");
  EXPECT_EQ(action.ticket_id(), 2884);
  ASSERT_TRUE(action.has_hiddenfromuser());
  EXPECT_FALSE(action.hiddenfromuser());
  EXPECT_EQ(action.timetaken(), 1);

  auto search =
      Translate<v1::SearchTicketsRequest>("search_tickets", R"({"orderdesc":"TRUE","page_size":"-5","page_no":2.0})");
  EXPECT_TRUE(search.orderdesc());
  EXPECT_EQ(search.page_size(), -5);  // the range is the service's to judge
  EXPECT_EQ(search.page_no(), 2);

  auto ticket = Translate<v1::CreateTicketRequest>(
      "create_ticket", R"({"summary":"s","asset_ids":["7",8],"customfields":[{"id":"5","value":1}]})");
  EXPECT_THAT(ticket.asset_ids(), ElementsAre(7, 8));
  EXPECT_EQ(ticket.customfields(0).id(), 5);
}

TEST(RequestFromDataTest, NullMeansAbsent) {
  auto request = Translate<v1::LinkAssetToTicketRequest>(
      "link_asset_to_ticket", R"({"ticket_id":1,"hostname":"h","client_id":null,"create_if_missing":null})");
  EXPECT_FALSE(request.has_client_id());
  EXPECT_FALSE(request.has_create_if_missing());
  auto field = Translate<v1::CreateTicketRequest>("create_ticket",
                                                  R"({"summary":"s","customfields":[{"name":"n","value":null}]})");
  EXPECT_EQ(field.customfields(0).value().kind_case(), google::protobuf::Value::kNullValue);
}

TEST(RequestFromDataTest, ARepeatedKeyCountsOnceWithItsLastValue) {
  auto request = Translate<v1::CreateTicketRequest>(
      "create_ticket", R"({"summary":"first","summary":"last","asset_ids":[1,2],"asset_ids":[3]})");
  EXPECT_EQ(request.summary(), "last");
  EXPECT_THAT(request.asset_ids(), ElementsAre(3));
}

TEST(RequestFromDataTest, EscapedLoneSurrogatesAreRefusedAndNotEchoedAsBrokenUtf8) {
  // RapidJSON decodes a lone low surrogate into bytes that are not UTF-8;
  // protobuf strings (the request's and the error's) must be UTF-8.
  for (const char* data : {R"({"summary":"bad \udfff text"})", R"({"summary":"s","extra":{"k":"\udfff"}})",
                           R"({"summ\udfffary":"s"})"}) {
    const absl::Status status = TranslateError("create_ticket", data);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << data;
    EXPECT_THAT(status.message(), HasSubstr("unpaired surrogate")) << data;
    EXPECT_FALSE(HasEncodedSurrogate(status.message())) << data;
  }
}

TEST(RequestFromDataTest, EnumTakesTheProductPageNames) {
  EXPECT_EQ(Translate<v1::LookupClientSiteRequest>("lookup_client_site", R"({"type":"site"})").type(),
            v1::LookupClientSiteRequest::site);
  absl::Status status = TranslateError("lookup_client_site", R"({"type":"company"})");
  EXPECT_EQ(status.message(), R"(type: must be one of client, site, got "company")");
  EXPECT_THAT(TranslateError("lookup_client_site", R"({"type":"TYPE_UNSPECIFIED"})").message(),
              HasSubstr("must be one of client, site"));
}

struct WrongTypeCase {
  const char* action;
  const char* data;
  const char* message;
};

class WrongTypeTest : public ::testing::TestWithParam<WrongTypeCase> {};

TEST_P(WrongTypeTest, NamesTheFieldAndWhatItTakes) {
  absl::Status status = TranslateError(GetParam().action, GetParam().data);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(status.message()), GetParam().message);
  EXPECT_EQ(GetErrorInfo(status)->reason(), "INVALID_FIELD");
  EXPECT_EQ(ToEnvelopeOutcome(status.code()).http_status, 400);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, WrongTypeTest,
    ::testing::Values(
        WrongTypeCase{"create_ticket", R"({"client_id":"abc"})",
                      R"(client_id: must be a whole number (32-bit), got "abc")"},
        WrongTypeCase{"create_ticket", R"({"client_id":12.5})", "client_id: must be a whole number (32-bit), got 12.5"},
        WrongTypeCase{"create_ticket", R"({"client_id":"99999999999"})",
                      R"(client_id: must be a whole number (32-bit), got "99999999999")"},
        WrongTypeCase{"create_ticket", R"({"client_id":true})", "client_id: must be a whole number (32-bit), got true"},
        WrongTypeCase{"create_ticket", R"({"summary":5})", "summary: must be a string, got 5"},
        WrongTypeCase{"create_ticket", R"({"extra":"x"})", R"(extra: must be a JSON object, got "x")"},
        WrongTypeCase{"create_ticket", R"({"asset_ids":"1,2"})", R"(asset_ids: must be a list, got "1,2")"},
        WrongTypeCase{"create_ticket", R"({"asset_ids":[1,"x"]})",
                      R"(asset_ids[1]: must be a whole number (32-bit), got "x")"},
        WrongTypeCase{"create_ticket", R"({"customfields":[{"id":"five"}]})",
                      R"(customfields[0].id: must be a whole number (32-bit), got "five")"},
        WrongTypeCase{"add_action", R"({"hiddenfromuser":"yes"})",
                      R"(hiddenfromuser: must be true or false, got "yes")"},
        WrongTypeCase{"add_action", R"({"hiddenfromuser":1})", "hiddenfromuser: must be true or false, got 1"},
        WrongTypeCase{"add_action", R"({"note":{"text":"a long note that goes on and on and on"}})",
                      R"(note: must be a string, got {"text":"a long note that goes on and on...)"}));

TEST(RequestFromDataTest, QuotedValuesAreCutOnACharacterBoundary) {
  // 38 bytes of prefix, then a 3-byte character across the 40-byte cut.
  absl::Status status = TranslateError("create_ticket", R"({"client_id":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa€€"})");
  EXPECT_EQ(std::string(status.message()),
            R"(client_id: must be a whole number (32-bit), got "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...)");
}

TEST(RequestFromDataTest, UnknownFieldSuggestsTheClosestName) {
  absl::Status status = TranslateError("create_ticket", R"({"sumary":"s"})");
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(), "unknown field 'sumary' for create_ticket; did you mean 'summary'?");
  EXPECT_EQ(GetErrorInfo(status)->metadata().at("field"), "sumary");

  EXPECT_EQ(TranslateError("add_action", R"({"hidden":true})").message(),
            "unknown field 'hidden' for add_action; did you mean 'hiddenfromuser'?");
  EXPECT_EQ(TranslateError("link_asset_to_ticket", R"({"ticket":1})").message(),
            "unknown field 'ticket' for link_asset_to_ticket; did you mean 'ticket_id'?");
  EXPECT_EQ(TranslateError("create_ticket", R"({"Summary":"s"})").message(),
            "unknown field 'Summary' for create_ticket; did you mean 'summary'?");
}

TEST(RequestFromDataTest, UnknownFieldFarFromAnyListsTheKnownOnes) {
  EXPECT_EQ(TranslateError("lookup_client_site", R"({"zzzzzzzz":1})").message(),
            "unknown field 'zzzzzzzz' for lookup_client_site; known fields: type, search, client_id, page_size, "
            "page_no");
}

TEST(RequestFromDataTest, UnknownFieldInsideACustomField) {
  absl::Status status = TranslateError("create_ticket", R"({"customfields":[{"nme":"x","value":1}]})");
  EXPECT_EQ(status.message(), "unknown field 'nme' in customfields[0] for create_ticket; did you mean 'name'?");
  EXPECT_EQ(GetErrorInfo(status)->metadata().at("field"), "customfields[0].nme");
}

TEST(RequestFromDataTest, CamelCaseJsonNamesAreNotAccepted) {
  EXPECT_EQ(TranslateError("create_ticket", R"({"clientId":1})").message(),
            "unknown field 'clientId' for create_ticket; did you mean 'client_id'?");
}

const ActionSpec& Spec(absl::string_view name) { return Action(name); }

TEST(ResultDataTest, CreateAndUpdateReturnTheTicketWithItsId) {
  auto response =
      FromJson<v1::CreateTicketResponse>(R"({"id":2885,"ticket":{"summary":"s","client_id":12,"assets":[{"id":3}]}})");
  absl::StatusOr<std::string> data = ResultData(Spec("create_ticket"), v1::CreateTicketRequest(), response);
  ASSERT_TRUE(data.ok()) << data.status();
  EXPECT_THAT(*data,
              JsonEq(R"({"assets":[{"id":3}],"client_id":12,"deduplicated":false,"id":2885,"summary":"s"})"));

  auto updated = FromJson<v1::UpdateTicketResponse>(R"({"id":7,"ticket":{"id":7,"status_id":2}})");
  EXPECT_THAT(ResultData(Spec("update_ticket"), v1::UpdateTicketRequest(), updated).value(),
              JsonEq(R"({"id":7,"status_id":2})"));
}

TEST(ResultDataTest, ADeduplicatedCreateSaysSoBesideTheExistingTicketsId) {
  auto response = FromJson<v1::CreateTicketResponse>(R"({"id":77,"ticket":{"id":77,"summary":"first"},"deduplicated":true})");
  EXPECT_THAT(ResultData(Spec("create_ticket"), v1::CreateTicketRequest(), response).value(),
              JsonEq(R"({"deduplicated":true,"id":77,"summary":"first"})"));
}

TEST(RequestFromDataTest, DedupeFieldsTakeTemplateRenderedValues) {
  auto request = Translate<v1::CreateTicketRequest>(
      "create_ticket", R"({"summary":"s","dedupe_key":"NEW_PROCESS-ws-1","dedupe_window_min":"30"})");
  EXPECT_EQ(request.dedupe_key(), "NEW_PROCESS-ws-1");
  EXPECT_EQ(request.dedupe_window_min(), 30);
}

TEST(ResultDataTest, AddActionReturnsTheActionWithItsIds) {
  auto response =
      FromJson<v1::AddActionResponse>(R"({"id":2,"ticket_id":2884,"action":{"note":"n","outcome":"Note"}})");
  EXPECT_THAT(ResultData(Spec("add_action"), v1::AddActionRequest(), response).value(),
              JsonEq(R"({"id":2,"note":"n","outcome":"Note","ticket_id":2884})"));
}

TEST(ResultDataTest, SearchAlwaysHasCountAndTickets) {
  EXPECT_THAT(ResultData(Spec("search_tickets"), v1::SearchTicketsRequest(), v1::SearchTicketsResponse()).value(),
              JsonEq(R"({"record_count":0,"tickets":[]})"));
  auto response = FromJson<v1::SearchTicketsResponse>(R"({"record_count":1,"tickets":[{"id":5}]})");
  EXPECT_THAT(ResultData(Spec("search_tickets"), v1::SearchTicketsRequest(), response).value(),
              JsonEq(R"({"record_count":1,"tickets":[{"id":5}]})"));
}

TEST(ResultDataTest, LinkAssetHasItsFourKeys) {
  auto response = FromJson<v1::LinkAssetToTicketResponse>(
      R"({"asset_id":9,"asset_created":false,"asset":{"id":9},"ticket":{"id":2884}})");
  EXPECT_THAT(ResultData(Spec("link_asset_to_ticket"), v1::LinkAssetToTicketRequest(), response).value(),
              JsonEq(R"({"asset_id":9,"asset_created":false,"asset":{"id":9},"ticket":{"id":2884}})"));
}

TEST(ResultDataTest, LookupKeepsOnlyTheListOfItsType) {
  v1::LookupClientSiteRequest clients;
  clients.set_type(v1::LookupClientSiteRequest::client);
  EXPECT_THAT(ResultData(Spec("lookup_client_site"), clients, v1::LookupClientSiteResponse()).value(),
              JsonEq(R"({"record_count":0,"clients":[]})"));
  v1::LookupClientSiteRequest sites;
  sites.set_type(v1::LookupClientSiteRequest::site);
  auto response = FromJson<v1::LookupClientSiteResponse>(R"({"record_count":1,"sites":[{"id":18}]})");
  EXPECT_THAT(ResultData(Spec("lookup_client_site"), sites, response).value(),
              JsonEq(R"({"record_count":1,"sites":[{"id":18}]})"));
}

TEST(ResultDataTest, MirrorCaseAnswersItsTicketAndTheFieldsItChanged) {
  auto response = FromJson<v1::MirrorCaseResponse>(
      R"({"ticket_id":3001,"created":false,"updated_fields":["status_id","note"]})");
  EXPECT_THAT(ResultData(Spec("mirror_case"), v1::MirrorCaseRequest(), response).value(),
              JsonEq(R"({"ticket_id":3001,"created":false,"updated_fields":["status_id","note"]})"));
}

TEST(ResultDataTest, PullTicketChangesAnswersEachChangeWithItsActions) {
  auto response = FromJson<v1::PullTicketChangesResponse>(
      R"({"changes":[{"ticket_id":3001,"case_id":"c-1","status_id":9,"case_status":"closed",
          "actions":[{"id":4,"text":"closed it","time":"2026-12-01T10:00:05","author":"Alice"}]}],
          "watermark":"2026-12-01T10:00:05Z;3001.4"})");
  EXPECT_THAT(ResultData(Spec("pull_ticket_changes"), v1::PullTicketChangesRequest(), response).value(),
              JsonEq(R"({"changes":[{"ticket_id":3001,"case_id":"c-1","status_id":9,"status":"",
                          "case_status":"closed","agent_id":0,"agent":"",
                          "actions":[{"id":4,"text":"closed it","time":"2026-12-01T10:00:05","author":"Alice"}]}],
                        "watermark":"2026-12-01T10:00:05Z;3001.4","cursor":""})"));
}

}  // namespace
}  // namespace halopsa::lc

#include "server/request_validation.h"

#include <functional>

#include <gmock/gmock.h>
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>

#include "server/error_mapping.h"

namespace halopsa {
namespace {

template <typename Request>
absl::Status ValidateJson(const std::string& json) {
  Request request;
  auto parsed = google::protobuf::util::JsonStringToMessage(json, &request);
  EXPECT_TRUE(parsed.ok()) << json;
  return Validate(request);
}

struct Case {
  const char* name;
  std::function<absl::Status(const std::string&)> validate;
  const char* json;
  const char* field;  // "" = valid
};

// Names the case in test output instead of dumping its bytes.
void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

class ValidationTest : public ::testing::TestWithParam<Case> {};

TEST_P(ValidationTest, RejectsNamingTheFieldOrAccepts) {
  const Case& c = GetParam();
  absl::Status status = c.validate(c.json);
  if (std::string(c.field).empty()) {
    EXPECT_TRUE(status.ok()) << status;
    return;
  }
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  auto info = GetErrorInfo(status);
  ASSERT_TRUE(info.has_value()) << status;
  EXPECT_EQ(info->metadata().at("field"), c.field) << status;
  EXPECT_THAT(std::string(status.message()), ::testing::StartsWith(std::string(c.field) + ": "));
}

const auto kCreate = ValidateJson<v1::CreateTicketRequest>;
const auto kUpdate = ValidateJson<v1::UpdateTicketRequest>;
const auto kSearch = ValidateJson<v1::SearchTicketsRequest>;
const auto kAction = ValidateJson<v1::AddActionRequest>;
const auto kLink = ValidateJson<v1::LinkAssetToTicketRequest>;
const auto kLookup = ValidateJson<v1::LookupClientSiteRequest>;

INSTANTIATE_TEST_SUITE_P(
    Rules, ValidationTest,
    ::testing::Values(
        Case{"CreateMinimal", kCreate, R"({"summary":"x"})", ""},
        Case{"CreateNoSummary", kCreate, R"({"details":"x"})", "summary"},
        Case{"CreateBlankSummary", kCreate, R"({"summary":"  "})", "summary"},
        Case{"CreateZeroClient", kCreate, R"({"summary":"x","client_id":0})", "client_id"},
        Case{"CreateNegativeSite", kCreate, R"({"summary":"x","site_id":-3})", "site_id"},
        Case{"CreateImpactRange", kCreate, R"({"summary":"x","impact":5})", "impact"},
        Case{"CreateUrgencyRange", kCreate, R"({"summary":"x","urgency":0})", "urgency"},
        Case{"CreateBadAsset", kCreate, R"({"summary":"x","asset_ids":[3,0]})", "asset_ids[1]"},
        Case{"CreateCustomFieldNoKey", kCreate, R"({"summary":"x","customfields":[{"value":1}]})",
             "customfields[0].id"},
        Case{"CreateCustomFieldByName", kCreate, R"({"summary":"x","customfields":[{"name":"CFSensorId","value":1}]})",
             "customfields[0].name"},
        Case{"CreateCustomFieldBoth", kCreate,
             R"({"summary":"x","customfields":[{"id":1,"name":"a","value":1}]})", "customfields[0].name"},
        Case{"UpdateCustomFieldByName", kUpdate, R"({"id":5,"customfields":[{"name":"CFSensorId","value":1}]})",
             "customfields[0].name"},
        Case{"CreateCustomFieldNoValue", kCreate, R"({"summary":"x","customfields":[{"id":1}]})",
             "customfields[0].value"},
        Case{"CreateExtraId", kCreate, R"({"summary":"x","extra":{"id":7}})", "extra.id"},
        Case{"CreateFull", kCreate,
             R"({"summary":"x","client_id":12,"site_id":18,"impact":1,"urgency":4,"asset_ids":[1],
                 "customfields":[{"id":101,"value":"abc"}],"extra":{"dateoccurred":"2026-01-01"}})",
             ""},
        Case{"UpdateNoId", kUpdate, R"({"summary":"x"})", "id"},
        Case{"UpdateNothing", kUpdate, R"({"id":5})", "id"},
        Case{"UpdateBlankSummary", kUpdate, R"({"id":5,"summary":""})", "summary"},
        Case{"UpdateExtraId", kUpdate, R"({"id":5,"extra":{"id":6}})", "extra.id"},
        Case{"UpdateStatus", kUpdate, R"({"id":5,"status_id":2})", ""},
        Case{"SearchEmpty", kSearch, R"({})", ""},
        Case{"SearchPageSizeZero", kSearch, R"({"page_size":0})", "page_size"},
        Case{"SearchPageSizeTooBig", kSearch, R"({"page_size":1001})", "page_size"},
        Case{"SearchPageSizeMax", kSearch, R"({"page_size":1000})", ""},
        Case{"SearchPageNoZero", kSearch, R"({"page_no":0})", "page_no"},
        Case{"SearchPageNoOverflow", kSearch, R"({"page_size":1000,"page_no":2147483647})", "page_no"},
        Case{"SearchStatusList", kSearch, R"({"status_ids":"1, 2,9"})", ""},
        Case{"SearchBadStatusList", kSearch, R"({"status_ids":"1,open"})", "status_ids"},
        Case{"SearchEmptyStatusEntry", kSearch, R"({"status_ids":"1,,2"})", "status_ids"},
        Case{"ActionNoTicket", kAction, R"({"note":"n"})", "ticket_id"},
        Case{"ActionNoNote", kAction, R"({"ticket_id":1})", "note"},
        Case{"ActionNegativeTime", kAction, R"({"ticket_id":1,"note":"n","timetaken":-1})", "timetaken"},
        Case{"ActionNegativeCharge", kAction, R"({"ticket_id":1,"note":"n","actionchargehours":-2})",
             "actionchargehours"},
        Case{"ActionBlankOutcome", kAction, R"({"ticket_id":1,"note":"n","outcome":" "})", "outcome"},
        Case{"ActionExtraTicket", kAction, R"({"ticket_id":1,"note":"n","extra":{"ticket_id":2}})",
             "extra.ticket_id"},
        Case{"ActionZeroOutcomeId", kAction, R"({"ticket_id":1,"note":"n","outcome_id":0})", "outcome_id"},
        Case{"ActionOutcomeId", kAction, R"({"ticket_id":1,"note":"n","outcome_id":7})", ""},
        Case{"ActionOk", kAction, R"({"ticket_id":1,"note":"n","timetaken":0})", ""},
        Case{"LinkNoTicket", kLink, R"({"hostname":"h"})", "ticket_id"},
        Case{"LinkNoHost", kLink, R"({"ticket_id":1})", "hostname"},
        Case{"LinkHostWithSpace", kLink, R"({"ticket_id":1,"hostname":"a b"})", "hostname"},
        Case{"LinkBadAssetType", kLink, R"({"ticket_id":1,"hostname":"h","asset_type_id":0})", "asset_type_id"},
        Case{"LinkOk", kLink, R"({"ticket_id":1,"hostname":"WS-1","client_id":2})", ""},
        Case{"LookupNoType", kLookup, R"({"search":"a"})", "type"},
        Case{"LookupClientWithClientId", kLookup, R"({"type":"client","client_id":3})", "client_id"},
        Case{"LookupSiteWithClientId", kLookup, R"({"type":"site","client_id":3})", ""},
        Case{"LookupPageNo", kLookup, R"({"type":"client","page_no":-1})", "page_no"}),
    [](const ::testing::TestParamInfo<Case>& info) { return std::string(info.param.name); });

TEST(CustomFieldValidationTest, ANameIsRefusedAskingForTheId) {
  absl::Status status =
      ValidateJson<v1::CreateTicketRequest>(R"({"summary":"x","customfields":[{"name":"CFSensorId","value":1}]})");
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()), ::testing::HasSubstr("give the field's id"));
}

}  // namespace
}  // namespace halopsa

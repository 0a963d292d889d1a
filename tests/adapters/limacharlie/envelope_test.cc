#include "adapters/limacharlie/envelope.h"
#include "server/json_values.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"

namespace halopsa::lc {
namespace {

using ::testing::HasSubstr;
using ::testing::Pair;
using ::testing::UnorderedElementsAre;

TEST(ParseEnvelopeTest, Heartbeat) {
  auto envelope = ParseRequestEnvelope(R"({"version":20221218,"idempotency_key":"k1","heartbeat":{}})");
  ASSERT_TRUE(envelope.ok()) << envelope.status();
  EXPECT_EQ(envelope->kind, EnvelopeKind::kHeartbeat);
  EXPECT_EQ(envelope->idempotency_key, "k1");
}

TEST(ParseEnvelopeTest, SchemaRequestAndErrorReport) {
  auto schema = ParseRequestEnvelope(R"({"version":20221218,"schema_request":{}})");
  ASSERT_TRUE(schema.ok());
  EXPECT_EQ(schema->kind, EnvelopeKind::kSchemaRequest);

  auto report = ParseRequestEnvelope(R"({"error_report":{"error":"boom","oid":"o1"}})");
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->kind, EnvelopeKind::kErrorReport);
  EXPECT_EQ(report->error, "boom");
  EXPECT_EQ(report->error_oid, "o1");
}

TEST(ParseEnvelopeTest, RequestWithOrgDataAndConfig) {
  auto envelope = ParseRequestEnvelope(R"({"version":20221218,"idempotency_key":"abc","request":{
      "org":{"oid":"o1","jwt":"j","ident":"me"},"action":"create_ticket",
      "data":{"summary":"s","client_id":"12","extra":{"a":[1,2]}},
      "config":{"instance_url":"https://x","client_id":42,"flag":true,"none":null,"obj":{}},
      "resource_state":{},"inv_id":"i"}})");
  ASSERT_TRUE(envelope.ok()) << envelope.status();
  EXPECT_EQ(envelope->kind, EnvelopeKind::kRequest);
  EXPECT_EQ(envelope->org.oid, "o1");
  EXPECT_EQ(envelope->org.jwt, "j");
  EXPECT_EQ(envelope->org.ident, "me");
  EXPECT_EQ(envelope->action, "create_ticket");
  EXPECT_EQ(envelope->data_json, R"({"summary":"s","client_id":"12","extra":{"a":[1,2]}})");
  // Strings kept, numbers as their text, other types left out.
  EXPECT_THAT(envelope->config, UnorderedElementsAre(Pair("instance_url", "https://x"), Pair("client_id", "42")));
}

TEST(ParseEnvelopeTest, RequestWithoutDataHasEmptyObject) {
  auto envelope = ParseRequestEnvelope(R"({"request":{"org":{"oid":"o"},"action":"search_tickets"}})");
  ASSERT_TRUE(envelope.ok()) << envelope.status();
  EXPECT_EQ(envelope->data_json, "{}");
}

TEST(ParseEnvelopeTest, ConfValidationReadsConf) {
  auto envelope = ParseRequestEnvelope(
      R"({"conf_validation":{"org":{"oid":"o"},"conf":{"instance_url":"https://a","client_id":"c"}}})");
  ASSERT_TRUE(envelope.ok()) << envelope.status();
  EXPECT_EQ(envelope->kind, EnvelopeKind::kConfValidation);
  EXPECT_THAT(envelope->config, UnorderedElementsAre(Pair("instance_url", "https://a"), Pair("client_id", "c")));
}

TEST(ParseEnvelopeTest, Event) {
  auto envelope =
      ParseRequestEnvelope(R"({"event":{"org":{"oid":"o"},"event_name":"subscribe","data":{},"config":{}}})");
  ASSERT_TRUE(envelope.ok()) << envelope.status();
  EXPECT_EQ(envelope->kind, EnvelopeKind::kEvent);
  EXPECT_EQ(envelope->event_name, "subscribe");
}

struct BadCase {
  const char* body;
  const char* says;
};

class ParseEnvelopeErrorTest : public ::testing::TestWithParam<BadCase> {};

TEST_P(ParseEnvelopeErrorTest, SaysWhatIsWrong) {
  auto envelope = ParseRequestEnvelope(GetParam().body);
  ASSERT_FALSE(envelope.ok());
  EXPECT_EQ(envelope.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(envelope.status().message(), HasSubstr(GetParam().says));
}

INSTANTIATE_TEST_SUITE_P(
    Cases, ParseEnvelopeErrorTest,
    ::testing::Values(
        BadCase{"{\"heartbeat\":", "not a JSON envelope: invalid JSON at offset"},
        BadCase{"[]", "must be a JSON object"},
        BadCase{R"({"version":20221218})", "has none of heartbeat, error_report"},
        BadCase{R"({"heartbeat":{},"schema_request":{}})", "both heartbeat and schema_request"},
        BadCase{R"({"heartbeat":[]})", "heartbeat must be an object"},
        BadCase{R"({"request":{"action":"x"}})", "request.org is missing"},
        BadCase{R"({"request":{"org":{"jwt":"j"},"action":"x"}})", "request.org.oid is missing"},
        BadCase{R"({"request":{"org":{"oid":"o"}}})", "request.action is missing"},
        BadCase{R"({"request":{"org":{"oid":"o"},"action":7}})", "request.action must be a string"},
        BadCase{R"({"request":{"org":{"oid":"o"},"action":"a","data":[1]}})", "request.data must be an object"},
        BadCase{R"({"event":{"org":{"oid":"o"}}})", "event.event_name is missing"},
        BadCase{R"({"conf_validation":{"org":{"oid":"o"},"conf":"x"}})", "conf_validation.conf must be an object"},
        BadCase{R"({"idempotency_key":5,"heartbeat":{}})", "idempotency_key must be a string"},
        BadCase{"{\"heartbeat\":{\"x\":\"\xff\"}}", "invalid JSON"}));

TEST(ParseEnvelopeTest, EnvelopesBeyondTheFirstParseChunkParseWhole) {
  // Far more than JsonDocument's 4 KiB first chunk: many members and a long string.
  std::string extra;
  for (int i = 0; i < 2000; ++i) absl::StrAppend(&extra, i == 0 ? "" : ",", "\"k", i, "\":", i);
  const std::string details(100000, 'd');
  auto envelope = ParseRequestEnvelope(absl::StrCat(R"({"request":{"org":{"oid":"o1"},"action":"create_ticket",)",
                                                    R"("data":{"details":")", details, R"(","extra":{)", extra, "}}}}"));
  ASSERT_TRUE(envelope.ok()) << envelope.status();
  EXPECT_THAT(envelope->data_json, HasSubstr(details));
  EXPECT_THAT(envelope->data_json, HasSubstr(R"("k1999":1999)"));
}

TEST(ParseEnvelopeTest, RefusesDeepNesting) {
  std::string deep = R"({"request":{"org":{"oid":"o"},"action":"a","data":{"extra":)";
  for (int i = 0; i < 200; ++i) deep += "[";
  for (int i = 0; i < 200; ++i) deep += "]";
  deep += "}}}";
  auto envelope = ParseRequestEnvelope(deep);
  ASSERT_FALSE(envelope.ok());
  EXPECT_THAT(envelope.status().message(), HasSubstr("max_json_depth (32)"));
}

// The probe's input: `extra` holding a long list of empty objects, which
// once cost ~200 MB; refused while it is still RapidJSON's compact DOM.
TEST(ParseEnvelopeTest, RefusesMoreNodesThanTheRequestLimit) {
  std::string empties;
  for (size_t i = 0; i < kRequestJsonLimits.max_nodes; ++i) absl::StrAppend(&empties, i == 0 ? "{}" : ",{}");
  auto envelope = ParseRequestEnvelope(absl::StrCat(
      R"({"request":{"org":{"oid":"o"},"action":"create_ticket","data":{"extra":{"x":[)", empties, "]}}}}"));
  ASSERT_FALSE(envelope.ok());
  EXPECT_EQ(envelope.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(envelope.status().message(), HasSubstr("max_json_nodes (10000)"));

  // The same shape within the limit is an ordinary envelope.
  auto within = ParseRequestEnvelope(R"({"request":{"org":{"oid":"o"},"action":"a","data":{"extra":[{},{}]}}})");
  EXPECT_TRUE(within.ok()) << within.status();
}

TEST(ParseEnvelopeTest, RefusesTextLongerThanTheRequestLimit) {
  const std::string details(kRequestJsonLimits.max_bytes, 'd');
  auto envelope = ParseRequestEnvelope(
      absl::StrCat(R"({"request":{"org":{"oid":"o"},"action":"a","data":{"details":")", details, R"("}}})"));
  ASSERT_FALSE(envelope.ok());
  EXPECT_THAT(envelope.status().message(), HasSubstr("max_request_bytes (1048576)"));
}

TEST(ResponseEnvelopeTest, SuccessCarriesVersionAndData) {
  net::ServerResponse response = SuccessResponse(R"({"id":7})");
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.content_type, "application/json");
  EXPECT_EQ(response.body, R"({"version":20221218,"data":{"id":7}})");
}

TEST(ResponseEnvelopeTest, PermanentErrorIs400NotRetriable) {
  net::ServerResponse response = ErrorResponse(absl::InvalidArgumentError("summary: is \"required\""));
  EXPECT_EQ(response.status, 400);
  EXPECT_EQ(response.body, R"({"version":20221218,"error":"summary: is \"required\"","retriable":false})");
}

TEST(ResponseEnvelopeTest, TransientErrorIs500Retriable) {
  net::ServerResponse response = ErrorResponse(absl::UnavailableError("HaloPSA answered 503"));
  EXPECT_EQ(response.status, 500);
  EXPECT_EQ(response.body, R"({"version":20221218,"error":"HaloPSA answered 503","retriable":true})");
}

TEST(ResponseEnvelopeTest, OtherStatusesAreNotRetriable) {
  net::ServerResponse response = ErrorResponse(413, "too large");
  EXPECT_EQ(response.status, 413);
  EXPECT_EQ(response.body, R"({"version":20221218,"error":"too large","retriable":false})");
}

}  // namespace
}  // namespace halopsa::lc

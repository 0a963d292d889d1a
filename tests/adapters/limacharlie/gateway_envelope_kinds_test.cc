// What the gateway answers by itself: heartbeats, schema requests, error
// reports, lifecycle events, and actions it does not know.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "tests/adapters/limacharlie/gateway_fixture.h"

namespace halopsa::lc::testing {
namespace {

using ::testing::SizeIs;

TEST_F(GatewayTest, HeartbeatAnswersEmptyData) {
  Reply reply = Lc().Send(HeartbeatEnvelope());
  EXPECT_EQ(reply.status, 200);
  EXPECT_EQ(reply.body, R"({"version":20221218,"data":{}})");
}

TEST_F(GatewayTest, SchemaRequestAnswersTheSchema) {
  Reply reply = Lc().Send(SchemaRequestEnvelope());
  EXPECT_EQ(reply.status, 200);
  EXPECT_EQ(reply.json["version"].GetInt(), 20221218);
  EXPECT_TRUE(reply.data()["request_schema"].HasMember("link_asset_to_ticket"));
  EXPECT_TRUE(reply.data()["config_schema"]["fields"].HasMember("client_secret"));
}

// The observer logs the report (as a JSON line, through SafeForLog).
TEST_F(GatewayTest, ErrorReportReachesTheObserverBounded) {
  std::vector<std::pair<std::string, std::string>> reports;
  GatewayOptions options = Options();
  options.observer = [&reports](const GatewayCall& call) {
    reports.emplace_back(std::string(call.org), std::string(call.error_report));
  };
  StartGateway(options);
  Reply reply = Lc().Send(ErrorReportEnvelope("callback failed:\ntimeout", "org-9"));
  EXPECT_EQ(reply.status, 200);
  EXPECT_FALSE(reply.has_error());
  Reply long_report = Lc().Send(ErrorReportEnvelope(std::string(5000, 'e'), "org-9"));
  EXPECT_EQ(long_report.status, 200);
  ASSERT_THAT(reports, SizeIs(2));
  EXPECT_EQ(reports[0], std::make_pair(std::string("org-9"), std::string("callback failed:\ntimeout")));
  EXPECT_EQ(reports[1].second, std::string(1024, 'e'));
}

TEST_F(GatewayTest, LifecycleEventsAreAcknowledged) {
  for (const char* event : {"subscribe", "update", "unsubscribe"}) {
    Reply reply = Lc().Send(EventEnvelope(org_, event, LiteralConfig()));
    EXPECT_EQ(reply.status, 200) << event;
    EXPECT_FALSE(reply.has_error()) << event;
  }
}

TEST_F(GatewayTest, UnknownEventIs400) {
  Reply reply = Lc().Send(EventEnvelope(org_, "rename", LiteralConfig()));
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
            "link_asset_to_ticket, lookup_client_site, mirror_case, pull_ticket_changes");
}

}  // namespace
}  // namespace halopsa::lc::testing

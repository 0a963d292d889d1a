#include "server/ticket_changes.h"

#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "server/change_watermark.h"
#include "server/halopsa_operations.h"
#include "tests/server/mock_halo_api.h"

namespace halopsa {
namespace {

using ::testing::_;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::Pair;
using ::testing::StrictMock;
using testing::AnswerJson;
using testing::MockHaloApi;
using testing::RunAction;

constexpr char kMe[] = R"({"id": 3, "name": "LimaCharlie API"})";
constexpr char kTicket[] = R"({"id": 3001, "details": "evt\next-halopsa case LimaCharlie c-1",
    "last_update": "2026-12-01T10:00:05", "status_id": 9, "status_name": "Closed", "agent_id": 1,
    "agent_name": "Alice"})";

std::string Tickets(std::initializer_list<absl::string_view> rows) {
  return absl::StrCat(R"({"record_count": )", rows.size(), R"(, "tickets": [)", absl::StrJoin(rows, ","), "]}");
}

class TicketChangesTest : public ::testing::Test {
 protected:
  absl::StatusOr<v1::PullTicketChangesResponse> Pull(const std::string& watermark, int limit = 50,
                                                     const std::string& cursor = "") {
    v1::PullTicketChangesRequest request;
    request.set_watermark(watermark);
    request.set_limit(limit);
    if (!cursor.empty()) request.set_cursor(cursor);
    return RunAction<v1::PullTicketChangesResponse>([&](Reply<v1::PullTicketChangesResponse> done) {
      operations_.PullTicketChanges(context_, request, std::move(done));
    });
  }

  void ExpectMe() { EXPECT_CALL(api_, Get(_, "/api/Agent/me", IsEmpty(), _)).WillOnce(AnswerJson(kMe)); }

  StrictMock<MockHaloApi> api_;
  HaloPsaOperations operations_{api_};
  CallContext context_{std::make_shared<HaloConnection>(HaloConnection{
                           .instance_url = "https://acme.halopsa.com", .client_id = "id", .client_secret = "s"}),
                       absl::InfiniteFuture(), nullptr, ""};
};

TEST_F(TicketChangesTest, AnswersOthersActionsAfterTheWatermarkOnceAndNeverTheServicesOwn) {
  ExpectMe();
  // HaloPSA's filters start a second early; the boundary is decided here.
  EXPECT_CALL(api_, Get(_, "/api/Tickets",
                        ElementsAre(Pair("search_details", "ext-halopsa case LimaCharlie "), Pair("order", "id"),
                                    Pair("orderdesc", "false"), Pair("datesearch", "lastupdate"),
                                    Pair("startdate", "2026-12-01T10:00:04"), Pair("pageinate", "true"),
                                    Pair("page_size", "100"), Pair("page_no", "1")),
                        _))
      .WillOnce(AnswerJson(Tickets({kTicket})));
  EXPECT_CALL(api_, Get(_, "/api/Actions",
                        ElementsAre(Pair("ticket_id", "3001"), Pair("startdate", "2026-12-01T10:00:04"),
                                    Pair("pageinate", "true"), Pair("page_size", "100"), Pair("page_no", "1")),
                        _))
      .WillOnce(AnswerJson(R"({"record_count": 4, "actions": [
          {"id": 1, "who_agentid": 1, "datetime": "2026-12-01T10:00:04", "note": "before the watermark"},
          {"id": 2, "who_agentid": 3, "datetime": "2026-12-01T10:00:05", "note": "the service's own"},
          {"id": 3, "who_agentid": 1, "datetime": "2026-12-01T10:00:05", "note": "delivered last time"},
          {"id": 4, "who_agentid": 1, "who": "Alice", "datetime": "2026-12-01T10:00:05", "note": "closed it"}]})"));
  auto pulled = Pull("2026-12-01T10:00:05Z;3001.3");
  ASSERT_TRUE(pulled.ok()) << pulled.status();
  ASSERT_EQ(pulled->changes_size(), 1);
  const v1::TicketChange& change = pulled->changes(0);
  EXPECT_EQ(change.ticket_id(), 3001);
  EXPECT_EQ(change.case_id(), "c-1");
  EXPECT_EQ(change.status(), "Closed");
  EXPECT_EQ(change.case_status(), "closed");
  EXPECT_EQ(change.agent(), "Alice");
  ASSERT_EQ(change.actions_size(), 1);
  EXPECT_EQ(change.actions(0).text(), "closed it");
  EXPECT_EQ(change.actions(0).author(), "Alice");
  EXPECT_EQ(pulled->watermark(), "2026-12-01T10:00:05Z;3001.3,3001.4");
  EXPECT_EQ(pulled->cursor(), "");
}

TEST_F(TicketChangesTest, ATicketOnlyTheServiceChangedIsNoChangeAndTheWatermarkStays) {
  ExpectMe();
  EXPECT_CALL(api_, Get(_, "/api/Tickets", _, _)).WillOnce(AnswerJson(Tickets({kTicket})));
  EXPECT_CALL(api_, Get(_, "/api/Actions", _, _))
      .WillOnce(AnswerJson(R"({"record_count": 1, "actions": [
          {"id": 5, "actionby_agent_id": 3, "datetime": "2026-12-01T10:00:07", "note": "mirrored note"}]})"));
  auto pulled = Pull("2026-12-01T10:00:05Z");
  ASSERT_TRUE(pulled.ok()) << pulled.status();
  EXPECT_EQ(pulled->changes_size(), 0);
  EXPECT_EQ(pulled->watermark(), "2026-12-01T10:00:05Z");
}

TEST_F(TicketChangesTest, AtItsLimitAPullAnswersACursorThatGoesOnAfterTheLastTicket) {
  ExpectMe();  // once per credential, not per pull
  const std::string second = R"({"id": 3002, "details": "ext-halopsa case LimaCharlie c-2"})";
  EXPECT_CALL(api_, Get(_, "/api/Tickets", _, _)).Times(2).WillRepeatedly(AnswerJson(Tickets({kTicket, second})));
  EXPECT_CALL(api_, Get(_, "/api/Actions", ElementsAre(Pair("ticket_id", "3001"), _, _, _), _))
      .WillOnce(AnswerJson(R"({"record_count": 1, "actions": [
          {"id": 2, "who_agentid": 1, "datetime": "2026-12-01T10:00:09", "note": "a"}]})"));
  EXPECT_CALL(api_, Get(_, "/api/Actions", ElementsAre(Pair("ticket_id", "3002"), _, _, _), _))
      .WillOnce(AnswerJson(R"({"record_count": 1, "actions": [
          {"id": 2, "who_agentid": 2, "datetime": "2026-12-01T10:00:08", "note": "b"}]})"));
  auto first = Pull("", 1);
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_EQ(first->changes_size(), 1);
  EXPECT_EQ(first->changes(0).ticket_id(), 3001);
  EXPECT_EQ(first->watermark(), "");
  ASSERT_NE(first->cursor(), "");
  auto rest = Pull("", 1, first->cursor());
  ASSERT_TRUE(rest.ok()) << rest.status();
  ASSERT_EQ(rest->changes_size(), 1);
  EXPECT_EQ(rest->changes(0).ticket_id(), 3002);
  EXPECT_EQ(rest->cursor(), "");
  EXPECT_EQ(rest->watermark(), "2026-12-01T10:00:09Z;3001.2");  // the latest delivered
}

TEST_F(TicketChangesTest, AWatermarkOrCursorItDidNotAnswerIsRefused) {
  EXPECT_EQ(Pull("yesterday").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Pull("", 50, "bm90IGEgY3Vyc29y").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Pull("", 101).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(ChangeWatermarkTest, RoundTripsWithItsBoundaryAndFractions) {
  auto watermark = ParseWatermark("2026-12-01T10:00:05.25Z;3001.3,12.1");
  ASSERT_TRUE(watermark.ok()) << watermark.status();
  EXPECT_EQ(FormatWatermark(*watermark), "2026-12-01T10:00:05.25Z;12.1,3001.3");
  EXPECT_TRUE(watermark->Admits(watermark->time, "3001.4"));
  EXPECT_FALSE(watermark->Admits(watermark->time, "3001.3"));
  EXPECT_FALSE(watermark->Admits(watermark->time - absl::Seconds(1), "3001.9"));
  PullCursor cursor{*watermark, 2, 3001, *watermark};
  auto decoded = DecodeCursor(EncodeCursor(cursor));
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(decoded->page_no, 2);
  EXPECT_EQ(decoded->last_ticket, 3001);
  EXPECT_EQ(FormatWatermark(decoded->next), FormatWatermark(*watermark));
}

}  // namespace
}  // namespace halopsa

// What pull_ticket_changes relies on, as the simulator models it: the API
// application's own agent (/api/Agent/me), who wrote each action, a
// technician's note and status change, and the "changed since" filters
// (Tickets datesearch=lastupdate with startdate/enddate, Actions
// startdate/enddate), all unconfirmed on real tenants.

#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "tests/simulator/sim_test_fixture.h"

namespace halopsa::sim {
namespace {

using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::Not;

using SimulatorChangesTest = SimulatorTest;

std::string HaloTime(absl::Time time) { return absl::FormatTime("%Y-%m-%dT%H:%M:%S", time, absl::UTCTimeZone()); }

TEST_F(SimulatorChangesTest, AgentMeNamesTheAgentTheApiApplicationLogsOnAs) {
  const Value me = ApiJson("GET", "/api/Agent/me");
  EXPECT_EQ(Number(me, "id"), HaloData::kApiAgentId);
  EXPECT_EQ(Text(me, "name"), "LimaCharlie API");
}

TEST_F(SimulatorChangesTest, ApiActionsAreTheApiAgentsAndATechniciansAreTheirsAndMoveTheStatus) {
  const Value note = ApiJson("POST", "/api/Actions", R"([{"ticket_id": 2884, "note": "api", "outcome": "Note"}])");
  EXPECT_EQ(Number(note, "who_agentid"), HaloData::kApiAgentId);
  std::optional<Struct> technician = simulator_->TechnicianAction(1, 2884, "fixed it", 9);
  ASSERT_TRUE(technician.has_value());
  EXPECT_EQ(IntField(*technician, "who_agentid"), 1);
  EXPECT_EQ(StringField(*technician, "who"), "Alice");
  EXPECT_EQ(IntField(*technician, "new_status"), 9);
  EXPECT_EQ(IntField(*simulator_->ticket(2884), "status_id"), 9);
  EXPECT_EQ(StringField(*simulator_->ticket(2884), "last_update"), StringField(*technician, "datetime"));
  EXPECT_FALSE(simulator_->TechnicianAction(99, 2884, "no such agent").has_value());
}

TEST_F(SimulatorChangesTest, ATechnicianActsOverTheControlEndpointToo) {
  const testing::TestResponse acted =
      Call(simulator_->port(), false, "POST", "/_sim/technician_action",
           R"({"agent_id": 2, "ticket_id": 2884, "note": "Bob: on it", "new_status": 2})");
  ASSERT_EQ(acted.status, 200) << acted.body;
  EXPECT_EQ(Text(Json(acted), "who"), "Bob");
  EXPECT_EQ(IntField(*simulator_->ticket(2884), "status_id"), 2);
  EXPECT_EQ(Call(simulator_->port(), false, "POST", "/_sim/technician_action",
                 R"({"agent_id": 2, "ticket_id": 999999, "note": "x"})")
                .status,
            404);
}

TEST_F(SimulatorChangesTest, TicketsChangedSinceAreFoundWithDatesearchLastupdate) {
  const absl::Time before = absl::Now() - absl::Seconds(1);
  const Value created = ApiJson("POST", "/api/Tickets", R"([{"summary": "new"}])");
  const int64_t id = static_cast<int64_t>(Number(created, "id"));
  const auto changed_since = [&](absl::Time since) {
    return Ids(Get(ApiJson("GET", absl::StrCat("/api/Tickets?datesearch=lastupdate&startdate=", HaloTime(since),
                                               "&pageinate=true&page_no=1&page_size=100")),
                   "tickets"));
  };
  // Seeded tickets were last updated long before.
  EXPECT_THAT(changed_since(before), ElementsAre(id));
  EXPECT_THAT(changed_since(absl::Now() + absl::Seconds(5)), IsEmpty());
  // Without datesearch the dates filter nothing.
  EXPECT_THAT(Ids(Get(ApiJson("GET", absl::StrCat("/api/Tickets?startdate=", HaloTime(absl::Now() + absl::Hours(1)),
                                                  "&pageinate=true&page_no=1&page_size=100")),
                      "tickets")),
              Not(IsEmpty()));
}

TEST_F(SimulatorChangesTest, ActionsOfATicketSinceADateAreFoundWithStartdate) {
  ApiJson("POST", "/api/Actions", R"([{"ticket_id": 2884, "note": "now", "outcome": "Note"}])");
  const auto actions_since = [&](absl::Time since) {
    return Get(ApiJson("GET", absl::StrCat("/api/Actions?ticket_id=2884&startdate=", HaloTime(since))), "actions");
  };
  const Value recent = actions_since(absl::Now() - absl::Seconds(2));
  ASSERT_FALSE(recent.list_value().values().empty());
  EXPECT_EQ(Text(recent.list_value().values(recent.list_value().values_size() - 1), "note"), "now");
  EXPECT_THAT(Ids(actions_since(absl::Now() + absl::Seconds(5))), IsEmpty());
}

}  // namespace
}  // namespace halopsa::sim

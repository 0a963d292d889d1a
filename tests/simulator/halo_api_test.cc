// The simulated /api surface, driven over loopback HTTP.

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "simulator/json.h"
#include "tests/simulator/sim_test_fixture.h"

namespace halopsa::sim {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::SizeIs;

constexpr int64_t kFirstNewTicketId = 2885;  // after the highest seeded ticket

using SimulatorApiTest = SimulatorTest;

// ---- Create/update conventions and error shapes ----

TEST_F(SimulatorApiTest, OneElementArrayAnswersTheBareObject) {
  const Value created = ApiJson("POST", "/api/Tickets", R"([{"summary": "Single"}])");
  ASSERT_TRUE(created.has_struct_value()) << ToJson(created);
  EXPECT_EQ(Number(created, "id"), kFirstNewTicketId);
  EXPECT_EQ(Text(created, "summary"), "Single");

  const Value both = ApiJson("POST", "/api/Tickets", R"([{"summary": "A"}, {"summary": "B"}])");
  ASSERT_TRUE(both.has_list_value()) << ToJson(both);
  EXPECT_THAT(Ids(both), ElementsAre(kFirstNewTicketId + 1, kFirstNewTicketId + 2));
}

TEST_F(SimulatorApiTest, BodyThatIsNotAnArrayIs400) {
  for (const char* body : {R"({"summary": "object, not array"})", "[]", "[1]", "not json"}) {
    const testing::TestResponse response = Api("POST", "/api/Tickets", body);
    EXPECT_EQ(response.status, 400) << body;
    EXPECT_TRUE(Has(Json(response), "$")) << response.body;
  }
  EXPECT_FALSE(simulator_->ticket(kFirstNewTicketId).has_value());
}

TEST_F(SimulatorApiTest, TicketWithoutSummaryIsABareStringError) {
  const testing::TestResponse response = Api("POST", "/api/Tickets", R"([{"details": "d"}])");
  EXPECT_EQ(response.status, 400);
  EXPECT_EQ(response.body, R"("CODE:APP03/2 Please enter a Summary")");
}

TEST_F(SimulatorApiTest, AssetsGivenAsBareIdsAreAFieldKeyedError) {
  const testing::TestResponse response =
      Api("POST", "/api/Tickets", R"([{"summary": "s", "assets": [1, 3]}])");
  EXPECT_EQ(response.status, 400);
  const Value body = Json(response);
  ASSERT_TRUE(Has(body, "assets")) << response.body;
  EXPECT_THAT(Get(body, "assets").list_value().values(), SizeIs(1));
}

TEST_F(SimulatorApiTest, BatchIsRejectedWholeWhenOneElementIsInvalid) {
  const testing::TestResponse response =
      Api("POST", "/api/Tickets", R"([{"summary": "fine"}, {"details": "no summary"}])");
  EXPECT_EQ(response.status, 400);
  EXPECT_FALSE(simulator_->ticket(kFirstNewTicketId).has_value());
}

TEST_F(SimulatorApiTest, UpdateOfUnknownTicketIs404) {
  const testing::TestResponse response =
      Api("POST", "/api/Tickets", R"([{"id": 99999, "summary": "x"}])");
  EXPECT_EQ(response.status, 404);
  EXPECT_EQ(Text(Json(response), "error"), "Ticket 99999 not found");
}

// ---- Tickets ----

TEST_F(SimulatorApiTest, CreateStoresFieldsAndAddsNames) {
  const Value created = ApiJson("POST", "/api/Tickets", R"([{
      "summary": "Malware on host", "client_id": 12, "site_id": 18, "agent_id": 2,
      "tickettype_id": 1, "priority_id": 3, "impact": 2, "category_1": "Security",
      "unmodelled_field": {"kept": true}}])");
  EXPECT_EQ(Text(created, "client_name"), "Contoso");
  EXPECT_EQ(Text(created, "site_name"), "Contoso HQ");
  EXPECT_EQ(Text(created, "category_1"), "Security");
  EXPECT_TRUE(Get(Get(created, "unmodelled_field"), "kept").bool_value());
  EXPECT_EQ(Number(created, "status_id"), 1);  // New
  EXPECT_THAT(Text(created, "dateoccurred"),
              ::testing::MatchesRegex("20[0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9:]+"));
  EXPECT_EQ(Text(created, "deadlinedate"), "1900-01-01T00:00:00");

  const Value fetched =
      ApiJson("GET", "/api/Tickets/" + std::to_string(kFirstNewTicketId) + "?includedetails=true");
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(fetched, created))
      << ToJson(fetched) << " vs " << ToJson(created);
}

TEST_F(SimulatorApiTest, GetTicketByIdAnswersBareObjectOr404) {
  const Value ticket = ApiJson("GET", "/api/Tickets/2884");
  EXPECT_EQ(Number(ticket, "id"), 2884);
  EXPECT_EQ(Text(ticket, "summary"), "Suspicious login");
  EXPECT_EQ(Number(ticket, "client_id"), 12);
  EXPECT_EQ(Number(ticket, "site_id"), 18);
  EXPECT_EQ(Api("GET", "/api/Tickets/424242").status, 404);
}

TEST_F(SimulatorApiTest, DetailsBecomeTheFirstActionAndUpdatesReplaceIt) {
  const Value created =
      ApiJson("POST", "/api/Tickets", R"([{"summary": "s", "details": "original body"}])");
  const int id = static_cast<int>(Number(created, "id"));
  std::vector<Struct> timeline = simulator_->actions(id);
  ASSERT_THAT(timeline, SizeIs(1));
  EXPECT_EQ(IntField(timeline[0], "id"), 1);
  EXPECT_EQ(StringField(timeline[0], "note"), "original body");

  ApiJson("POST", "/api/Actions",
          absl::StrCat(R"([{"ticket_id": )", id, R"(, "note": "later", "outcome": "Note"}])"));
  ApiJson("POST", "/api/Tickets", absl::StrCat(R"([{"id": )", id, R"(, "details": "edited"}])"));

  timeline = simulator_->actions(id);
  ASSERT_THAT(timeline, SizeIs(2));
  EXPECT_EQ(StringField(timeline[0], "note"), "edited");
  EXPECT_EQ(StringField(timeline[1], "note"), "later");
  EXPECT_EQ(StringField(*simulator_->ticket(id), "details"), "edited");
}

TEST_F(SimulatorApiTest, UpdateMergesFieldsAndReplacesAssets) {
  const Value updated = ApiJson(
      "POST", "/api/Tickets", R"([{"id": 2880, "status_id": 2, "assets": [{"id": 3}, {"id": 2}]}])");
  EXPECT_EQ(Number(updated, "status_id"), 2);
  EXPECT_EQ(Text(updated, "summary"), "Printer offline");  // untouched
  EXPECT_THAT(Ids(Get(updated, "assets")), ElementsAre(3, 2));
  EXPECT_EQ(Text(Get(updated, "assets").list_value().values(0), "inventory_number"),
            "CONTOSO-LT-7");

  // An empty list clears the links.
  const Value cleared = ApiJson("POST", "/api/Tickets", R"([{"id": 2880, "assets": []}])");
  EXPECT_THAT(Get(cleared, "assets").list_value().values(), IsEmpty());
}

TEST_F(SimulatorApiTest, CustomFieldsResolveByIdOrNameAndMerge) {
  const Value created = ApiJson("POST", "/api/Tickets", R"([{"summary": "s", "customfields": [
      {"id": 101, "value": "sensor-1"}, {"name": "CFDetectionCategory", "value": "ransomware"}]}])");
  const Value fields = Get(created, "customfields");
  ASSERT_THAT(fields.list_value().values(), SizeIs(2));
  EXPECT_EQ(Text(fields.list_value().values(0), "name"), "CFSensorId");
  EXPECT_EQ(Text(fields.list_value().values(0), "value"), "sensor-1");
  EXPECT_EQ(Number(fields.list_value().values(1), "id"), 102);

  const Value updated = ApiJson(
      "POST", "/api/Tickets",
      absl::StrCat(R"([{"id": )", Number(created, "id"),
                   R"(, "customfields": [{"name": "cfsensorid", "value": "sensor-2"}]}])"));
  const Value merged = Get(updated, "customfields");
  ASSERT_THAT(merged.list_value().values(), SizeIs(2));
  EXPECT_EQ(Text(merged.list_value().values(0), "value"), "sensor-2");
  EXPECT_EQ(Text(merged.list_value().values(1), "value"), "ransomware");

  for (const char* unknown : {R"({"id": 999, "value": 1})", R"({"name": "Nope", "value": 1})"}) {
    const testing::TestResponse response = Api(
        "POST", "/api/Tickets",
        absl::StrCat(R"([{"summary": "s", "customfields": [)", unknown, "]}]"));
    EXPECT_EQ(response.status, 400) << unknown;
    EXPECT_TRUE(Has(Json(response), "customfields")) << response.body;
  }
}

// ---- Ticket search and Halo's paging rules ----

TEST_F(SimulatorApiTest, ListWithoutPageinateReturnsTheFirst50) {
  const Value page = ApiJson("GET", "/api/Tickets?client_id=2&page_size=100&page_no=2");
  EXPECT_EQ(Number(page, "record_count"), 121);
  EXPECT_THAT(Get(page, "tickets").list_value().values(), SizeIs(50));
  EXPECT_EQ(Ids(Get(page, "tickets")).front(), 1001);
  EXPECT_FALSE(Has(page, "page_no"));

  // pageinate without page_no is not paging either.
  const Value no_page_no = ApiJson("GET", "/api/Tickets?client_id=2&pageinate=true&page_size=80");
  EXPECT_THAT(Get(no_page_no, "tickets").list_value().values(), SizeIs(50));
}

TEST_F(SimulatorApiTest, PageinateWithPageNoReturnsThatPage) {
  const Value second =
      ApiJson("GET", "/api/Tickets?client_id=2&pageinate=true&page_size=50&page_no=2");
  EXPECT_EQ(Number(second, "record_count"), 121);
  EXPECT_EQ(Number(second, "page_no"), 2);
  EXPECT_EQ(Number(second, "page_size"), 50);
  const std::vector<int64_t> ids = Ids(Get(second, "tickets"));
  ASSERT_THAT(ids, SizeIs(50));
  EXPECT_EQ(ids.front(), 1051);
  EXPECT_EQ(ids.back(), 1100);

  const Value last = ApiJson("GET", "/api/Tickets?client_id=2&pageinate=true&page_size=50&page_no=3");
  EXPECT_THAT(Ids(Get(last, "tickets")), SizeIs(21));
  EXPECT_EQ(Ids(Get(last, "tickets")).back(), 2882);

  const Value beyond = ApiJson("GET", "/api/Tickets?client_id=2&pageinate=true&page_no=9");
  EXPECT_THAT(Get(beyond, "tickets").list_value().values(), IsEmpty());
  EXPECT_EQ(Number(beyond, "record_count"), 121);
}

TEST_F(SimulatorApiTest, PageSizeIsCappedAt100) {
  const Value page = ApiJson("GET", "/api/Tickets?client_id=2&pageinate=true&page_no=1&page_size=500");
  EXPECT_EQ(Number(page, "page_size"), 100);
  EXPECT_THAT(Get(page, "tickets").list_value().values(), SizeIs(100));
  EXPECT_EQ(Number(page, "record_count"), 121);
}

TEST_F(SimulatorApiTest, StatusIdTakesOneIdOrACommaList) {
  EXPECT_THAT(Ids(Get(ApiJson("GET", "/api/Tickets?client_id=12&status_id=1"), "tickets")),
              ElementsAre(2883));
  EXPECT_THAT(Ids(Get(ApiJson("GET", "/api/Tickets?client_id=12&status_id=1,2"), "tickets")),
              ElementsAre(2883, 2884));
  // Seeded Globex tickets 1003, 1006, ..., 1120 and 2882 are closed.
  EXPECT_EQ(Number(ApiJson("GET", "/api/Tickets?client_id=2&status_id=9"), "record_count"), 41);
  EXPECT_EQ(Api("GET", "/api/Tickets?status_id=1,x").status, 400);
}

TEST_F(SimulatorApiTest, RequestTypeIdFiltersByTicketType) {
  EXPECT_THAT(Ids(Get(ApiJson("GET", "/api/Tickets?requesttype_id=3"), "tickets")),
              ElementsAre(2880, 2883));
}

TEST_F(SimulatorApiTest, OtherTicketFilters) {
  const auto ids = [&](const std::string& query) {
    return Ids(Get(ApiJson("GET", "/api/Tickets?" + query), "tickets"));
  };
  EXPECT_THAT(ids("search=SUSPICIOUS"), ElementsAre(2884));
  EXPECT_THAT(ids("search=new+country"), ElementsAre(2884));  // matches details
  EXPECT_THAT(ids("asset_id=2"), ElementsAre(2882));
  EXPECT_THAT(ids("client_id=12&agent_id=1"), ElementsAre(2884));
  EXPECT_THAT(ids("site_id=2"), ElementsAre(2881));
  EXPECT_EQ(Number(ApiJson("GET", "/api/Tickets?client_id=2&open_only=true"), "record_count"), 80);
}

TEST_F(SimulatorApiTest, OrderAndOrderDesc) {
  EXPECT_THAT(Ids(Get(ApiJson("GET", "/api/Tickets?client_id=12&order=summary"), "tickets")),
              ElementsAre(2883, 2884));  // "New laptop request" < "Suspicious login"
  EXPECT_THAT(Ids(Get(ApiJson("GET", "/api/Tickets?client_id=12&order=summary&orderdesc=true"),
                      "tickets")),
              ElementsAre(2884, 2883));
  EXPECT_THAT(Ids(Get(ApiJson("GET", "/api/Tickets?client_id=1&orderdesc=true"), "tickets")),
              ElementsAre(2881, 2880));
}

TEST_F(SimulatorApiTest, MalformedNumericParameterIsFieldKeyed400) {
  const testing::TestResponse response = Api("GET", "/api/Tickets?client_id=abc");
  EXPECT_EQ(response.status, 400);
  EXPECT_TRUE(Has(Json(response), "client_id")) << response.body;
}

// ---- Actions ----

TEST_F(SimulatorApiTest, ActionIdsAreNumberedPerTicket) {
  const Value first = ApiJson("POST", "/api/Actions", R"([
      {"ticket_id": 2884, "note": "triage", "outcome": "Note", "hiddenfromuser": true,
       "timetaken": 0.25, "actionchargehours": 1.5},
      {"ticket_id": 2884, "note": "more", "outcome_id": 7}])");
  EXPECT_THAT(Ids(first), ElementsAre(2, 3));  // 1 is the ticket body
  const Value stored = first.list_value().values(0);
  EXPECT_EQ(Number(stored, "timetaken"), 0.25);
  EXPECT_EQ(Number(stored, "actionchargehours"), 1.5);
  EXPECT_TRUE(Get(stored, "hiddenfromuser").bool_value());
  EXPECT_EQ(Text(stored, "outcome"), "Note");

  const Value other =
      ApiJson("POST", "/api/Actions", R"([{"ticket_id": 2880, "note": "x", "outcome": "Note"}])");
  EXPECT_EQ(Number(other, "id"), 2);

  const Value listed = ApiJson("GET", "/api/Actions?ticket_id=2884");
  EXPECT_EQ(Number(listed, "record_count"), 3);
  EXPECT_THAT(Ids(Get(listed, "actions")), ElementsAre(1, 2, 3));
  EXPECT_EQ(Text(Get(listed, "actions").list_value().values(0), "note"),
            "Multiple failed sign-ins followed by a success from a new country.");
}

TEST_F(SimulatorApiTest, ActionWithoutOutcomeIsAnErrorsList) {
  const testing::TestResponse response =
      Api("POST", "/api/Actions", R"([{"ticket_id": 2884, "note": "n", "outcome": " "}])");
  EXPECT_EQ(response.status, 400);
  EXPECT_EQ(response.body, R"({"errors":["An Outcome must be entered for this Action"]})");
  EXPECT_THAT(simulator_->actions(2884), SizeIs(1));
}

TEST_F(SimulatorApiTest, ActionForUnknownTicketIs404) {
  EXPECT_EQ(Api("POST", "/api/Actions", R"([{"ticket_id": 777, "outcome": "Note"}])").status, 404);
  EXPECT_EQ(Api("POST", "/api/Actions", R"([{"note": "no ticket", "outcome": "Note"}])").status,
            404);
}

// ---- Assets ----

TEST_F(SimulatorApiTest, AssetCreateRequiresAType) {
  const testing::TestResponse response =
      Api("POST", "/api/Asset", R"([{"inventory_number": "NEW-1", "client_id": 1}])");
  EXPECT_EQ(response.status, 400);
  EXPECT_TRUE(Has(Json(response), "error")) << response.body;
  EXPECT_THAT(simulator_->assets(), SizeIs(3));
}

TEST_F(SimulatorApiTest, AssetCreateSetsNamesAndKeepsKeyFieldOnlyWhenGiven) {
  const Value plain = ApiJson("POST", "/api/Asset",
                              R"([{"inventory_number": "acme-srv-9", "client_id": 1,
                                   "site_id": 2, "assettype_id": 2}])");
  EXPECT_EQ(Number(plain, "id"), 4);
  EXPECT_EQ(Text(plain, "client_name"), "Acme Corp");
  EXPECT_EQ(Text(plain, "site_name"), "Acme Branch");
  EXPECT_EQ(Text(plain, "assettype_name"), "Server");
  EXPECT_FALSE(Get(plain, "inactive").bool_value());
  EXPECT_FALSE(Has(plain, "key_field"));

  const Value keyed = ApiJson("POST", "/api/Asset",
                              R"([{"key_field": "host-5", "client_id": 2, "assettype_id": 1}])");
  EXPECT_EQ(Text(keyed, "key_field"), "host-5");
  EXPECT_EQ(Text(keyed, "inventory_number"), "");
  EXPECT_EQ(Text(ApiJson("GET", "/api/Asset/5"), "key_field"), "host-5");
}

TEST_F(SimulatorApiTest, AssetFilters) {
  const auto ids = [&](const std::string& query) {
    return Ids(Get(ApiJson("GET", "/api/Asset?" + query), "assets"));
  };
  EXPECT_THAT(ids(""), ElementsAre(1, 2, 3));
  EXPECT_THAT(ids("search=acme"), ElementsAre(1));
  EXPECT_THAT(ids("search=DB01"), ElementsAre(2));  // key_field
  EXPECT_THAT(ids("inventory_number=acme-ws-001"), ElementsAre(1));
  EXPECT_THAT(ids("inventory_number=ACME-WS"), IsEmpty());  // exact, not substring
  EXPECT_THAT(ids("client_id=12"), ElementsAre(3));
  EXPECT_THAT(ids("site_id=3"), ElementsAre(2));
  EXPECT_THAT(ids("assettype_id=1"), ElementsAre(1, 3));
  EXPECT_EQ(Number(ApiJson("GET", "/api/Asset?search=acme"), "record_count"), 1);
}

TEST_F(SimulatorApiTest, GetAssetByIdOr404) {
  const Value asset = ApiJson("GET", "/api/Asset/2");
  EXPECT_EQ(Text(asset, "key_field"), "globex-db01");
  EXPECT_EQ(Text(asset, "assettype_name"), "Server");
  EXPECT_EQ(Api("GET", "/api/Asset/99").status, 404);
}

// ---- Clients and sites ----

TEST_F(SimulatorApiTest, ClientSearchAndInactive) {
  const Value active = ApiJson("GET", "/api/Client");
  EXPECT_EQ(Number(active, "record_count"), 3);
  EXPECT_THAT(Ids(Get(active, "clients")), ElementsAre(1, 2, 12));
  EXPECT_THAT(Ids(Get(ApiJson("GET", "/api/Client?includeinactive=true"), "clients")),
              ElementsAre(1, 2, 12, 13));
  EXPECT_THAT(Ids(Get(ApiJson("GET", "/api/Client?search=CONTO"), "clients")), ElementsAre(12));
  EXPECT_THAT(Ids(Get(ApiJson("GET", "/api/Client?order=name&orderdesc=true"), "clients")),
              ElementsAre(2, 12, 1));
  const Value paged = ApiJson("GET", "/api/Client?pageinate=true&page_no=2&page_size=2");
  EXPECT_THAT(Ids(Get(paged, "clients")), ElementsAre(12));
  EXPECT_EQ(Number(paged, "record_count"), 3);

  const Value initech = ApiJson("GET", "/api/Client/13");
  EXPECT_EQ(Text(initech, "name"), "Initech");
  EXPECT_TRUE(Get(initech, "inactive").bool_value());
  EXPECT_EQ(Api("GET", "/api/Client/5").status, 404);
}

TEST_F(SimulatorApiTest, SiteLookup) {
  const Value acme = ApiJson("GET", "/api/Site?client_id=1");
  EXPECT_EQ(Number(acme, "record_count"), 2);
  EXPECT_THAT(Ids(Get(acme, "sites")), ElementsAre(1, 2));
  EXPECT_EQ(Text(Get(acme, "sites").list_value().values(0), "client_name"), "Acme Corp");
  EXPECT_THAT(Ids(Get(ApiJson("GET", "/api/Site?search=hq"), "sites")), ElementsAre(1, 18));

  const Value contoso = ApiJson("GET", "/api/Site/18");
  EXPECT_EQ(Text(contoso, "name"), "Contoso HQ");
  EXPECT_EQ(Number(contoso, "client_id"), 12);
  EXPECT_EQ(Api("GET", "/api/Site/4").status, 404);
}

// ---- Routing ----

TEST_F(SimulatorApiTest, UnknownPathsAre404AndWrongMethods405) {
  EXPECT_EQ(Api("GET", "/api/Nothing").status, 404);
  EXPECT_EQ(Api("GET", "/api/Tickets/2884/extra").status, 404);
  EXPECT_EQ(Api("GET", "/elsewhere").status, 404);
  EXPECT_EQ(Api("DELETE", "/api/Tickets").status, 405);
  EXPECT_EQ(Api("POST", "/api/Client", R"([{"name": "x"}])").status, 405);
  EXPECT_EQ(Api("GET", "/api/tickets/2884").status, 200);  // routes ignore case
}

}  // namespace
}  // namespace halopsa::sim

// The simulator behaves as real HaloPSA tenants do where the service once
// assumed otherwise: hosted authorisation, scopes and permissions, details
// derived from HTML, the documented asset and ticket filters, and outcomes
// that differ between tenants.

#include <memory>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "tests/simulator/sim_test_fixture.h"

namespace halopsa::sim {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

testing::TestResponse TokenFrom(int port, const std::string& query) {
  return Call(port, false, "POST", "/auth/token" + query, kGoodForm, {{"Content-Type", kFormType}});
}

TEST(HostedAuthTest, TokensComeOnlyFromTheAuthServerThatAuthInfoNames) {
  SimulatorOptions options;
  options.hosted_auth = true;
  std::unique_ptr<HaloSimulator> simulator = StartSimulator(options);
  ASSERT_NE(simulator, nullptr);
  EXPECT_EQ(RequestToken(*simulator, kGoodForm).status, 404);  // not on the tenant itself

  const testing::TestResponse info = Call(simulator->port(), false, "GET", "/api/authinfo");
  ASSERT_EQ(info.status, 200);  // no token needed
  const std::string auth_url = Text(Json(info), "auth_url");
  const std::string tenant_id = Text(Json(info), "tenant_id");
  EXPECT_EQ(auth_url, simulator->auth_url());
  EXPECT_EQ(tenant_id, "simtenant");
  const int auth_port = std::stoi(auth_url.substr(auth_url.rfind(':') + 1));
  EXPECT_NE(auth_port, simulator->port());

  EXPECT_EQ(TokenFrom(auth_port, "").status, 401);  // the tenant must be named
  const testing::TestResponse token = TokenFrom(auth_port, "?tenant=" + tenant_id);
  ASSERT_EQ(token.status, 200) << token.body;
  EXPECT_EQ(Call(auth_port, false, "GET", "/api/Tickets/2884").status, 404);  // only tokens there
  EXPECT_EQ(Call(simulator->port(), false, "GET", "/api/Tickets/2884", "",
                 {{"Authorization", "Bearer " + Text(Json(token), "access_token")}})
                .status,
            200);
}

TEST(HostedAuthTest, SelfHostedTenantsHaveNoAuthInfo) {
  std::unique_ptr<HaloSimulator> simulator = StartSimulator();
  ASSERT_NE(simulator, nullptr);
  EXPECT_EQ(Call(simulator->port(), false, "GET", "/api/authinfo").status, 404);
  EXPECT_EQ(simulator->auth_url(), "");
}

testing::TestResponse TokenWithScope(const HaloSimulator& simulator, const std::string& scope) {
  return RequestToken(simulator, absl::StrCat("grant_type=client_credentials&client_id=sim-client"
                                              "&client_secret=sim-secret&scope=",
                                              scope));
}

TEST(ScopeTest, UnknownScopesAreInvalidScope) {
  std::unique_ptr<HaloSimulator> simulator = StartSimulator();
  ASSERT_NE(simulator, nullptr);
  for (const char* scope : {"read:actions", "edit:actions", "edit:tickets+bogus"}) {
    const testing::TestResponse refused = TokenWithScope(*simulator, scope);
    EXPECT_EQ(refused.status, 400) << scope;
    EXPECT_EQ(Text(Json(refused), "error"), "invalid_scope");
  }
}

TEST(ScopeTest, LeastPrivilegeScopesCoverTheSixActionsAndNothingMore) {
  std::unique_ptr<HaloSimulator> simulator = StartSimulator();
  ASSERT_NE(simulator, nullptr);
  const testing::TestResponse token = TokenWithScope(*simulator, "edit:tickets+edit:assets+read:customers");
  ASSERT_EQ(token.status, 200) << token.body;
  const testing::TestHeaders bearer = {{"Authorization", "Bearer " + Text(Json(token), "access_token")},
                                       {"Content-Type", "application/json"}};
  const auto call = [&](const char* method, const char* target, const char* body = "") {
    return Call(simulator->port(), false, method, target, body, bearer).status;
  };
  EXPECT_EQ(call("GET", "/api/Tickets"), 200);
  EXPECT_EQ(call("POST", "/api/Actions", R"([{"ticket_id": 2884, "note": "n", "outcome": "Note"}])"), 200);
  EXPECT_EQ(call("GET", "/api/Asset?inventory_number=x"), 200);
  EXPECT_EQ(call("GET", "/api/Client"), 200);
  EXPECT_EQ(call("GET", "/api/Site"), 200);

  const testing::TestResponse narrow = TokenWithScope(*simulator, "read:tickets");
  const testing::TestResponse refused =
      Call(simulator->port(), false, "POST", "/api/Tickets", R"([{"summary": "s"}])",
           {{"Authorization", "Bearer " + Text(Json(narrow), "access_token")}, {"Content-Type", "application/json"}});
  EXPECT_EQ(refused.status, 403);
  EXPECT_THAT(refused.body, HasSubstr("edit:tickets"));
}

class FidelityApiTest : public SimulatorTest {};

TEST_F(FidelityApiTest, DetailsAreDerivedFromDetailsHtmlAndCommentsDoNotSurvive) {
  const Value created = ApiJson("POST", "/api/Tickets", R"([{"summary": "s",
      "details_html": "<p>Alert &amp; more</p>evt<br>ext-halopsa ref 00ff<!-- exthalopsa00ff -->"}])");
  EXPECT_EQ(Text(created, "details"), "Alert & more\nevt\next-halopsa ref 00ff");
  EXPECT_THAT(Text(created, "details_html"), HasSubstr("<!-- exthalopsa00ff -->"));
  // Plain details is taken as HTML too: a comment in it is gone from the text.
  const Value plain = ApiJson("POST", "/api/Tickets", R"([{"summary": "p", "details": "body\n<!-- hidden -->"}])");
  EXPECT_EQ(Text(plain, "details"), "body");
  // The first action, the ticket's body, carries the derived text.
  const std::vector<Struct> timeline = simulator_->actions(static_cast<int>(Number(created, "id")));
  ASSERT_FALSE(timeline.empty());
  EXPECT_EQ(StringField(timeline[0], "note"), "Alert & more\nevt\next-halopsa ref 00ff");
}

TEST_F(FidelityApiTest, SearchDetailsFindsTheTextInTheDerivedDetails) {
  const Value created =
      ApiJson("POST", "/api/Tickets", R"([{"summary": "s", "details_html": "a<br>ext-halopsa ref 1234abcd"}])");
  const Value found = ApiJson("GET", "/api/Tickets?search_details=ext-halopsa%20ref%201234abcd");
  EXPECT_THAT(Ids(Get(found, "tickets")), ElementsAre(static_cast<int64_t>(Number(created, "id"))));
  ApiJson("POST", "/api/Tickets", R"([{"summary": "c", "details_html": "<!-- ext-halopsa ref 99 -->"}])");
  const Value none = ApiJson("GET", "/api/Tickets?search_details=ext-halopsa%20ref%2099");
  EXPECT_THAT(Get(none, "tickets").list_value().values(), IsEmpty());
}

TEST_F(FidelityApiTest, NotesAreDerivedFromNoteHtml) {
  const Value action = ApiJson(
      "POST", "/api/Actions", R"([{"ticket_id": 2884, "outcome": "Note", "note_html": "triage<br>ext-halopsa ref 42"}])");
  EXPECT_EQ(Text(action, "note"), "triage\next-halopsa ref 42");
}

TEST_F(FidelityApiTest, APlainTicketReadOmitsItsAssetsWhichTheAssetFilterLists) {
  EXPECT_FALSE(Has(ApiJson("GET", "/api/Tickets/2880"), "assets"));
  EXPECT_THAT(Ids(Get(ApiJson("GET", "/api/Tickets/2880?includedetails=true"), "assets")), ElementsAre(1));
  EXPECT_THAT(Ids(Get(ApiJson("GET", "/api/Asset?ticket_id=2880"), "assets")), ElementsAre(1));
  EXPECT_THAT(Get(ApiJson("GET", "/api/Asset?ticket_id=2884"), "assets").list_value().values(), IsEmpty());
  EXPECT_THAT(Get(ApiJson("GET", "/api/Asset?ticket_id=424242"), "assets").list_value().values(), IsEmpty());
}

TEST_F(FidelityApiTest, OutcomesTheTenantDoesNotHaveAreRefused) {
  for (const char* action : {R"([{"ticket_id": 2884, "note": "n", "outcome": "Triage"}])",
                             R"([{"ticket_id": 2884, "note": "n", "outcome_id": 999}])"}) {
    const testing::TestResponse refused = Api("POST", "/api/Actions", action);
    EXPECT_EQ(refused.status, 400) << action;
    EXPECT_THAT(refused.body, HasSubstr("An Outcome must be entered for this Action"));
  }
  EXPECT_EQ(Api("POST", "/api/Actions", R"([{"ticket_id": 2884, "note": "n", "outcome": "private note"}])").status,
            200);
  EXPECT_EQ(Api("POST", "/api/Actions", R"([{"ticket_id": 2884, "note": "n", "outcome_id": 12}])").status, 200);
}

}  // namespace
}  // namespace halopsa::sim

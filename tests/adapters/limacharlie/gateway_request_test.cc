// Action requests: LimaCharlie's data becomes the HaloPsaService request,
// the answer becomes the envelope's data, errors keep their text and
// outcome, and the callback's deadline bounds the call.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "absl/synchronization/notification.h"
#include "tests/adapters/limacharlie/gateway_fixture.h"

namespace halopsa::lc::testing {
namespace {

using google::protobuf::Message;
using google::protobuf::MethodDescriptor;
using halopsa::testing::Answers;
using halopsa::testing::Fails;
using halopsa::testing::Method;
using ::testing::_;
using ::testing::AllOf;
using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::Pair;

TEST_F(GatewayTest, CreateTicketWithTemplatedStringsReturnsTheTicket) {
  EXPECT_CALL(*service_, Call(Method("CreateTicket"), _,
                              AllOf(Contains(Pair("x-halopsa-client-secret", "literal-secret")),
                                    Not(Contains(Pair("x-halopsa-tenant", _)))),
                              _, _))
      .WillOnce([](const MethodDescriptor& method, std::shared_ptr<const Message> request,
                   const ServiceCalls::Metadata& metadata, absl::Time deadline, ServiceCalls::Callback done) {
        const auto& sent = As<v1::CreateTicketRequest>(*request);
        EXPECT_EQ(sent.client_id(), 12);
        EXPECT_EQ(sent.site_id(), 18);
        EXPECT_EQ(sent.priority_id(), 3);
        EXPECT_EQ(sent.details(), R"({"a":1})");
        CreatesTicket(2885)(method, std::move(request), metadata, deadline, std::move(done));
      });
  Reply reply = Request("create_ticket", R"({"summary":"NEW_PROCESS - ws-1","details":"{\"a\":1}",
                                             "client_id":"12","site_id":"18","tickettype_id":1,"priority_id":"3"})");
  ASSERT_EQ(reply.status, 200) << reply.body;
  EXPECT_FALSE(reply.has_error());
  ASSERT_TRUE(reply.data()["id"].IsInt());
  EXPECT_EQ(reply.data()["id"].GetInt(), 2885);
  EXPECT_STREQ(reply.data()["summary"].GetString(), "NEW_PROCESS - ws-1");
}

TEST_F(GatewayTest, UnknownFieldIs400WithASuggestionAndNoCall) {
  Reply reply = Request("create_ticket", R"({"sumary":"s"})");
  EXPECT_EQ(reply.status, 400);
  EXPECT_EQ(reply.retriable(), false);
  EXPECT_EQ(reply.error(), "unknown field 'sumary' for create_ticket; did you mean 'summary'?");
}

TEST_F(GatewayTest, WrongTypeIs400NamingTheField) {
  Reply reply = Request("add_action", R"({"ticket_id":"twelve","note":"n"})");
  EXPECT_EQ(reply.status, 400);
  EXPECT_EQ(reply.error(), R"(ticket_id: must be a whole number (32-bit), got "twelve")");
}

TEST_F(GatewayTest, ServiceErrorsKeepTheirTextAndOutcome) {
  EXPECT_CALL(*service_, Call)
      .WillOnce(Fails(InvalidField("summary", "is required")))
      .WillOnce(FailsWith(absl::UnavailableError("HaloPSA /api/Tickets answered HTTP 503: Service Unavailable"),
                          "UPSTREAM_UNAVAILABLE"))
      .WillOnce(FailsWith(absl::NotFoundError("HaloPSA /api/Tickets/99 answered HTTP 404"), "UPSTREAM_NOT_FOUND"));
  Reply invalid = Request("create_ticket", "{}");
  EXPECT_EQ(invalid.status, 400);
  EXPECT_EQ(invalid.retriable(), false);
  EXPECT_EQ(invalid.error(), "summary: is required");

  Reply unavailable = Request("create_ticket", R"({"summary":"s"})");
  EXPECT_EQ(unavailable.status, 500);
  EXPECT_EQ(unavailable.retriable(), true);
  EXPECT_EQ(unavailable.error(), "HaloPSA /api/Tickets answered HTTP 503: Service Unavailable");

  EXPECT_EQ(Request("update_ticket", R"({"id":99})").status, 400);
}

TEST_F(GatewayTest, MissingConfigIs400BeforeAnyCall) {
  Reply reply = Request("search_tickets", "{}", Config{{"client_id", "c"}, {"client_secret", "s"}});
  EXPECT_EQ(reply.status, 400);
  EXPECT_EQ(reply.error(), "config.instance_url: is missing (set it in Extensions → ext-halopsa → Configuration)");
}

TEST_F(GatewayTest, LookupAnswersOnlyTheListOfItsType) {
  EXPECT_CALL(*service_, Call(Method("LookupClientSite"), _, _, _, _))
      .WillOnce(Answers<v1::LookupClientSiteResponse>(R"({"record_count":1,"sites":[{"id":18}]})"));
  Reply reply = Request("lookup_client_site", R"({"type":"site","client_id":"12"})");
  ASSERT_EQ(reply.status, 200) << reply.body;
  EXPECT_EQ(Json(reply.data()), R"({"record_count":1,"sites":[{"id":18}]})");
}

TEST_F(GatewayTest, MirrorCaseCarriesTheOrgsCaseSettingsAndAnswersTheFieldsItChanged) {
  Config config = LiteralConfig();
  config["case_label"] = "AcmeSOC";
  config["case_status_map"] = "1:new,9:closed";
  EXPECT_CALL(*service_, Call(Method("MirrorCase"), _,
                              AllOf(Contains(Pair("x-halopsa-case-label", "AcmeSOC")),
                                    Contains(Pair("x-halopsa-case-status-map", "1:new,9:closed"))),
                              _, _))
      .WillOnce(Answers<v1::MirrorCaseResponse>(R"({"ticket_id":3001,"updated_fields":["status_id"]})"));
  Reply reply = Request("mirror_case", R"({"case_id":"4711","status_id":"2"})", config);
  ASSERT_EQ(reply.status, 200) << reply.body;
  EXPECT_EQ(Json(reply.data()), R"({"created":false,"ticket_id":3001,"updated_fields":["status_id"]})");
}

TEST_F(GatewayTest, PullTicketChangesAnswersTheChangesAndTheWatermark) {
  EXPECT_CALL(*service_, Call(Method("PullTicketChanges"), _, _, _, _))
      .WillOnce(Answers<v1::PullTicketChangesResponse>(
          R"({"changes":[{"ticket_id":3001,"case_id":"4711","actions":[{"id":4,"text":"done"}]}],"watermark":"w"})"));
  Reply reply = Request("pull_ticket_changes", R"({"watermark":"2026-12-01T10:00:05Z","limit":"10"})");
  ASSERT_EQ(reply.status, 200) << reply.body;
  EXPECT_EQ(reply.data()["changes"][0]["actions"][0]["text"].GetString(), std::string("done"));
  EXPECT_EQ(reply.data()["watermark"].GetString(), std::string("w"));
}

// The service gets the callback's deadline; running out of it is retriable.
TEST_F(GatewayTest, CallDeadlineBoundsTheRequest) {
  GatewayOptions options = Options();
  options.call_deadline = absl::Milliseconds(300);
  StartGateway(options);
  absl::Time deadline;
  EXPECT_CALL(*service_, Call(Method("SearchTickets"), _, _, _, _))
      .WillOnce([&deadline](const MethodDescriptor&, std::shared_ptr<const Message>, const ServiceCalls::Metadata&,
                            absl::Time call_deadline, ServiceCalls::Callback done) {
        deadline = call_deadline;
        done(absl::DeadlineExceededError("HaloPsaService.SearchTickets: Deadline Exceeded"));
      });
  const absl::Time sent = absl::Now();
  Reply reply = Request("search_tickets", "{}");
  EXPECT_GE(deadline, sent + absl::Milliseconds(300));
  EXPECT_LE(deadline, absl::Now() + absl::Milliseconds(300));
  EXPECT_EQ(reply.status, 500);
  EXPECT_EQ(reply.retriable(), true);
  EXPECT_EQ(reply.error(), "HaloPsaService.SearchTickets: Deadline Exceeded");
}

TEST_F(GatewayTest, DestructionCancelsCallsInFlightAndAnswersThem) {
  ServiceCalls::Callback held;
  EXPECT_CALL(*service_, Call).WillOnce([&held](const MethodDescriptor&, std::shared_ptr<const Message>,
                                                const ServiceCalls::Metadata&, absl::Time,
                                                ServiceCalls::Callback done) { held = std::move(done); });
  EXPECT_CALL(*service_, CancelAll()).WillOnce([&held] { held(absl::CancelledError("the call was cancelled")); });
  struct Answer {
    absl::Notification done;
    net::ServerResponse response;
  };
  auto answer = std::make_shared<Answer>();
  gateway_->Handle(Lc().Build(RequestEnvelope(org_, "search_tickets", "{}", LiteralConfig())),
                   [answer](net::ServerResponse response) {
                     answer->response = std::move(response);
                     answer->done.Notify();
                   });
  EXPECT_FALSE(answer->done.HasBeenNotified());
  gateway_.reset();
  ASSERT_TRUE(answer->done.HasBeenNotified());
  EXPECT_EQ(answer->response.status, 500);
  EXPECT_THAT(answer->response.body, HasSubstr("ext-halopsa is shutting down"));
}

}  // namespace
}  // namespace halopsa::lc::testing

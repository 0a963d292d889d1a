#include "server/idempotent_create.h"

#include <string>

#include <gmock/gmock.h>
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "adapters/halopsa/halo_errors.h"
#include "server/error_mapping.h"
#include "server/halopsa_operations.h"
#include "tests/server/mock_halo_api.h"
#include "tests/server/mock_shared_state.h"
#include "tests/testing/callback_result.h"
#include "tests/testing/error_details.h"

namespace halopsa {
namespace {

using ::testing::_;
using ::testing::ElementsAre;
using ::testing::InSequence;
using ::testing::Pair;
using ::testing::StrictMock;
using testing::AnswerBegin;
using testing::AnswerJson;
using testing::AnswerStatus;
using testing::JsonEq;
using testing::MockHaloApi;
using testing::MockOutcomeJournal;
using testing::RunAction;

constexpr char kKey[] = "lc-callback-7f3a";

// The id of a successful answer; -1 (and a failure) otherwise.
template <typename Response>
int IdOf(const absl::StatusOr<Response>& response) {
  EXPECT_TRUE(response.ok()) << response.status();
  return response.ok() ? response->id() : -1;
}

absl::Status OutcomeUnknown() {
  return WithErrorInfo(absl::UnavailableError("HaloPSA /api/Tickets: connection lost after the request was sent"),
                       kReasonUpstreamOutcomeUnknown);
}

TEST(IdempotencyReferenceTest, IsAVisibleLineOfThePrefixAndSha256Hex) {
  // SHA-256("abc") = ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad
  EXPECT_EQ(IdempotencyReference("abc"), "ext-halopsa ref ba7816bf8f01cfea414140de5dae2223");
}

class FakeClock {
 public:
  InMemoryOutcomeJournal::Clock AsClock() {
    return [this] { return now_; };
  }
  void Advance(absl::Duration d) { now_ += d; }

 private:
  absl::Time now_ = absl::FromUnixSeconds(1'800'000'000);
};

TEST(InMemoryOutcomeJournalTest, DropsTheOldestBeyondItsBound) {
  FakeClock clock;
  InMemoryOutcomeJournal journal(JournalLimits{2, absl::Hours(24)}, clock.AsClock());
  journal.Add("a");
  journal.Add("b");
  journal.Add("a");  // newest again
  journal.Add("c");
  EXPECT_EQ(journal.size(), 2u);
  EXPECT_FALSE(journal.Contains("b"));
  EXPECT_TRUE(journal.Contains("a"));
  EXPECT_TRUE(journal.Contains("c"));
}

TEST(InMemoryOutcomeJournalTest, ForgetsKeysAfterTheirTtl) {
  FakeClock clock;
  InMemoryOutcomeJournal journal(JournalLimits{10, absl::Hours(24)}, clock.AsClock());
  journal.Add("old");
  clock.Advance(absl::Hours(23));
  journal.Add("young");
  EXPECT_TRUE(journal.Contains("old"));
  clock.Advance(absl::Hours(1));
  EXPECT_FALSE(journal.Contains("old"));
  EXPECT_TRUE(journal.Contains("young"));
  EXPECT_EQ(journal.size(), 1u);
}

TEST(InMemoryOutcomeJournalTest, BeginTellsWhetherAnEarlierAttemptMayHaveWrittenAndMarksTheKey) {
  InMemoryOutcomeJournal journal;
  testing::CallbackResult<absl::StatusOr<bool>> first("the first Begin's answer"), second("the second Begin's answer");
  journal.Begin("k", absl::InfiniteFuture(), first.Callback());
  journal.Begin("k", absl::InfiniteFuture(), second.Callback());
  EXPECT_EQ(first.Await(absl::ZeroDuration()).value_or(true), false);
  EXPECT_EQ(second.Await(absl::ZeroDuration()).value_or(false), true) << "the first attempt had not finished";
  journal.Remove("k");
  EXPECT_FALSE(journal.Contains("k"));
}

TEST(InMemoryOutcomeJournalTest, RemovesKeys) {
  InMemoryOutcomeJournal journal;
  journal.Add("a");
  journal.Remove("a");
  journal.Remove("never added");
  EXPECT_FALSE(journal.Contains("a"));
  EXPECT_EQ(journal.size(), 0u);
}

// create_ticket and add_action with an idempotency key, through the actions.
class IdempotentCreateTest : public ::testing::Test {
 protected:
  template <typename Response, typename Request>
  absl::StatusOr<Response> Call(void (HaloPsaOperations::*action)(const CallContext&, const Request&, Reply<Response>),
                                const std::string& json) {
    Request request;
    EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(json, &request).ok()) << json;
    return RunAction<Response>([&](Reply<Response> done) { (actions_.*action)(context_, request, std::move(done)); });
  }

  absl::StatusOr<v1::CreateTicketResponse> CreateTicket() {
    return Call(&HaloPsaOperations::CreateTicket, R"({"summary": "s", "details": "evt", "client_id": 12})");
  }
  absl::StatusOr<v1::AddActionResponse> AddAction() {
    return Call(&HaloPsaOperations::AddAction, R"({"ticket_id": 2884, "note": "triage"})");
  }

  // The HTML sent for plain `text` (a JSON string value): the text, then the
  // key's reference line.
  std::string MarkedHtml(absl::string_view text) const {
    return absl::StrCat(text, text.empty() ? "" : "<br>", token_);
  }
  // The plain text HaloPSA derives from that HTML, as list rows carry it.
  std::string MarkedText(absl::string_view text) const { return absl::StrCat(text, "\\n", token_); }

  // The lookup of an earlier ticket: one small page of the documented
  // details filter's matches.
  auto TicketSearch() const {
    return ElementsAre(Pair("search_details", token_), Pair("pageinate", "true"),
                       Pair("page_size", "10"), Pair("page_no", "1"));
  }
  std::string TicketFound() const {
    return absl::StrCat(R"({"record_count": 2, "tickets": [{"id": 5, "summary": "mentions )", token_,
                        R"(", "details": "other"}, {"id": 3001, "details": ")", MarkedText("evt"), R"("}]})");
  }
  static constexpr char kNoTicket[] = R"({"record_count": 0, "tickets": []})";
  static constexpr char kFullTicket[] = R"({"id": 3001, "summary": "s", "client_id": 12, "status_id": 1})";

  auto ActionsPage(const char* page_no) const {
    return ElementsAre(Pair("ticket_id", "2884"), Pair("pageinate", "true"), Pair("page_size", "100"),
                       Pair("page_no", page_no));
  }
  std::string ActionFound() const {
    return absl::StrCat(R"({"record_count": 2, "actions": [{"id": 1, "ticket_id": 2884, "note": "body"},
                           {"id": 2, "ticket_id": 2884, "note": ")", MarkedText("triage"), R"("}]})");
  }
  static constexpr char kNoAction[] = R"({"record_count": 1, "actions": [{"id": 1, "note": "body"}]})";

  StrictMock<MockHaloApi> api_;  // fails the test on any upstream call not expected
  HaloPsaOperations actions_{api_};
  CallContext context_{
      std::make_shared<HaloConnection>(
          HaloConnection{.instance_url = "https://acme.halopsa.com", .client_id = "id", .client_secret = "secret"}),
      absl::InfiniteFuture(), nullptr, kKey};
  const std::string token_ = IdempotencyReference(kKey);
};

TEST_F(IdempotentCreateTest, TicketCarriesTheReferenceInItsDetailsHtmlInOnePost) {
  // details_html is what HaloPSA keeps; the plain details is not sent beside it.
  EXPECT_CALL(api_, Post(_, "/api/Tickets",
                         JsonEq(absl::StrCat(R"([{"summary": "s", "details_html": ")", MarkedHtml("evt"),
                                             R"(", "client_id": 12}])")),
                         _))
      .WillOnce(AnswerJson(R"({"id": 3001})"));
  auto response = CreateTicket();
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->id(), 3001);
}

// Each create below has the fixture's key to itself: a key that succeeded
// once makes the next create with it look for that ticket first.
TEST_F(IdempotentCreateTest, ReferenceFollowsDetailsFromExtra) {
  EXPECT_CALL(api_, Post(_, "/api/Tickets",
                         JsonEq(absl::StrCat(R"([{"summary": "a", "details_html": ")", MarkedHtml("from extra"),
                                             R"("}])")),
                         _))
      .WillOnce(AnswerJson(R"({"id": 1})"));
  EXPECT_TRUE(Call(&HaloPsaOperations::CreateTicket, R"({"summary": "a", "details": "x",
      "extra": {"details": "from extra"}})").ok());
}

TEST_F(IdempotentCreateTest, ReferenceStandsAloneWithoutDetails) {
  EXPECT_CALL(api_, Post(_, "/api/Tickets",
                         JsonEq(absl::StrCat(R"([{"summary": "b", "details_html": ")", MarkedHtml(""), R"("}])")), _))
      .WillOnce(AnswerJson(R"({"id": 2})"));
  EXPECT_TRUE(Call(&HaloPsaOperations::CreateTicket, R"({"summary": "b"})").ok());
}

TEST_F(IdempotentCreateTest, ReferenceFollowsTheCallersOwnHtml) {
  // The caller's own HTML is kept as it is, and the plain details is not sent beside it.
  EXPECT_CALL(api_, Post(_, "/api/Tickets",
                         JsonEq(absl::StrCat(R"([{"summary": "c", "details_html": ")",
                                             MarkedHtml("<p>own <b>html</b></p>"), R"("}])")),
                         _))
      .WillOnce(AnswerJson(R"({"id": 3})"));
  EXPECT_TRUE(Call(&HaloPsaOperations::CreateTicket, R"({"summary": "c", "details": "x",
      "extra": {"details_html": "<p>own <b>html</b></p>"}})").ok());
}

TEST_F(IdempotentCreateTest, PlainDetailsBecomeEscapedHtmlWithTheirLineBreaks) {
  EXPECT_CALL(api_, Post(_, "/api/Tickets",
                         JsonEq(absl::StrCat(R"([{"summary": "s", "details_html": ")",
                                             MarkedHtml("a &lt; b &amp;&amp; &quot;c&quot;<br>next line"),
                                             R"("}])")),
                         _))
      .WillOnce(AnswerJson(R"({"id": 1})"));
  EXPECT_TRUE(Call(&HaloPsaOperations::CreateTicket,
                   R"({"summary": "s", "details": "a < b && \"c\"\nnext line"})").ok());
}

TEST_F(IdempotentCreateTest, WithTheMarkerOffTheTicketIsSentUnchangedAndNeverLookedUp) {
  auto connection = std::make_shared<HaloConnection>(*context_.connection);
  connection->idempotency_marker = false;
  context_.connection = connection;
  EXPECT_CALL(api_, Post(_, "/api/Tickets", JsonEq(R"([{"summary": "s", "details": "evt", "client_id": 12}])"), _))
      .Times(2)
      .WillRepeatedly(AnswerStatus(OutcomeUnknown()));
  EXPECT_EQ(CreateTicket().status(), OutcomeUnknown());
  EXPECT_EQ(CreateTicket().status(), OutcomeUnknown());  // the retry writes again: nothing to search for
}

TEST_F(IdempotentCreateTest, WithoutKeyTheTicketIsSentUnchanged) {
  context_.idempotency_key.clear();
  EXPECT_CALL(api_, Post(_, "/api/Tickets", JsonEq(R"([{"summary": "s", "details": "evt", "client_id": 12}])"), _))
      .WillOnce(AnswerStatus(OutcomeUnknown()));
  // Not even an unknown outcome makes a lookup: there is no marker to find.
  EXPECT_EQ(CreateTicket().status(), OutcomeUnknown());
}

TEST_F(IdempotentCreateTest, ASuccessfulCreateIsOnePost) {
  EXPECT_CALL(api_, Post(_, "/api/Tickets", _, _)).WillOnce(AnswerJson(R"({"id": 3001})"));
  EXPECT_EQ(IdOf(CreateTicket()), 3001);
}

// A gRPC caller has no reply cache in front of it: when the service's answer
// to a successful create is lost on the way back, the caller retries with
// the same key and must get the same ticket, not a second one.
TEST_F(IdempotentCreateTest, ARetryAfterASuccessWhoseAnswerWasLostAnswersTheSameTicket) {
  InSequence in_order;
  EXPECT_CALL(api_, Post(_, "/api/Tickets", _, _)).WillOnce(AnswerJson(R"({"id": 3001})"));
  EXPECT_CALL(api_, Get(_, "/api/Tickets", TicketSearch(), _)).WillOnce(AnswerJson(TicketFound()));
  EXPECT_CALL(api_, Get(_, "/api/Tickets/3001", _, _)).WillOnce(AnswerJson(kFullTicket));
  EXPECT_EQ(IdOf(CreateTicket()), 3001);
  EXPECT_EQ(IdOf(CreateTicket()), 3001);  // and no second POST: the API mock is strict
}

TEST_F(IdempotentCreateTest, UnknownOutcomeFoundRightAwayAnswersTheTicketWithoutSecondPost) {
  InSequence in_order;
  EXPECT_CALL(api_, Post(_, "/api/Tickets", _, _)).WillOnce(AnswerStatus(OutcomeUnknown()));
  // Ticket 5 only mentions the token in its summary: not the one.
  EXPECT_CALL(api_, Get(_, "/api/Tickets", TicketSearch(), _)).WillOnce(AnswerJson(TicketFound()));
  EXPECT_CALL(api_, Get(_, "/api/Tickets/3001", ElementsAre(), _)).WillOnce(AnswerJson(kFullTicket));
  auto response = CreateTicket();
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->id(), 3001);
  EXPECT_EQ(response->ticket().fields().at("status_id").number_value(), 1);
}

TEST_F(IdempotentCreateTest, UnknownOutcomeNotFoundIsTheOriginalErrorAndTheRetryFindsTheTicket) {
  InSequence in_order;
  EXPECT_CALL(api_, Post(_, "/api/Tickets", _, _)).WillOnce(AnswerStatus(OutcomeUnknown()));
  EXPECT_CALL(api_, Get(_, "/api/Tickets", TicketSearch(), _)).WillOnce(AnswerJson(kNoTicket));
  EXPECT_CALL(api_, Get(_, "/api/Tickets", TicketSearch(), _)).WillOnce(AnswerJson(TicketFound()));
  EXPECT_CALL(api_, Get(_, "/api/Tickets/3001", _, _)).WillOnce(AnswerJson(kFullTicket));
  EXPECT_EQ(CreateTicket().status(), OutcomeUnknown());
  auto retry = CreateTicket();
  ASSERT_TRUE(retry.ok()) << retry.status();
  EXPECT_EQ(retry->id(), 3001);
}

TEST_F(IdempotentCreateTest, RetryPostsWhenNoEarlierTicketExists) {
  InSequence in_order;
  EXPECT_CALL(api_, Post(_, "/api/Tickets", _, _)).WillOnce(AnswerStatus(OutcomeUnknown()));
  EXPECT_CALL(api_, Get(_, "/api/Tickets", TicketSearch(), _)).WillOnce(AnswerJson(kNoTicket));
  EXPECT_CALL(api_, Get(_, "/api/Tickets", TicketSearch(), _)).WillOnce(AnswerJson(kNoTicket));
  EXPECT_CALL(api_, Post(_, "/api/Tickets", _, _)).WillOnce(AnswerJson(R"({"id": 3002})"));
  EXPECT_EQ(CreateTicket().status(), OutcomeUnknown());
  auto retry = CreateTicket();
  ASSERT_TRUE(retry.ok()) << retry.status();
  EXPECT_EQ(retry->id(), 3002);
}

// A drain's end: the POST's answer will never be seen by this process. The
// key is journaled from before the POST, so the retry (on a replica sharing
// the journal) looks first instead of writing a second ticket.
TEST_F(IdempotentCreateTest, CreateStillAwaitingItsAnswerMakesTheRetryLookFirst) {
  HaloApi::Callback unanswered;
  {
    InSequence in_order;
    EXPECT_CALL(api_, Post(_, "/api/Tickets", _, _))
        .WillOnce([&](const CallContext&, std::string, google::protobuf::Value, HaloApi::Callback done) {
          unanswered = std::move(done);
        });
    EXPECT_CALL(api_, Get(_, "/api/Tickets", TicketSearch(), _)).WillOnce(AnswerJson(TicketFound()));
    EXPECT_CALL(api_, Get(_, "/api/Tickets/3001", _, _)).WillOnce(AnswerJson(kFullTicket));
  }
  v1::CreateTicketRequest request;
  request.set_summary("s");
  actions_.CreateTicket(context_, request, [](absl::StatusOr<v1::CreateTicketResponse>) {});
  ASSERT_TRUE(unanswered != nullptr);

  auto retry = CreateTicket();
  ASSERT_TRUE(retry.ok()) << retry.status();
  EXPECT_EQ(retry->id(), 3001);
  unanswered(absl::CancelledError("stopped"));
}

TEST_F(IdempotentCreateTest, FailedImmediateLookupAnswersTheOriginalError) {
  InSequence in_order;
  EXPECT_CALL(api_, Post(_, "/api/Tickets", _, _)).WillOnce(AnswerStatus(OutcomeUnknown()));
  EXPECT_CALL(api_, Get(_, "/api/Tickets", _, _))
      .WillOnce(AnswerStatus(FromHaloHttpStatus(429, "/api/Tickets", "Rate Limit Reached")));
  EXPECT_EQ(CreateTicket().status(), OutcomeUnknown());
}

TEST_F(IdempotentCreateTest, RetryWhoseLookupFailsWritesNothing) {
  InSequence in_order;
  EXPECT_CALL(api_, Post(_, "/api/Tickets", _, _)).WillOnce(AnswerStatus(OutcomeUnknown()));
  EXPECT_CALL(api_, Get(_, "/api/Tickets", _, _)).WillOnce(AnswerJson(kNoTicket));
  absl::Status unavailable = FromHaloHttpStatus(503, "/api/Tickets", "busy");
  EXPECT_CALL(api_, Get(_, "/api/Tickets", _, _)).WillOnce(AnswerStatus(unavailable));
  EXPECT_EQ(CreateTicket().status(), OutcomeUnknown());
  EXPECT_EQ(CreateTicket().status(), unavailable);
}

TEST_F(IdempotentCreateTest, PastDeadlineSkipsTheImmediateLookupButTheRetryLooksFirst) {
  InSequence in_order;
  EXPECT_CALL(api_, Post(_, "/api/Tickets", _, _)).WillOnce(AnswerStatus(OutcomeUnknown()));
  EXPECT_CALL(api_, Get(_, "/api/Tickets", TicketSearch(), _)).WillOnce(AnswerJson(TicketFound()));
  EXPECT_CALL(api_, Get(_, "/api/Tickets/3001", _, _)).WillOnce(AnswerJson(kFullTicket));
  context_.deadline = absl::InfinitePast();
  EXPECT_EQ(CreateTicket().status(), OutcomeUnknown());
  context_.deadline = absl::InfiniteFuture();
  EXPECT_EQ(IdOf(CreateTicket()), 3001);
}

TEST_F(IdempotentCreateTest, KnownFailuresAreNeitherLookedUpNorJournaled) {
  InSequence in_order;
  absl::Status rate_limited = FromHaloHttpStatus(429, "/api/Tickets", "Rate Limit Reached");
  absl::Status bad_request = FromHaloHttpStatus(400, "/api/Tickets", R"("Please select a Client")");
  EXPECT_CALL(api_, Post(_, "/api/Tickets", _, _)).WillOnce(AnswerStatus(rate_limited));
  EXPECT_CALL(api_, Post(_, "/api/Tickets", _, _)).WillOnce(AnswerStatus(bad_request));
  EXPECT_EQ(CreateTicket().status(), rate_limited);
  EXPECT_EQ(CreateTicket().status(), bad_request);
}

TEST_F(IdempotentCreateTest, ActionCarriesTheReferenceInItsNoteHtml) {
  EXPECT_CALL(api_, Post(_, "/api/Actions",
                         JsonEq(absl::StrCat(R"([{"ticket_id": 2884, "note_html": ")", MarkedHtml("triage"),
                                             R"(", "hiddenfromuser": true, "outcome": "Note"}])")),
                         _))
      .WillOnce(AnswerJson(R"({"id": 2, "ticket_id": 2884})"));
  EXPECT_EQ(IdOf(AddAction()), 2);
}

TEST_F(IdempotentCreateTest, ActionWithUnknownOutcomeFoundAmongTheTicketsActions) {
  InSequence in_order;
  EXPECT_CALL(api_, Post(_, "/api/Actions", _, _)).WillOnce(AnswerStatus(OutcomeUnknown()));
  EXPECT_CALL(api_, Get(_, "/api/Actions", ActionsPage("1"), _)).WillOnce(AnswerJson(ActionFound()));
  auto response = AddAction();
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->id(), 2);
  EXPECT_EQ(response->ticket_id(), 2884);
  EXPECT_EQ(response->action().fields().at("note").string_value(), absl::StrCat("triage\n", token_));
}

TEST_F(IdempotentCreateTest, ActionRetryPostsOnlyWhenTheNoteIsNotThere) {
  InSequence in_order;
  EXPECT_CALL(api_, Post(_, "/api/Actions", _, _)).WillOnce(AnswerStatus(OutcomeUnknown()));
  EXPECT_CALL(api_, Get(_, "/api/Actions", ActionsPage("1"), _)).WillOnce(AnswerJson(kNoAction));
  EXPECT_CALL(api_, Get(_, "/api/Actions", ActionsPage("1"), _)).WillOnce(AnswerJson(kNoAction));
  EXPECT_CALL(api_, Post(_, "/api/Actions", _, _)).WillOnce(AnswerJson(R"({"id": 2, "ticket_id": 2884})"));
  EXPECT_EQ(AddAction().status(), OutcomeUnknown());
  EXPECT_EQ(IdOf(AddAction()), 2);
}

TEST_F(IdempotentCreateTest, ARetriedNoteAfterASuccessAnswersTheSameNote) {
  InSequence in_order;
  EXPECT_CALL(api_, Post(_, "/api/Actions", _, _)).WillOnce(AnswerJson(R"({"id": 2, "ticket_id": 2884})"));
  EXPECT_CALL(api_, Get(_, "/api/Actions", ActionsPage("1"), _)).WillOnce(AnswerJson(ActionFound()));
  EXPECT_EQ(IdOf(AddAction()), 2);
  EXPECT_EQ(IdOf(AddAction()), 2);
}

// A full first page (actions 1-100, none marked) of `record_count` actions.
std::string UnmarkedActionsPage(int record_count) {
  std::string page = absl::StrCat(R"({"record_count": )", record_count, R"(, "actions": [)");
  for (int id = 1; id <= 100; ++id) absl::StrAppend(&page, id > 1 ? "," : "", R"({"id": )", id, "}");
  absl::StrAppend(&page, "]}");
  return page;
}

TEST_F(IdempotentCreateTest, ActionLookupReadsLaterPages) {
  const std::string first_page = UnmarkedActionsPage(150);
  InSequence in_order;
  EXPECT_CALL(api_, Post(_, "/api/Actions", _, _)).WillOnce(AnswerStatus(OutcomeUnknown()));
  EXPECT_CALL(api_, Get(_, "/api/Actions", ActionsPage("1"), _)).WillOnce(AnswerJson(first_page));
  EXPECT_CALL(api_, Get(_, "/api/Actions", ActionsPage("2"), _))
      .WillOnce(AnswerJson(absl::StrCat(R"({"record_count": 150, "actions": [{"id": 150, "ticket_id": 2884,
                                        "note": ")", MarkedText("triage"), R"("}]})")));
  EXPECT_EQ(IdOf(AddAction()), 150);
}

TEST_F(IdempotentCreateTest, InconclusiveLookupWritesNothing) {
  const std::string unmarked_page = UnmarkedActionsPage(5000);
  InSequence in_order;
  EXPECT_CALL(api_, Post(_, "/api/Actions", _, _)).WillOnce(AnswerStatus(OutcomeUnknown()));
  EXPECT_CALL(api_, Get(_, "/api/Actions", _, _)).Times(20).WillRepeatedly(AnswerJson(unmarked_page));
  EXPECT_EQ(AddAction().status(), OutcomeUnknown());
  // The retry gives up after a bounded search, still unknown, without a POST.
  absl::Status retry = AddAction().status();
  EXPECT_EQ(retry.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(testing::ReasonOf(retry), kReasonUpstreamOutcomeUnknown);
}

TEST_F(IdempotentCreateTest, KeyOfAnUnknownTicketDoesNotMakeAnActionLookUp) {
  InSequence in_order;
  EXPECT_CALL(api_, Post(_, "/api/Tickets", _, _)).WillOnce(AnswerStatus(OutcomeUnknown()));
  EXPECT_CALL(api_, Get(_, "/api/Tickets", _, _)).WillOnce(AnswerJson(kNoTicket));
  EXPECT_CALL(api_, Post(_, "/api/Actions", _, _)).WillOnce(AnswerJson(R"({"id": 2, "ticket_id": 2884})"));
  EXPECT_EQ(CreateTicket().status(), OutcomeUnknown());
  EXPECT_TRUE(AddAction().ok());
}

}  // namespace
}  // namespace halopsa

namespace halopsa {
namespace {

// The create's conversation with its journal, whichever holds it.
class JournalTest : public ::testing::Test {
 protected:
  absl::StatusOr<v1::CreateTicketResponse> CreateTicket() {
    v1::CreateTicketRequest request;
    request.set_summary("s");
    return RunAction<v1::CreateTicketResponse>(
        [&](Reply<v1::CreateTicketResponse> done) { actions_.CreateTicket(context_, request, std::move(done)); });
  }

  StrictMock<MockHaloApi> api_;
  StrictMock<MockOutcomeJournal> journal_;
  HaloPsaOperations actions_{api_, SharedState{.journal = &journal_}};
  CallContext context_{
      std::make_shared<HaloConnection>(HaloConnection{"https://acme.halopsa.com", "id", "secret", "", "all", ""}),
      absl::InfiniteFuture(), nullptr, kKey};
  const std::string journal_key_ = absl::StrCat("/api/Tickets\nhttps://acme.halopsa.com\n", kKey);
};

TEST_F(JournalTest, WithoutTheJournalNothingIsWritten) {
  absl::Status unavailable =
      WithErrorInfo(absl::UnavailableError("shared state (Redis) unavailable"), kReasonSharedStateUnavailable);
  EXPECT_CALL(journal_, Begin(journal_key_, context_.deadline, _)).WillOnce(AnswerBegin(unavailable));
  EXPECT_EQ(CreateTicket().status(), unavailable);  // and no POST: the API mock is strict
}

TEST_F(JournalTest, AnAttemptThatNeverFinishedMakesTheNextLookBeforeWriting) {
  InSequence in_order;
  EXPECT_CALL(journal_, Begin(journal_key_, _, _)).WillOnce(AnswerBegin(true));
  EXPECT_CALL(api_, Get(_, "/api/Tickets", _, _)).WillOnce(AnswerJson(R"({"record_count": 0, "tickets": []})"));
  EXPECT_CALL(api_, Post(_, "/api/Tickets", _, _)).WillOnce(AnswerJson(R"({"id": 9})"));
  EXPECT_EQ(IdOf(CreateTicket()), 9);
}

// The key stays marked until its TTL (the strict journal mock refuses a
// Remove): a retry whose answer was lost after this success looks first.
TEST_F(JournalTest, ASuccessKeepsTheKeyMarked) {
  EXPECT_CALL(journal_, Begin(journal_key_, _, _)).WillOnce(AnswerBegin(false));
  EXPECT_CALL(api_, Post(_, "/api/Tickets", _, _)).WillOnce(AnswerJson(R"({"id": 9})"));
  EXPECT_EQ(IdOf(CreateTicket()), 9);
}

TEST_F(JournalTest, AKnownFailureForgetsTheKeyAndAnUnknownOutcomeKeepsIt) {
  InSequence in_order;
  EXPECT_CALL(journal_, Begin(journal_key_, _, _)).WillOnce(AnswerBegin(false));
  EXPECT_CALL(api_, Post(_, "/api/Tickets", _, _))
      .WillOnce(AnswerStatus(FromHaloHttpStatus(400, "/api/Tickets", "no client")));
  EXPECT_CALL(journal_, Remove(journal_key_));
  EXPECT_CALL(journal_, Begin(journal_key_, _, _)).WillOnce(AnswerBegin(false));
  EXPECT_CALL(api_, Post(_, "/api/Tickets", _, _)).WillOnce(AnswerStatus(OutcomeUnknown()));
  EXPECT_CALL(journal_, Add(journal_key_));
  EXPECT_CALL(api_, Get(_, "/api/Tickets", _, _)).WillOnce(AnswerJson(R"({"record_count": 0, "tickets": []})"));
  EXPECT_EQ(CreateTicket().status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(CreateTicket().status(), OutcomeUnknown());
}

}  // namespace
}  // namespace halopsa

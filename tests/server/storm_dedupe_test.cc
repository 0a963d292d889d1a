#include "server/storm_dedupe.h"

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "adapters/halopsa/halo_errors.h"
#include "server/dedupe_note.h"
#include "server/error_mapping.h"
#include "server/halopsa_operations.h"
#include "tests/server/mock_halo_api.h"
#include "tests/server/mock_shared_state.h"
#include "tests/testing/callback_result.h"
#include "tests/testing/error_details.h"

namespace halopsa {
namespace {

using ::testing::_;
using ::testing::AllOf;
using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::Pair;
using ::testing::StrictMock;
using testing::AnswerJson;
using testing::AnswerStatus;
using testing::MockHaloApi;
using testing::MockLinkLocks;

using Result = absl::StatusOr<v1::CreateTicketResponse>;

constexpr absl::string_view kKey = "NEW_PROCESS-host1";
const absl::Time kStart = absl::FromUnixSeconds(1'800'000'000);

std::string Marker(int client_id = 12) { return DedupeMarker(client_id, kKey); }

// A list row as HaloPSA answers it: the plain details carry the line.
std::string Row(int id, absl::Time opened, int client_id = 12) {
  return absl::StrCat(R"({"id": )", id, R"(, "summary": "first", "client_id": )", client_id,
                      R"(, "status_id": 1, "details": "body\n)", DedupeLine(Marker(client_id), opened), R"("})");
}

std::string List(const std::vector<std::string>& rows) {
  return absl::StrCat(R"({"record_count": )", rows.size(), R"(, "tickets": [)", absl::StrJoin(rows, ","), "]}");
}

std::string NoteHtml(const google::protobuf::Value& body) {
  return StringField(body.list_value().values(0).struct_value(), "note_html");
}

// The response of an answer that must be a success (empty otherwise).
v1::CreateTicketResponse Created(const absl::StatusOr<v1::CreateTicketResponse>& answer) {
  EXPECT_TRUE(answer.ok()) << answer.status();
  return answer.value_or(v1::CreateTicketResponse());
}

class StormDedupeTest : public ::testing::Test {
 protected:
  StormDedupeTest() { Reset(); }

  // A fresh service over the same HaloPSA, as after a restart.
  void Reset(DedupeOptions options = {}) {
    dedupe_.reset();
    creates_ = std::make_unique<IdempotentCreates>(api_, journal_);
    dedupe_ = std::make_unique<StormDedupe>(api_, locks_, *creates_, options, [this] { return now_; });
  }

  v1::CreateTicketRequest Request(absl::string_view summary, int client_id = 12) {
    v1::CreateTicketRequest request;
    request.set_summary(std::string(summary));
    request.set_details(absl::StrCat(summary, " details"));
    request.set_client_id(client_id);
    request.set_dedupe_key(std::string(kKey));
    return request;
  }

  CallContext Context() {
    auto connection = std::make_shared<HaloConnection>(HaloConnection{"https://acme.halopsa.com", "id", "secret"});
    return CallContext{connection, now_ + absl::Seconds(30), nullptr, ""};
  }

  // Starts a call.
  testing::CallbackResult<Result> Call(const v1::CreateTicketRequest& request) {
    testing::CallbackResult<Result> result(absl::StrCat("the answer to ", request.summary()));
    dedupe_->CreateTicket(Context(), request, result.Callback());
    return result;
  }

  // A call the mocks answer at once.
  Result CallNow(const v1::CreateTicketRequest& request) { return Call(request).Await(absl::ZeroDuration()); }

  void ExpectListing(const std::string& answer, int client_id = 12) {
    EXPECT_CALL(api_, Get(_, "/api/Tickets",
                          AllOf(Contains(Pair("search_details", Marker(client_id))), Contains(Pair("open_only", "true")),
                                Contains(Pair("client_id", absl::StrCat(client_id))),
                                Contains(Pair("orderdesc", "true"))),
                          _))
        .WillOnce(AnswerJson(answer));
  }

  // The next ticket create waits for the test to answer it: calls arriving
  // meanwhile find their key busy.
  HaloApi::Callback HoldTicketCreate() {
    auto held = std::make_shared<HaloApi::Callback>();
    EXPECT_CALL(api_, Post(_, "/api/Tickets", _, _)).WillOnce([held](auto&, auto, auto, HaloApi::Callback done) {
      *held = std::move(done);
    });
    return [held](absl::StatusOr<google::protobuf::Value> answer) { (*held)(std::move(answer)); };
  }

  absl::Time now_ = kStart;
  StrictMock<MockHaloApi> api_;
  InMemoryOutcomeJournal journal_;
  LocalLinkLocks locks_;
  std::unique_ptr<IdempotentCreates> creates_;
  std::unique_ptr<StormDedupe> dedupe_;
};

TEST_F(StormDedupeTest, FirstDetectionOpensATicketEndingWithTheDatedDedupeLine) {
  ExpectListing(List({}));
  EXPECT_CALL(api_, Post(_, "/api/Tickets", _, _)).WillOnce([](auto&, auto, google::protobuf::Value body, auto done) {
    const auto& ticket = body.list_value().values(0).struct_value();
    EXPECT_EQ(StringField(ticket, "details_html"),
              absl::StrCat("first details<br>", DedupeLine(Marker(), kStart)));
    EXPECT_FALSE(ticket.fields().contains("details"));
    EXPECT_FALSE(ticket.fields().contains("dedupe_key"));
    done(testing::Json(R"({"id": 501, "summary": "first"})"));
  });
  Result result = CallNow(Request("first"));
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->id(), 501);
  EXPECT_FALSE(result->deduplicated());
}

TEST_F(StormDedupeTest, NextDetectionBecomesAPrivateNoteOnThatTicketWithoutListingAgain) {
  ExpectListing(List({}));
  EXPECT_CALL(api_, Post(_, "/api/Tickets", _, _)).WillOnce(AnswerJson(R"({"id": 501, "summary": "first"})"));
  ASSERT_TRUE(CallNow(Request("first")).ok());

  now_ += absl::Seconds(5);
  EXPECT_CALL(api_, Post(_, "/api/Actions", _, _)).WillOnce([](auto&, auto, google::protobuf::Value body, auto done) {
    const auto& action = body.list_value().values(0).struct_value();
    EXPECT_EQ(IntField(action, "ticket_id"), 501);
    EXPECT_TRUE(action.fields().at("hiddenfromuser").bool_value());
    EXPECT_EQ(StringField(action, "outcome"), "Note");
    EXPECT_THAT(StringField(action, "note_html"),
                AllOf(HasSubstr("1 more detection"), HasSubstr("2027-01-15 08:00:05 UTC — second"),
                      HasSubstr("second details")));
    done(testing::Json(R"({"id": 2, "ticket_id": 501})"));
  });
  Result result = CallNow(Request("second"));
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->id(), 501);
  EXPECT_TRUE(result->deduplicated());
  EXPECT_EQ(StringField(result->ticket(), "summary"), "first");
}

TEST_F(StormDedupeTest, AfterARestartTheOpenTicketIsFoundInHaloPsa) {
  Reset();  // nothing remembered
  ExpectListing(List({Row(77, kStart - absl::Minutes(20))}));
  EXPECT_CALL(api_, Post(_, "/api/Actions", _, _)).WillOnce(AnswerJson(R"({"id": 3, "ticket_id": 77})"));
  Result result = CallNow(Request("again"));
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->id(), 77);
  EXPECT_TRUE(result->deduplicated());
}

TEST_F(StormDedupeTest, ATicketOlderThanTheWindowGetsASuccessor) {
  v1::CreateTicketRequest request = Request("late");
  request.set_dedupe_window_min(15);
  ExpectListing(List({Row(77, kStart - absl::Minutes(15))}));
  EXPECT_CALL(api_, Post(_, "/api/Tickets", _, _)).WillOnce(AnswerJson(R"({"id": 78})"));
  Result result = CallNow(request);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->id(), 78);
  EXPECT_FALSE(result->deduplicated());
}

TEST_F(StormDedupeTest, RowsWithoutTheLineAreNotTaken) {
  ExpectListing(R"({"record_count": 1, "tickets": [{"id": 9, "details": "mentions nothing"}]})");
  EXPECT_CALL(api_, Post(_, "/api/Tickets", _, _)).WillOnce(AnswerJson(R"({"id": 10})"));
  EXPECT_EQ(Created(CallNow(Request("x"))).id(), 10);
}

TEST_F(StormDedupeTest, AnotherClientWithTheSameKeyGetsItsOwnTicket) {
  ExpectListing(List({}), 12);
  ExpectListing(List({}), 13);
  EXPECT_CALL(api_, Post(_, "/api/Tickets", _, _))
      .WillOnce(AnswerJson(R"({"id": 1})"))
      .WillOnce(AnswerJson(R"({"id": 2})"));
  EXPECT_EQ(Created(CallNow(Request("a", 12))).id(), 1);
  EXPECT_EQ(Created(CallNow(Request("b", 13))).id(), 2);
}

TEST_F(StormDedupeTest, ConcurrentDetectionsOpenOneTicketAndShareOneNote) {
  ExpectListing(List({}));
  HaloApi::Callback create_answer = HoldTicketCreate();
  auto first = Call(Request("d0"));
  std::vector<testing::CallbackResult<Result>> others;
  for (int i = 1; i <= 5; ++i) {
    now_ += absl::Seconds(1);
    others.push_back(Call(Request(absl::StrCat("d", i))));
  }
  EXPECT_FALSE(first.fired());
  std::string note;
  EXPECT_CALL(api_, Post(_, "/api/Actions", _, _)).WillOnce([&](auto&, auto, google::protobuf::Value body, auto done) {
    note = NoteHtml(body);
    done(testing::Json(R"({"id": 2, "ticket_id": 501})"));
  });
  create_answer(testing::Json(R"({"id": 501})"));

  EXPECT_FALSE(Created(first.Await()).deduplicated());
  EXPECT_THAT(note, HasSubstr("5 more detections"));
  EXPECT_THAT(note, Not(HasSubstr("d0")));
  for (int i = 1; i <= 5; ++i) {
    EXPECT_THAT(note, HasSubstr(absl::StrCat("2027-01-15 08:00:0", i, " UTC — d", i, "<br>d", i, " details")));
    const v1::CreateTicketResponse answer = Created(others[i - 1].Await());
    EXPECT_EQ(answer.id(), 501);
    EXPECT_TRUE(answer.deduplicated());
  }
  EXPECT_EQ(dedupe_->keys(), 1u);
}

TEST_F(StormDedupeTest, DetectionsArrivingDuringANoteJoinTheNextOne) {
  ExpectListing(List({Row(77, kStart)}));
  std::vector<HaloApi::Callback> note_answers;
  std::vector<std::string> notes;
  EXPECT_CALL(api_, Post(_, "/api/Actions", _, _))
      .Times(2)
      .WillRepeatedly([&](auto&, auto, google::protobuf::Value body, HaloApi::Callback done) {
        notes.push_back(NoteHtml(body));
        note_answers.push_back(std::move(done));
      });
  auto first = Call(Request("n0"));
  std::vector<testing::CallbackResult<Result>> later;
  for (int i = 1; i <= 4; ++i) later.push_back(Call(Request(absl::StrCat("n", i))));
  ASSERT_EQ(note_answers.size(), 1u);
  note_answers[0](testing::Json(R"({"id": 5})"));
  ASSERT_EQ(note_answers.size(), 2u);  // the four waiting ones, together
  EXPECT_THAT(notes[1], AllOf(HasSubstr("4 more detections"), HasSubstr("n1"), HasSubstr("n4")));
  note_answers[1](testing::Json(R"({"id": 6})"));
  EXPECT_TRUE(Created(first.Await()).deduplicated());
  for (const auto& answer : later) EXPECT_EQ(Created(answer.Await()).id(), 77);
}

TEST_F(StormDedupeTest, MergedNotesStayWithinTheirBoundAndKeepEveryDetection) {
  DedupeOptions options;
  options.max_note_bytes = 1200;
  Reset(options);
  ExpectListing(List({Row(77, kStart)}));
  std::vector<HaloApi::Callback> pending;
  std::vector<std::string> notes;
  EXPECT_CALL(api_, Post(_, "/api/Actions", _, _))
      .WillRepeatedly([&](auto&, auto, google::protobuf::Value body, HaloApi::Callback done) {
        notes.push_back(NoteHtml(body));
        pending.push_back(std::move(done));
      });
  auto blocker = Call(Request("blocker"));
  std::vector<testing::CallbackResult<Result>> storm;
  for (int i = 0; i < 12; ++i) storm.push_back(Call(Request(absl::StrCat("storm-", i, "-", std::string(200, 'x')))));
  for (size_t answered = 0; answered < pending.size(); ++answered) pending[answered](testing::Json(R"({"id": 1})"));

  EXPECT_GT(notes.size(), 3u);   // 12 detections of ~430 bytes do not fit one note
  EXPECT_LT(notes.size(), 13u);  // but they are merged
  for (const std::string& note : notes) EXPECT_LE(note.size(), options.max_note_bytes);
  for (int i = 0; i < 12; ++i) {
    const std::string summary = absl::StrCat("storm-", i, "-", std::string(200, 'x'));
    int holding = 0;
    for (const std::string& note : notes) {
      holding += absl::StrContains(note, absl::StrCat(" UTC — ", summary, "<br>", summary, " details"));
    }
    EXPECT_EQ(holding, 1) << i;  // whole, in exactly one note
    EXPECT_TRUE(Created(storm[i].Await()).deduplicated());
  }
}

TEST_F(StormDedupeTest, OneHugeDetectionIsCutToTheBound) {
  DedupeOptions options;
  options.max_note_bytes = 1000;
  Reset(options);
  ExpectListing(List({Row(77, kStart)}));
  std::string note;
  EXPECT_CALL(api_, Post(_, "/api/Actions", _, _)).WillOnce([&](auto&, auto, google::protobuf::Value body, auto done) {
    note = NoteHtml(body);
    done(testing::Json(R"({"id": 1})"));
  });
  v1::CreateTicketRequest request = Request("huge");
  request.set_details(std::string(5000, '<'));
  ASSERT_TRUE(CallNow(request).ok());
  EXPECT_LE(note.size(), options.max_note_bytes);
  EXPECT_TRUE(absl::EndsWith(note, "&lt;…")) << note.substr(note.size() - 20);
}

TEST_F(StormDedupeTest, AfterTheRecheckIntervalAClosedTicketIsNotNotedAgain) {
  ExpectListing(List({}));
  EXPECT_CALL(api_, Post(_, "/api/Tickets", _, _))
      .WillOnce(AnswerJson(R"({"id": 501})"))
      .WillOnce(AnswerJson(R"({"id": 502})"));
  ASSERT_EQ(Created(CallNow(Request("first"))).id(), 501);
  now_ += DedupeOptions().recheck_after;
  ExpectListing(List({}));  // a technician closed 501: open_only leaves it out
  Result result = CallNow(Request("after close"));
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->id(), 502);
  EXPECT_FALSE(result->deduplicated());
}

TEST_F(StormDedupeTest, ARememberedTicketThatWasDeletedIsLookedUpAgain) {
  ExpectListing(List({}));
  EXPECT_CALL(api_, Post(_, "/api/Tickets", _, _))
      .WillOnce(AnswerJson(R"({"id": 501})"))
      .WillOnce(AnswerJson(R"({"id": 502})"));
  ASSERT_EQ(Created(CallNow(Request("first"))).id(), 501);
  EXPECT_CALL(api_, Post(_, "/api/Actions", _, _))
      .WillOnce(AnswerStatus(FromHaloHttpStatus(404, "/api/Actions", R"("Ticket 501 not found")")));
  ExpectListing(List({}));
  Result result = CallNow(Request("second"));
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->id(), 502);
}

TEST_F(StormDedupeTest, ConcurrentCallsTakeTheKeysLockWithTheirDeadline) {
  StrictMock<MockLinkLocks> locks;
  StormDedupe dedupe(api_, locks, *creates_, {}, [this] { return now_; });
  EXPECT_CALL(locks, Acquire(absl::StrCat("https://acme.halopsa.com\ndedupe\n", Marker()), now_ + absl::Seconds(30), _))
      .WillOnce([](auto&, auto, LinkLocks::Acquired acquired) {
        acquired(WithErrorInfo(absl::UnavailableError("Redis is down"), kReasonSharedStateUnavailable));
      });
  testing::CallbackResult<Result> result("the answer without the key's lock");
  dedupe.CreateTicket(Context(), Request("x"), result.Callback());
  EXPECT_EQ(testing::ReasonOf(result.Await().status()), kReasonSharedStateUnavailable);
}

TEST_F(StormDedupeTest, TooManyWaitingDetectionsOfOneKeyAreRefusedRetriably) {
  DedupeOptions options;
  options.max_waiting_per_key = 2;
  Reset(options);
  ExpectListing(List({}));
  HaloApi::Callback create_answer = HoldTicketCreate();
  Call(Request("running"));
  Call(Request("waits 1"));
  Call(Request("waits 2"));
  Result refused = CallNow(Request("one too many"));
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(testing::ReasonOf(refused.status()), kReasonOverloaded);
  EXPECT_TRUE(GetRetryDelay(refused.status()).has_value());
  EXPECT_CALL(api_, Post(_, "/api/Actions", _, _)).WillOnce(AnswerJson(R"({"id": 2})"));
  create_answer(testing::Json(R"({"id": 501})"));
}

TEST_F(StormDedupeTest, AFailedCreateFailsEveryDetectionOfTheBatch) {
  ExpectListing(List({}));
  HaloApi::Callback create_answer = HoldTicketCreate();
  auto first = Call(Request("a"));
  auto second = Call(Request("b"));
  ExpectListing(List({}));
  EXPECT_CALL(api_, Post(_, "/api/Tickets", _, _))
      .WillOnce(AnswerStatus(FromHaloHttpStatus(429, "/api/Tickets", "Rate Limit Reached")));
  create_answer(FromHaloHttpStatus(429, "/api/Tickets", "Rate Limit Reached"));
  EXPECT_EQ(first.Await().status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(second.Await().status().code(), absl::StatusCode::kUnavailable);
}

TEST(HaloPsaOperationsDedupeTest, OnlyANonEmptyDedupeKeyDeduplicates) {
  StrictMock<MockHaloApi> api;
  HaloPsaOperations actions(api);
  auto connection = std::make_shared<HaloConnection>(HaloConnection{"https://acme.halopsa.com", "id", "secret"});
  CallContext context{connection, absl::Now() + absl::Seconds(30), nullptr, ""};
  v1::CreateTicketRequest request;
  request.set_summary("s");
  request.set_dedupe_key("");
  request.set_dedupe_window_min(30);  // ignored without a key
  EXPECT_CALL(api, Post(_, "/api/Tickets", _, _)).WillOnce(AnswerJson(R"({"id": 1})"));
  auto result = testing::RunAction<v1::CreateTicketResponse>(
      [&](auto done) { actions.CreateTicket(context, request, std::move(done)); });
  EXPECT_FALSE(Created(result).deduplicated());

  request.set_dedupe_window_min(0);
  auto refused = testing::RunAction<v1::CreateTicketResponse>(
      [&](auto done) { actions.CreateTicket(context, request, std::move(done)); });
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(refused.status().message()), HasSubstr("dedupe_window_min"));
}

}  // namespace
}  // namespace halopsa

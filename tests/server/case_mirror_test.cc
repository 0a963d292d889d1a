#include "server/case_mirror.h"

#include <string>

#include <gmock/gmock.h>
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "server/case_line.h"
#include "server/error_mapping.h"
#include "server/halopsa_operations.h"
#include "tests/server/mock_halo_api.h"
#include "tests/server/mock_shared_state.h"

namespace halopsa {
namespace {

using ::testing::_;
using ::testing::ElementsAre;
using ::testing::Pair;
using ::testing::StrictMock;
using testing::AnswerJson;
using testing::JsonEq;
using testing::MockHaloApi;
using testing::MockLinkLocks;
using testing::RunAction;

constexpr char kLine[] = "ext-halopsa case LimaCharlie c-1";
constexpr char kNoTicket[] = R"({"record_count": 0, "tickets": []})";
// The case's ticket as HaloPSA lists it.
constexpr char kListed[] =
    R"({"record_count": 2, "tickets": [
         {"id": 3000, "details": "x\next-halopsa case LimaCharlie c-12", "status_id": 1},
         {"id": 3001, "details": "evt\next-halopsa case LimaCharlie c-1",
          "details_html": "evt<br>ext-halopsa case LimaCharlie c-1", "status_id": 1, "priority_id": 3}]})";

class CaseMirrorTest : public ::testing::Test {
 protected:
  absl::StatusOr<v1::MirrorCaseResponse> Mirror(const std::string& json) {
    v1::MirrorCaseRequest request;
    EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(json, &request).ok()) << json;
    return RunAction<v1::MirrorCaseResponse>(
        [&](Reply<v1::MirrorCaseResponse> done) { operations_.MirrorCase(context_, request, std::move(done)); });
  }

  void ExpectLookup(const char* answer, const std::string& line = kLine) {
    EXPECT_CALL(api_, Get(_, "/api/Tickets",
                          ElementsAre(Pair("search_details", line), Pair("order", "id"), Pair("orderdesc", "false"),
                                      Pair("pageinate", "true"), Pair("page_size", "10"), Pair("page_no", "1")),
                          _))
        .WillOnce(AnswerJson(answer));
  }

  StrictMock<MockHaloApi> api_;
  HaloPsaOperations operations_{api_};
  std::shared_ptr<HaloConnection> connection_ = std::make_shared<HaloConnection>(
      HaloConnection{.instance_url = "https://acme.halopsa.com", .client_id = "id", .client_secret = "secret"});
  CallContext context_{connection_, absl::InfiniteFuture(), nullptr, ""};
};

TEST_F(CaseMirrorTest, TheFirstMirrorCreatesTheTicketEndingWithTheCaseLine) {
  ExpectLookup(kNoTicket);
  EXPECT_CALL(api_, Post(_, "/api/Tickets",
                         JsonEq(R"([{"summary": "LimaCharlie case c-1", "priority_id": 3,
                                     "details_html": "evt<br>ext-halopsa case LimaCharlie c-1"}])"),
                         _))
      .WillOnce(AnswerJson(R"({"id": 3001})"));
  auto mirrored = Mirror(R"({"case_id": "c-1", "details": "evt", "priority_id": 3})");
  ASSERT_TRUE(mirrored.ok()) << mirrored.status();
  EXPECT_EQ(mirrored->ticket_id(), 3001);
  EXPECT_TRUE(mirrored->created());
  EXPECT_THAT(mirrored->updated_fields(), ::testing::UnorderedElementsAre("summary", "details", "priority_id"));
}

TEST_F(CaseMirrorTest, ABodyGivenInExtraKeepsTheCaseLineToo) {
  ExpectLookup(kListed);
  EXPECT_CALL(api_, Post(_, "/api/Tickets",
                         JsonEq(R"([{"id": 3001, "details_html": "new body<br>ext-halopsa case LimaCharlie c-1"}])"), _))
      .WillOnce(AnswerJson(R"({"id": 3001})"));
  auto mirrored = Mirror(R"({"case_id": "c-1", "extra": {"details": "new body"}})");
  ASSERT_TRUE(mirrored.ok()) << mirrored.status();
  EXPECT_THAT(mirrored->updated_fields(), ElementsAre("details"));
}

TEST_F(CaseMirrorTest, ALaterMirrorUpdatesTheCasesTicketWithWhatDiffersOnly) {
  // 3000 carries case c-12, which HaloPSA's substring search also finds.
  ExpectLookup(kListed);
  EXPECT_CALL(api_, Post(_, "/api/Tickets", JsonEq(R"([{"id": 3001, "status_id": 2}])"), _))
      .WillOnce(AnswerJson(R"({"id": 3001, "status_id": 2})"));
  auto mirrored = Mirror(R"({"case_id": "c-1", "details": "evt", "priority_id": 3, "status_id": 2})");
  ASSERT_TRUE(mirrored.ok()) << mirrored.status();
  EXPECT_EQ(mirrored->ticket_id(), 3001);
  EXPECT_FALSE(mirrored->created());
  EXPECT_THAT(mirrored->updated_fields(), ElementsAre("status_id"));
}

TEST_F(CaseMirrorTest, AMirrorThatChangesNothingWritesNothing) {
  ExpectLookup(kListed);
  auto mirrored = Mirror(R"({"case_id": "c-1", "priority_id": 3})");
  ASSERT_TRUE(mirrored.ok()) << mirrored.status();
  EXPECT_EQ(mirrored->ticket_id(), 3001);
  EXPECT_TRUE(mirrored->updated_fields().empty());
}

TEST_F(CaseMirrorTest, ACaseWhoseIdOnlyStartsAnotherCasesGetsItsOwnTicket) {
  ExpectLookup(R"({"record_count": 1, "tickets": [{"id": 3000, "details": "ext-halopsa case LimaCharlie c-1x"}]})");
  EXPECT_CALL(api_, Post(_, "/api/Tickets", _, _)).WillOnce(AnswerJson(R"({"id": 3002})"));
  auto mirrored = Mirror(R"({"case_id": "c-1"})");
  ASSERT_TRUE(mirrored.ok()) << mirrored.status();
  EXPECT_EQ(mirrored->ticket_id(), 3002);
  EXPECT_TRUE(mirrored->created());
}

TEST_F(CaseMirrorTest, TheNoteIsAPrivateActionOnTheCasesTicket) {
  ExpectLookup(kListed);
  EXPECT_CALL(api_, Post(_, "/api/Actions",
                         JsonEq(R"([{"ticket_id": 3001, "note": "triaged", "hiddenfromuser": true,
                                     "outcome": "Note"}])"),
                         _))
      .WillOnce(AnswerJson(R"({"id": 4, "ticket_id": 3001})"));
  auto mirrored = Mirror(R"({"case_id": "c-1", "note": "triaged"})");
  ASSERT_TRUE(mirrored.ok()) << mirrored.status();
  EXPECT_THAT(mirrored->updated_fields(), ElementsAre("note"));
}

TEST_F(CaseMirrorTest, TheLabelSettingScopesTheCaseLine) {
  connection_->case_label = "AcmeSOC";
  ExpectLookup(kNoTicket, "ext-halopsa case AcmeSOC c-1");
  EXPECT_CALL(api_, Post(_, "/api/Tickets",
                         JsonEq(R"([{"summary": "s", "details_html": "ext-halopsa case AcmeSOC c-1"}])"), _))
      .WillOnce(AnswerJson(R"({"id": 3003})"));
  EXPECT_TRUE(Mirror(R"({"case_id": "c-1", "summary": "s"})").ok());
}

TEST_F(CaseMirrorTest, ACreateWhoseAnswerIsLostIsFoundByItsReferenceLineInsteadOfFailing) {
  context_.idempotency_key = "lc-callback-1";
  const std::string reference = IdempotencyReference("lc-callback-1");
  ExpectLookup(kNoTicket);
  EXPECT_CALL(api_, Post(_, "/api/Tickets", _, _))
      .WillOnce(testing::AnswerStatus(WithErrorInfo(absl::UnavailableError("connection lost after sending"),
                                                    kReasonUpstreamOutcomeUnknown)));
  EXPECT_CALL(api_, Get(_, "/api/Tickets", ::testing::Contains(Pair("search_details", reference)), _))
      .WillOnce(AnswerJson(absl::StrCat(R"({"record_count": 1, "tickets": [{"id": 3001, "details": ")", kLine,
                                        R"(\n)", reference, R"("}]})")));
  EXPECT_CALL(api_, Get(_, "/api/Tickets/3001", _, _)).WillOnce(AnswerJson(R"({"id": 3001})"));
  auto mirrored = Mirror(R"({"case_id": "c-1"})");
  ASSERT_TRUE(mirrored.ok()) << mirrored.status();
  EXPECT_EQ(mirrored->ticket_id(), 3001);
  EXPECT_TRUE(mirrored->created());
}

TEST_F(CaseMirrorTest, InvalidCaseIdsAreRefusedBeforeAnythingGoesUpstream) {
  EXPECT_EQ(Mirror(R"({"summary": "s"})").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Mirror(R"({"case_id": "has space"})").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(CaseMirrorLockTest, MirrorsOfOneCaseTakeTheCasesLockAroundLookupAndWrite) {
  StrictMock<MockHaloApi> api;
  StrictMock<MockLinkLocks> locks;
  InMemoryOutcomeJournal journal;
  HaloPsaOperations operations(api, SharedState{.journal = &journal, .link_locks = &locks});
  CallContext context{std::make_shared<HaloConnection>(HaloConnection{.instance_url = "https://acme.halopsa.com"}),
                      absl::InfiniteFuture(), nullptr, ""};
  EXPECT_CALL(locks, Acquire(absl::StrCat("case\nhttps://acme.halopsa.com\n", kLine), _, _))
      .WillOnce([](const std::string&, absl::Time, LinkLocks::Acquired acquired) {
        acquired(absl::DeadlineExceededError("held by another mirror"));
      });
  v1::MirrorCaseRequest request;
  request.set_case_id("c-1");
  auto mirrored = RunAction<v1::MirrorCaseResponse>(
      [&](Reply<v1::MirrorCaseResponse> done) { operations.MirrorCase(context, request, std::move(done)); });
  EXPECT_EQ(mirrored.status().code(), absl::StatusCode::kDeadlineExceeded);  // and nothing went upstream
}

TEST(CaseLineTest, ReadsTheExactCaseIdOfTheLabelsLine) {
  EXPECT_EQ(CaseIdIn("body\next-halopsa case LimaCharlie c-1\nref", "LimaCharlie"), "c-1");
  EXPECT_EQ(CaseIdIn("evt<br>ext-halopsa case LimaCharlie c-1<br>x", "LimaCharlie"), "c-1");
  EXPECT_EQ(CaseIdIn("ext-halopsa case OtherLimaCharlie c-1", "LimaCharlie"), std::nullopt);
  EXPECT_EQ(CaseIdIn("ext-halopsa case Lima c-1", "LimaCharlie"), std::nullopt);
  EXPECT_EQ(CaseIdIn("no line", "LimaCharlie"), std::nullopt);
}

TEST(CaseLineTest, TheStatusMapNamesStatusesAndTheRestAreInProgress) {
  auto map = ParseCaseStatusMap("1:new, 8:resolved,9:closed");
  ASSERT_TRUE(map.ok()) << map.status();
  EXPECT_EQ(CaseStatusOf(*map, 8), "resolved");
  EXPECT_EQ(CaseStatusOf(*map, 2), "in_progress");
  EXPECT_FALSE(ParseCaseStatusMap("9:done").ok());
  EXPECT_FALSE(ParseCaseStatusMap("x:closed").ok());
}

}  // namespace
}  // namespace halopsa

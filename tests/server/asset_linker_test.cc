#include "server/asset_linker.h"

#include <gmock/gmock.h>
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>

#include <deque>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

#include "adapters/halopsa/halo_errors.h"
#include "server/error_mapping.h"
#include "tests/server/mock_halo_api.h"
#include "tests/server/mock_shared_state.h"
#include "tests/testing/callback_result.h"
#include "tests/testing/error_details.h"

namespace halopsa {
namespace {

using ::testing::_;
using ::testing::Contains;
using ::testing::Pair;
using ::testing::StrictMock;
using testing::AnswerJson;
using testing::AnswerStatus;
using testing::JsonEq;
using testing::MockHaloApi;
using testing::RunAction;

class AssetLinkerTest : public ::testing::Test {
 protected:
  absl::StatusOr<v1::LinkAssetToTicketResponse> Link(const std::string& json) {
    v1::LinkAssetToTicketRequest request;
    EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(json, &request).ok());
    return RunAction<v1::LinkAssetToTicketResponse>(
        [&](auto done) { LinkAsset(api_, locks_, context_, request, std::move(done)); });
  }

  StrictMock<MockHaloApi> api_;
  LocalLinkLocks locks_;
  CallContext context_{std::make_shared<HaloConnection>(), absl::InfiniteFuture(), nullptr, ""};
};

// A plain ticket read; the linked assets come from GET /api/Asset?ticket_id=.
constexpr char kTicket[] = R"({"id": 77, "summary": "s"})";
constexpr char kLinked[] = R"({"record_count": 1, "assets": [{"id": 1, "inventory_number": "OTHER"}]})";
constexpr char kNoAssets[] = R"({"record_count": 0, "assets": []})";

auto LinkedTo(const char* ticket_id) { return Contains(Pair("ticket_id", ticket_id)); }
auto ByInventoryNumber(const char* host) { return Contains(Pair("inventory_number", host)); }
auto BySearch(const char* host) { return Contains(Pair("search", host)); }

TEST_F(AssetLinkerTest, ExactInventoryNumberMatchIsMergedIntoTheLinkedAssetsWithoutASearch) {
  ::testing::InSequence in_order;
  EXPECT_CALL(api_, Get(_, "/api/Tickets/77", _, _)).WillOnce(AnswerJson(kTicket));
  EXPECT_CALL(api_, Get(_, "/api/Asset", LinkedTo("77"), _)).WillOnce(AnswerJson(kLinked));
  EXPECT_CALL(api_, Get(_, "/api/Asset", ByInventoryNumber("ws-9"), _))
      .WillOnce(AnswerJson(R"({"record_count": 1, "assets": [{"id": 6, "inventory_number": "WS-9"}]})"));
  EXPECT_CALL(api_, Post(_, "/api/Tickets", JsonEq(R"([{"id": 77, "assets": [{"id": 1}, {"id": 6}]}])"), _))
      .WillOnce(AnswerJson(R"({"id": 77, "assets": [{"id": 1}, {"id": 6}]})"));

  auto response = Link(R"({"ticket_id": 77, "hostname": "ws-9"})");
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->asset_id(), 6);
  EXPECT_FALSE(response->asset_created());
  EXPECT_EQ(response->ticket().fields().at("assets").list_value().values_size(), 2);
}

TEST_F(AssetLinkerTest, SearchFallbackMatchesKeyFieldsExactlyAndPrefersActiveAssets) {
  ::testing::InSequence in_order;
  EXPECT_CALL(api_, Get(_, "/api/Tickets/77", _, _)).WillOnce(AnswerJson(kTicket));
  EXPECT_CALL(api_, Get(_, "/api/Asset", LinkedTo("77"), _)).WillOnce(AnswerJson(kLinked));
  // The exact filter finds only an inactive asset: the search may find an active one.
  EXPECT_CALL(api_, Get(_, "/api/Asset", ByInventoryNumber("ws-9"), _))
      .WillOnce(AnswerJson(
          R"({"record_count": 1, "assets": [{"id": 7, "inventory_number": "WS-9", "inactive": true}]})"));
  EXPECT_CALL(api_, Get(_, "/api/Asset", BySearch("ws-9"), _))
      .WillOnce(AnswerJson(R"({"record_count": 4, "assets": [
          {"id": 5, "inventory_number": "ws-90"},
          {"id": 8, "inventory_number": "", "key_field": "other", "key_field3": "WS-9"},
          {"id": 6, "inventory_number": "", "key_field2": "WS-9"},
          {"id": 7, "inventory_number": "WS-9", "inactive": true}]})"));
  EXPECT_CALL(api_, Post(_, "/api/Tickets", JsonEq(R"([{"id": 77, "assets": [{"id": 1}, {"id": 6}]}])"), _))
      .WillOnce(AnswerJson(R"({"id": 77, "assets": [{"id": 1}, {"id": 6}]})"));

  auto response = Link(R"({"ticket_id": 77, "hostname": "ws-9"})");
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->asset_id(), 6);  // exact, active, the oldest of 6 and 8; not the ws-90 prefix
  EXPECT_EQ(response->asset().fields().at("key_field2").string_value(), "WS-9");
}

TEST_F(AssetLinkerTest, TheLinkedListComesFromTheAssetFilterNotFromTheTicketRead) {
  ::testing::InSequence in_order;
  EXPECT_CALL(api_, Get(_, "/api/Tickets/77", _, _))
      .WillOnce(AnswerJson(R"({"id": 77, "assets": [{"id": 99}]})"));
  EXPECT_CALL(api_, Get(_, "/api/Asset", LinkedTo("77"), _)).WillOnce(AnswerJson(kLinked));
  EXPECT_CALL(api_, Get(_, "/api/Asset", ByInventoryNumber("ws-9"), _))
      .WillOnce(AnswerJson(R"({"record_count": 1, "assets": [{"id": 6, "inventory_number": "ws-9"}]})"));
  EXPECT_CALL(api_, Post(_, "/api/Tickets", JsonEq(R"([{"id": 77, "assets": [{"id": 1}, {"id": 6}]}])"), _))
      .WillOnce(AnswerJson(R"({"id": 77})"));  // an answer without assets is not held against the link
  EXPECT_TRUE(Link(R"({"ticket_id": 77, "hostname": "ws-9"})").ok());
}

TEST_F(AssetLinkerTest, AlreadyLinkedWritesNothingAfterTwoReads) {
  EXPECT_CALL(api_, Get(_, "/api/Tickets/77", _, _)).WillOnce(AnswerJson(kTicket));
  EXPECT_CALL(api_, Get(_, "/api/Asset", LinkedTo("77"), _)).WillOnce(AnswerJson(kLinked));
  auto response = Link(R"({"ticket_id": 77, "hostname": "other"})");
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->asset_id(), 1);
  EXPECT_EQ(response->ticket().fields().at("summary").string_value(), "s");
}

TEST_F(AssetLinkerTest, MissingAssetIsCreatedWithClientSiteAndType) {
  ::testing::InSequence in_order;
  auto in_client_site = ::testing::AllOf(Contains(Pair("client_id", "12")), Contains(Pair("site_id", "18")));
  EXPECT_CALL(api_, Get(_, "/api/Tickets/77", _, _)).WillOnce(AnswerJson(kTicket));
  EXPECT_CALL(api_, Get(_, "/api/Asset", LinkedTo("77"), _)).WillOnce(AnswerJson(kLinked));
  EXPECT_CALL(api_, Get(_, "/api/Asset", ::testing::AllOf(ByInventoryNumber("NEW-1"), in_client_site), _))
      .WillOnce(AnswerJson(kNoAssets));
  EXPECT_CALL(api_, Get(_, "/api/Asset", ::testing::AllOf(BySearch("NEW-1"), in_client_site), _))
      .WillOnce(AnswerJson(kNoAssets));
  // Again under the host lock before creating: the exact filter finds what this service creates.
  EXPECT_CALL(api_, Get(_, "/api/Asset", ByInventoryNumber("NEW-1"), _)).WillOnce(AnswerJson(kNoAssets));
  EXPECT_CALL(api_, Post(_, "/api/Asset", JsonEq(R"([{"inventory_number": "NEW-1", "key_field": "NEW-1",
      "client_id": 12, "site_id": 18, "assettype_id": 1}])"), _))
      .WillOnce(AnswerJson(R"({"id": 40, "inventory_number": "NEW-1"})"));
  EXPECT_CALL(api_, Post(_, "/api/Tickets", JsonEq(R"([{"id": 77, "assets": [{"id": 1}, {"id": 40}]}])"), _))
      .WillOnce(AnswerJson(R"({"id": 77, "assets": [{"id": 1}, {"id": 40}]})"));
  auto response = Link(R"({"ticket_id": 77, "hostname": "NEW-1", "client_id": 12, "site_id": 18,
                           "asset_type_id": 1})");
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_TRUE(response->asset_created());
  EXPECT_EQ(response->asset_id(), 40);
}

TEST_F(AssetLinkerTest, CreateNeedsClientIdAndAssetType) {
  EXPECT_CALL(api_, Get(_, "/api/Tickets/77", _, _)).Times(2).WillRepeatedly(AnswerJson(kTicket));
  EXPECT_CALL(api_, Get(_, "/api/Asset", _, _)).Times(6).WillRepeatedly(AnswerJson(kNoAssets));
  auto no_client = Link(R"({"ticket_id": 77, "hostname": "NEW-1", "asset_type_id": 1})");
  EXPECT_EQ(no_client.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(no_client.status().message()), ::testing::StartsWith("client_id: is required to create"));
  auto no_type = Link(R"({"ticket_id": 77, "hostname": "NEW-1", "client_id": 12})");
  EXPECT_THAT(std::string(no_type.status().message()), ::testing::StartsWith("asset_type_id: is required"));
}

TEST_F(AssetLinkerTest, NoCreateWhenNotAllowed) {
  EXPECT_CALL(api_, Get(_, "/api/Tickets/77", _, _)).WillOnce(AnswerJson(kTicket));
  EXPECT_CALL(api_, Get(_, "/api/Asset", _, _)).Times(3).WillRepeatedly(AnswerJson(kNoAssets));
  auto response = Link(R"({"ticket_id": 77, "hostname": "NEW-1", "client_id": 12, "asset_type_id": 1,
                           "create_if_missing": false})");
  EXPECT_EQ(response.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(response.status().message()), ::testing::HasSubstr("create_if_missing is false"));
}

TEST_F(AssetLinkerTest, WriteThatDropsTheLinkIsAnError) {
  EXPECT_CALL(api_, Get(_, "/api/Tickets/77", _, _)).WillOnce(AnswerJson(kTicket));
  EXPECT_CALL(api_, Get(_, "/api/Asset", LinkedTo("77"), _)).WillOnce(AnswerJson(kLinked));
  EXPECT_CALL(api_, Get(_, "/api/Asset", ByInventoryNumber("ws-9"), _))
      .WillOnce(AnswerJson(R"({"record_count": 1, "assets": [{"id": 6, "inventory_number": "ws-9"}]})"));
  EXPECT_CALL(api_, Post(_, "/api/Tickets", _, _)).WillOnce(AnswerJson(R"({"id": 77, "assets": [{"id": 1}]})"));
  auto response = Link(R"({"ticket_id": 77, "hostname": "ws-9"})");
  EXPECT_EQ(response.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(testing::ReasonOf(response.status()), "UPSTREAM_BAD_RESPONSE");
  EXPECT_EQ(locks_.active_keys(), 0u);
}

TEST_F(AssetLinkerTest, UnknownTicketFailsBeforeAnyAssetWork) {
  EXPECT_CALL(api_, Get(_, "/api/Tickets/78", _, _))
      .WillOnce(AnswerStatus(FromHaloHttpStatus(404, "/api/Tickets/78", "")));
  auto response = Link(R"({"ticket_id": 78, "hostname": "h", "client_id": 1, "asset_type_id": 1})");
  EXPECT_EQ(response.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(locks_.active_keys(), 0u);  // failures release the ticket
}

TEST_F(AssetLinkerTest, SearchesFurtherPagesForAnExactMatch) {
  std::string first_page = R"({"record_count": 150, "assets": [)";
  for (int i = 0; i < 100; ++i) first_page += absl::StrCat(i ? "," : "", R"({"id":)", 100 + i, R"(,"inventory_number":"host-)", i, R"("})");
  first_page += "]}";
  EXPECT_CALL(api_, Get(_, "/api/Tickets/77", _, _)).WillOnce(AnswerJson(kTicket));
  EXPECT_CALL(api_, Get(_, "/api/Asset", LinkedTo("77"), _)).WillOnce(AnswerJson(kNoAssets));
  EXPECT_CALL(api_, Get(_, "/api/Asset", ByInventoryNumber("host"), _)).WillOnce(AnswerJson(kNoAssets));
  EXPECT_CALL(api_, Get(_, "/api/Asset", ::testing::AllOf(BySearch("host"), Contains(Pair("page_no", "1"))), _))
      .WillOnce(AnswerJson(first_page));
  EXPECT_CALL(api_, Get(_, "/api/Asset", ::testing::AllOf(BySearch("host"), Contains(Pair("page_no", "2"))), _))
      .WillOnce(AnswerJson(R"({"record_count": 150, "assets": [{"id": 999, "inventory_number": "HOST"}]})"));
  EXPECT_CALL(api_, Post(_, "/api/Tickets", JsonEq(R"([{"id": 77, "assets": [{"id": 999}]}])"), _))
      .WillOnce(AnswerJson(R"({"id": 77, "assets": [{"id": 999}]})"));
  auto response = Link(R"({"ticket_id": 77, "hostname": "host"})");
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->asset_id(), 999);
}

}  // namespace
}  // namespace halopsa

namespace halopsa {
namespace {

// A HaloPSA that answers only when the test says so, to interleave calls.
class HeldHaloApi : public HaloApi {
 public:
  struct Pending {
    std::string method;
    std::string path;
    google::protobuf::Value body;
    Callback done;
  };
  void Get(const CallContext&, std::string path, Query, Callback done) override {
    pending_.push_back({"GET", std::move(path), {}, std::move(done)});
  }
  void Post(const CallContext&, std::string path, google::protobuf::Value body, Callback done) override {
    pending_.push_back({"POST", std::move(path), std::move(body), std::move(done)});
  }
  // Answers the oldest pending call, which must be `method path`.
  google::protobuf::Value Answer(const std::string& method, const std::string& path, const std::string& json) {
    if (pending_.empty()) {
      ADD_FAILURE() << "no call waits for an answer; expected " << method << " " << path;
      return {};
    }
    Pending call = std::move(pending_.front());
    pending_.pop_front();
    EXPECT_EQ(call.method + " " + call.path, method + " " + path);
    call.done(testing::Json(json));
    return call.body;
  }
  size_t pending() const { return pending_.size(); }

 private:
  std::deque<Pending> pending_;
};

class ConcurrentLinkTest : public ::testing::Test {
 protected:
  // Starts a link; its answer comes when the held requests are answered.
  testing::CallbackResult<absl::StatusOr<v1::LinkAssetToTicketResponse>> Link(const std::string& json) {
    testing::CallbackResult<absl::StatusOr<v1::LinkAssetToTicketResponse>> result(absl::StrCat("the answer to ", json));
    v1::LinkAssetToTicketRequest request;
    EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(json, &request).ok()) << json;
    LinkAsset(api_, locks_, context_, request, result.Callback());
    return result;
  }

  HeldHaloApi api_;
  LocalLinkLocks locks_;
  CallContext context_{std::make_shared<HaloConnection>(), absl::InfiniteFuture(), nullptr, ""};
};

TEST_F(ConcurrentLinkTest, LinksToOneTicketDoNotOverwriteEachOther) {
  auto first = Link(R"({"ticket_id": 5, "hostname": "a"})");
  auto second = Link(R"({"ticket_id": 5, "hostname": "b"})");
  ASSERT_EQ(api_.pending(), 1u);  // the second waits for the ticket
  api_.Answer("GET", "/api/Tickets/5", R"({"id": 5})");
  api_.Answer("GET", "/api/Asset", R"({"record_count": 0, "assets": []})");  // linked
  api_.Answer("GET", "/api/Asset", R"({"record_count": 1, "assets": [{"id": 1, "inventory_number": "a"}]})");
  api_.Answer("POST", "/api/Tickets", R"({"id": 5, "assets": [{"id": 1}]})");
  ASSERT_TRUE(first.Await().ok());
  // Only now does the second read the ticket, and it sees the first's asset.
  api_.Answer("GET", "/api/Tickets/5", R"({"id": 5})");
  api_.Answer("GET", "/api/Asset", R"({"record_count": 1, "assets": [{"id": 1, "inventory_number": "a"}]})");
  api_.Answer("GET", "/api/Asset", R"({"record_count": 1, "assets": [{"id": 2, "inventory_number": "b"}]})");
  google::protobuf::Value written =
      api_.Answer("POST", "/api/Tickets", R"({"id": 5, "assets": [{"id": 1}, {"id": 2}]})");
  EXPECT_EQ(ToJson(written), R"([{"assets":[{"id":1},{"id":2}],"id":5}])");
  ASSERT_TRUE(second.Await().ok());
  EXPECT_EQ(locks_.active_keys(), 0u);
}

TEST_F(ConcurrentLinkTest, ALinkWhoseDeadlinePassedWhileWaitingEndsWithoutWorking) {
  auto first = Link(R"({"ticket_id": 5, "hostname": "a"})");
  context_.deadline = absl::Now() - absl::Seconds(1);  // e.g. the links ahead took its time
  auto late = Link(R"({"ticket_id": 5, "hostname": "b"})");
  EXPECT_FALSE(late.fired());  // waiting for the ticket
  api_.Answer("GET", "/api/Tickets/5", R"({"id": 5})");
  api_.Answer("GET", "/api/Asset", R"({"record_count": 1, "assets": [{"id": 1, "inventory_number": "a"}]})");
  ASSERT_TRUE(first.Await().ok());  // already linked
  EXPECT_EQ(late.Await().status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(api_.pending(), 0u);  // it sent nothing
  EXPECT_EQ(locks_.active_keys(), 0u);
}

TEST_F(ConcurrentLinkTest, ConcurrentLinksOfOneNewHostCreateOneAsset) {
  const char* create = R"({"ticket_id": %d, "hostname": "NEW", "client_id": 3, "asset_type_id": 1})";
  auto first = Link(absl::StrFormat(create, 5));
  auto second = Link(absl::StrFormat(create, 6));
  api_.Answer("GET", "/api/Tickets/5", R"({"id": 5})");
  api_.Answer("GET", "/api/Tickets/6", R"({"id": 6})");
  // Both read their linked assets, look the host up by inventory number and
  // then search, at once, and find nothing; the first takes the host and
  // looks again, the second waits for the host.
  for (int lookup = 0; lookup < 6; ++lookup) api_.Answer("GET", "/api/Asset", R"({"record_count": 0, "assets": []})");
  ASSERT_EQ(api_.pending(), 1u);
  api_.Answer("GET", "/api/Asset", R"({"record_count": 0, "assets": []})");
  api_.Answer("POST", "/api/Asset", R"({"id": 9, "inventory_number": "NEW"})");
  // The asset exists: the host is free again, and the second's search
  // under it finds the asset the first created.
  api_.Answer("GET", "/api/Asset", R"({"record_count": 1, "assets": [{"id": 9, "inventory_number": "NEW"}]})");
  api_.Answer("POST", "/api/Tickets", R"({"id": 5, "assets": [{"id": 9}]})");
  api_.Answer("POST", "/api/Tickets", R"({"id": 6, "assets": [{"id": 9}]})");
  ASSERT_TRUE(first.Await().ok());
  ASSERT_TRUE(second.Await().ok());
  EXPECT_TRUE(first.Await()->asset_created());
  EXPECT_FALSE(second.Await()->asset_created());
  EXPECT_EQ(second.Await()->asset_id(), 9);
  EXPECT_EQ(locks_.active_keys(), 0u);
}

TEST_F(ConcurrentLinkTest, LinksOfAnExistingHostToDifferentTicketsDoNotWaitForEachOther) {
  auto first = Link(R"({"ticket_id": 5, "hostname": "known"})");
  auto second = Link(R"({"ticket_id": 6, "hostname": "known"})");
  api_.Answer("GET", "/api/Tickets/5", R"({"id": 5})");
  api_.Answer("GET", "/api/Tickets/6", R"({"id": 6})");
  api_.Answer("GET", "/api/Asset", R"({"record_count": 0, "assets": []})");  // linked to 5
  api_.Answer("GET", "/api/Asset", R"({"record_count": 0, "assets": []})");  // linked to 6
  EXPECT_EQ(api_.pending(), 2u);  // both asset lookups are out at once
  api_.Answer("GET", "/api/Asset", R"({"record_count": 1, "assets": [{"id": 4, "inventory_number": "known"}]})");
  api_.Answer("GET", "/api/Asset", R"({"record_count": 1, "assets": [{"id": 4, "inventory_number": "known"}]})");
  api_.Answer("POST", "/api/Tickets", R"({"id": 5, "assets": [{"id": 4}]})");
  api_.Answer("POST", "/api/Tickets", R"({"id": 6, "assets": [{"id": 4}]})");
  ASSERT_TRUE(first.Await().ok());
  ASSERT_TRUE(second.Await().ok());
  EXPECT_EQ(locks_.active_keys(), 0u);
}

}  // namespace
}  // namespace halopsa

namespace halopsa {
namespace {

TEST(SharedLinkLocksTest, ALinkWithoutItsLockWritesNothingAndSaysWhy) {
  StrictMock<testing::MockHaloApi> api;  // no upstream call at all
  StrictMock<testing::MockLinkLocks> locks;
  absl::Status unavailable =
      WithErrorInfo(absl::UnavailableError("shared state (Redis) unavailable"), kReasonSharedStateUnavailable);
  EXPECT_CALL(locks, Acquire(::testing::HasSubstr("\nticket\n77"), _, _))
      .WillOnce([&](const std::string&, absl::Time, LinkLocks::Acquired acquired) { acquired(unavailable); });
  CallContext context{std::make_shared<HaloConnection>(), absl::InfiniteFuture(), nullptr, ""};
  v1::LinkAssetToTicketRequest request;
  request.set_ticket_id(77);
  request.set_hostname("ws-9");
  auto result = testing::RunAction<v1::LinkAssetToTicketResponse>(
      [&](auto done) { LinkAsset(api, locks, context, request, std::move(done)); });
  EXPECT_EQ(result.status(), unavailable);
}

TEST(SharedLinkLocksTest, TheLockIsAskedForWithTheCallsDeadlineAndReleasedOnce) {
  StrictMock<testing::MockHaloApi> api;
  StrictMock<testing::MockLinkLocks> locks;
  const absl::Time deadline = absl::Now() + absl::Seconds(7);
  int releases = 0;
  EXPECT_CALL(locks, Acquire(_, deadline, _)).WillOnce([&](const std::string&, absl::Time, LinkLocks::Acquired acquired) {
    acquired(LinkLocks::Release([&releases] { ++releases; }));
  });
  EXPECT_CALL(api, Get(_, "/api/Tickets/77", _, _))
      .WillOnce(AnswerStatus(FromHaloHttpStatus(404, "/api/Tickets/77", "no such ticket")));
  CallContext context{std::make_shared<HaloConnection>(), deadline, nullptr, ""};
  v1::LinkAssetToTicketRequest request;
  request.set_ticket_id(77);
  request.set_hostname("ws-9");
  auto result = testing::RunAction<v1::LinkAssetToTicketResponse>(
      [&](auto done) { LinkAsset(api, locks, context, request, std::move(done)); });
  EXPECT_EQ(result.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(releases, 1);
}

}  // namespace
}  // namespace halopsa

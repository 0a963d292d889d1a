#include "server/paged_list.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "server/error_mapping.h"
#include "tests/server/mock_halo_api.h"
#include "tests/testing/error_details.h"

namespace halopsa {
namespace {

using ::testing::_;
using ::testing::Contains;
using ::testing::Pair;
using ::testing::StrictMock;
using testing::AnswerJson;
using testing::MockHaloApi;
using testing::RunAction;

// A Halo list page of items with ids [first, first + count).
std::string ItemsPage(int record_count, int first, int count) {
  std::string items;
  for (int id = first; id < first + count; ++id) absl::StrAppend(&items, items.empty() ? "" : ",", R"({"id":)", id, "}");
  return absl::StrCat(R"({"record_count":)", record_count, R"(,"things":[)", items, "]}");
}

class PagedListTest : public ::testing::Test {
 protected:
  absl::StatusOr<Page> Fetch(int page_size, int page_no) {
    return RunAction<Page>([&](auto done) {
      FetchPage(api_, context_, PageRequest{"/api/Things", {{"search", "x"}}, "things", page_size, page_no},
                std::move(done));
    });
  }
  std::vector<int> Ids(const Page& page) {
    std::vector<int> ids;
    for (const auto& item : page.items) ids.push_back(static_cast<int>(item.fields().at("id").number_value()));
    return ids;
  }

  StrictMock<MockHaloApi> api_;
  CallContext context_{std::make_shared<HaloConnection>(), absl::InfiniteFuture(), nullptr, ""};
};

MATCHER_P2(PageQuery, size, number, "") {
  return ::testing::Value(arg, Contains(Pair("pageinate", "true"))) &&
         ::testing::Value(arg, Contains(Pair("page_size", absl::StrCat(size)))) &&
         ::testing::Value(arg, Contains(Pair("page_no", absl::StrCat(number)))) &&
         ::testing::Value(arg, Contains(Pair("search", "x")));
}

TEST_F(PagedListTest, SmallPageIsOneUpstreamCall) {
  EXPECT_CALL(api_, Get(_, "/api/Things", PageQuery(30, 3), _)).WillOnce(AnswerJson(ItemsPage(500, 61, 30)));
  auto page = Fetch(30, 3);
  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_EQ(page->record_count, 500);
  EXPECT_EQ(page->items.size(), 30u);
  EXPECT_EQ(Ids(*page).front(), 61);
}

TEST_F(PagedListTest, PageAboveCapIsStitchedFromUpstreamPages) {
  // page_size 250, page 2 = items 250..499 = upstream pages 3 (from offset 50), 4, 5.
  ::testing::InSequence in_order;
  EXPECT_CALL(api_, Get(_, _, PageQuery(100, 3), _)).WillOnce(AnswerJson(ItemsPage(1000, 200, 100)));
  EXPECT_CALL(api_, Get(_, _, PageQuery(100, 4), _)).WillOnce(AnswerJson(ItemsPage(1000, 300, 100)));
  EXPECT_CALL(api_, Get(_, _, PageQuery(100, 5), _)).WillOnce(AnswerJson(ItemsPage(1000, 400, 100)));
  auto page = Fetch(250, 2);
  ASSERT_TRUE(page.ok()) << page.status();
  ASSERT_EQ(page->items.size(), 250u);
  EXPECT_EQ(Ids(*page).front(), 250);
  EXPECT_EQ(Ids(*page).back(), 499);
}

TEST_F(PagedListTest, StitchingStopsWhereTheListEnds) {
  ::testing::InSequence in_order;
  EXPECT_CALL(api_, Get(_, _, PageQuery(100, 1), _)).WillOnce(AnswerJson(ItemsPage(130, 0, 100)));
  EXPECT_CALL(api_, Get(_, _, PageQuery(100, 2), _)).WillOnce(AnswerJson(ItemsPage(130, 100, 30)));
  auto page = Fetch(500, 1);
  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_EQ(page->items.size(), 130u);
  EXPECT_EQ(page->record_count, 130);
}

TEST_F(PagedListTest, AnswerWithoutTheListIsAnError) {
  EXPECT_CALL(api_, Get(_, _, _, _)).WillOnce(AnswerJson(R"({"record_count": 3})"));
  auto page = Fetch(10, 1);
  EXPECT_EQ(page.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(testing::ReasonOf(page.status()), "UPSTREAM_BAD_RESPONSE");
}

}  // namespace
}  // namespace halopsa

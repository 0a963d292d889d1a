// Retried callbacks (same oid and idempotency_key) run once: later copies
// get the first one's answer, from this process or from the shared replies.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <utility>

#include "absl/synchronization/notification.h"
#include "tests/adapters/limacharlie/gateway_fixture.h"
#include "tests/adapters/limacharlie/mock_reply_cache.h"

namespace halopsa::lc::testing {
namespace {

using google::protobuf::Message;
using google::protobuf::MethodDescriptor;
using halopsa::testing::Answers;
using halopsa::testing::Fails;
using halopsa::testing::Method;
using ::testing::_;
using ::testing::HasSubstr;

TEST_F(GatewayTest, RetriedRequestIsAnsweredFromMemory) {
  // Once for "idem-1", once for "idem-2", twice without a key.
  EXPECT_CALL(*service_, Call).Times(4).WillRepeatedly(CreatesTicket(4000));
  Reply first = Request("create_ticket", R"({"summary":"s"})", LiteralConfig(), "idem-1");
  Reply retry = Request("create_ticket", R"({"summary":"s"})", LiteralConfig(), "idem-1");
  EXPECT_EQ(first.status, 200);
  EXPECT_EQ(retry.status, 200);
  EXPECT_EQ(retry.body, first.body);
  // Another key, or no key, runs again.
  Request("create_ticket", R"({"summary":"s"})", LiteralConfig(), "idem-2");
  Request("create_ticket", R"({"summary":"s"})");
  Request("create_ticket", R"({"summary":"s"})");
}

TEST_F(GatewayTest, PermanentFailuresAreRememberedRetriableOnesAreNot) {
  EXPECT_CALL(*service_, Call)
      .WillOnce(FailsWith(absl::UnavailableError("HaloPSA answered 503"), "UPSTREAM_UNAVAILABLE"))
      .WillOnce(Fails(InvalidField("client_id", "unknown client")));
  EXPECT_EQ(Request("create_ticket", R"({"summary":"s"})", LiteralConfig(), "k").status, 500);
  EXPECT_EQ(Request("create_ticket", R"({"summary":"s"})", LiteralConfig(), "k").status, 400);
  EXPECT_EQ(Request("create_ticket", R"({"summary":"s"})", LiteralConfig(), "k").status, 400);
}

GatewayOptions SharingRepliesIn(ReplyCache& replies) {
  GatewayOptions options;
  options.signing_secret = kSigningSecret;
  options.shared_replies = &replies;
  return options;
}

TEST_F(GatewayTest, WithoutSharedRepliesWritesAreRefusedRetriableAndReadsStillRun) {
  ::testing::StrictMock<MockReplyCache> replies;
  absl::Status unavailable =
      WithErrorInfo(absl::UnavailableError("shared state (Redis) unavailable"), kReasonSharedStateUnavailable);
  EXPECT_CALL(replies, Join(ReplyCache::Key(org_.oid, "k1"), _, _, _))
      .Times(2)
      .WillRepeatedly([&](const ReplyCache::Key&, absl::Time, ReplyCache::Waiter waiter, ReplyCache::Run) {
        waiter(unavailable);
      });
  StartGateway(SharingRepliesIn(replies));
  // A write never runs uncoordinated: the service sees only the search.
  EXPECT_CALL(*service_, Call(Method("SearchTickets"), _, _, _, _))
      .WillOnce(Answers<v1::SearchTicketsResponse>(R"({"record_count": 0})"));
  Reply refused = Request("create_ticket", R"({"summary":"s"})", LiteralConfig(), "k1");
  EXPECT_EQ(refused.status, 500);
  EXPECT_THAT(refused.body, HasSubstr(R"("retriable":true)"));
  EXPECT_EQ(Request("search_tickets", R"({"search":"x"})", LiteralConfig(), "k1").status, 200);
}

TEST_F(GatewayTest, SharedRepliesRunTheFirstAttemptAndKeepItsReply) {
  ::testing::StrictMock<MockReplyCache> replies;
  ReplyCache::Waiter kept;
  EXPECT_CALL(replies, Join(ReplyCache::Key(org_.oid, "k2"), _, _, _))
      .WillOnce([&](const ReplyCache::Key&, absl::Time, ReplyCache::Waiter waiter, ReplyCache::Run run) {
        kept = std::move(waiter);
        run();
      });
  EXPECT_CALL(replies, Finish(ReplyCache::Key(org_.oid, "k2"), _, /*remember=*/true))
      .WillOnce([&](const ReplyCache::Key&, const net::ServerResponse& reply, bool) {
        // Taken out first: the test ends (and `kept` with it) as soon as the reply is out.
        std::exchange(kept, nullptr)(reply);
      });
  StartGateway(SharingRepliesIn(replies));
  EXPECT_CALL(*service_, Call).WillOnce(CreatesTicket(4200));
  Reply created = Request("create_ticket", R"({"summary":"s"})", LiteralConfig(), "k2");
  EXPECT_EQ(created.status, 200);
  EXPECT_THAT(created.body, HasSubstr("4200"));
}

TEST_F(GatewayTest, ConcurrentDuplicateWaitsForTheFirstAttempt) {
  ServiceCalls::Callback held;
  std::shared_ptr<const Message> held_request;
  EXPECT_CALL(*service_, Call)
      .WillOnce([&](const MethodDescriptor&, std::shared_ptr<const Message> request, const ServiceCalls::Metadata&,
                    absl::Time, ServiceCalls::Callback done) {
        held = std::move(done);
        held_request = std::move(request);
      });
  const std::string envelope = RequestEnvelope(org_, "create_ticket", R"({"summary":"s"})", LiteralConfig(), "dup");
  struct Answer {
    absl::Notification done;
    net::ServerResponse response;
  };
  auto first = std::make_shared<Answer>();
  auto second = std::make_shared<Answer>();
  for (const auto& answer : {first, second}) {
    gateway_->Handle(Lc().Build(envelope), [answer](net::ServerResponse response) {
      answer->response = std::move(response);
      answer->done.Notify();
    });
  }
  ASSERT_TRUE(held != nullptr);
  EXPECT_FALSE(first->done.HasBeenNotified());
  EXPECT_FALSE(second->done.HasBeenNotified());
  held(TicketResponse(5000, *held_request));
  ASSERT_TRUE(first->done.WaitForNotificationWithTimeout(absl::Seconds(10)));
  ASSERT_TRUE(second->done.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_EQ(first->response.status, 200);
  EXPECT_EQ(second->response.body, first->response.body);
}

}  // namespace
}  // namespace halopsa::lc::testing

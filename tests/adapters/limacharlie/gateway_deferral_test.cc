// Deferral through the gateway, with HaloPsaService and the reply cache as
// gMocks: a write the request budget cannot serve in time is answered with a
// continuation, and the continuation runs the original request once, under
// the original idempotency key.

#include <gmock/gmock.h>
#include <google/protobuf/descriptor.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "adapters/limacharlie/deferral.h"
#include "adapters/limacharlie/gateway.h"
#include "adapters/limacharlie/reply_cache.h"
#include "halopsa/v1/halopsa.pb.h"
#include "server/error_mapping.h"
#include "server/service_calls.h"
#include "tests/adapters/halopsa/mock_http_transport.h"
#include "tests/adapters/limacharlie/gateway_fixture.h"
#include "tests/adapters/limacharlie/mock_reply_cache.h"
#include "tests/testing/json_matchers.h"
#include "tests/testing/lc_test_client.h"
#include "tests/testing/mock_service_calls.h"

namespace halopsa::lc {
namespace {

using google::protobuf::Message;
using google::protobuf::MethodDescriptor;
using halopsa::testing::Fails;
using halopsa::testing::Method;
using halopsa::testing::MockServiceCalls;
using testing::CreatesTicket;
using testing::MockReplyCache;
using testing::TicketResponse;
using ::testing::_;
using ::testing::AnyNumber;
using ::testing::Contains;
using ::testing::InSequence;
using ::testing::Pair;
using halopsa::testing::JsonEq;
using testing::Reply;
using testing::TestOrg;

using testing::kSigningSecret;
constexpr absl::Duration kBudgetWait = absl::Seconds(7);

absl::Status BudgetRefusal(absl::Duration delay) {
  return WithRetryDelay(WithErrorInfo(absl::UnavailableError("HaloPSA rate limit: no request slot before the deadline"),
                                      kReasonUpstreamRateLimited),
                        delay);
}

class GatewayDeferralTest : public ::testing::Test {
 protected:
  void SetUp() override { StartGateway(nullptr); }

  // The delay each answered callback reported as deferred (0: not deferred).
  std::vector<int> ReportedDeferrals() {
    absl::MutexLock lock(&reports_mu_);
    return deferred_reports_;
  }

  void StartGateway(ReplyCache* shared_replies) {
    gateway_.reset();
    auto service = std::make_unique<::testing::StrictMock<MockServiceCalls>>();
    service_ = service.get();
    EXPECT_CALL(*service_, CancelAll()).Times(AnyNumber());
    GatewayOptions options;
    options.signing_secret = kSigningSecret;
    options.call_deadline = kBudgetWait;
    options.shared_replies = shared_replies;
    options.observer = [this](const GatewayCall& call) {
      absl::MutexLock lock(&reports_mu_);
      deferred_reports_.push_back(call.deferred_sec);
    };
    gateway_ = std::make_unique<Gateway>(options, std::move(service), lc_api_);
  }

  testing::FakeLimaCharlie Lc() {
    return testing::FakeLimaCharlie(
        kSigningSecret, [this](net::ServerRequest request) { return testing::HandleAndWait(*gateway_, request); });
  }

  static testing::Config Config() {
    return {{"instance_url", "https://acme.halopsa.com"}, {"client_id", "cid"}, {"client_secret", "literal-secret"}};
  }

  Reply Request(absl::string_view action, absl::string_view data, absl::string_view key) {
    return Lc().Send(testing::RequestEnvelope(org_, action, data, Config(), key));
  }

  // What LimaCharlie sends for a deferral's continuation: its action, its
  // state as data, and "<parent key>:<level>".
  Reply Continue(const Reply& deferred, absl::string_view key) {
    const rapidjson::Value& continuation = deferred.json["continuations"][0];
    return Request(continuation["action"].GetString(), testing::Json(continuation["state"]), key);
  }

  static constexpr char kTicketData[] = R"({"summary":"Deferred detection","client_id":"12"})";

  ::testing::StrictMock<halopsa::testing::MockHttpTransport> lc_api_;
  MockServiceCalls* service_ = nullptr;
  std::unique_ptr<Gateway> gateway_;
  TestOrg org_;
  absl::Mutex reports_mu_;
  std::vector<int> deferred_reports_ ABSL_GUARDED_BY(reports_mu_);
};

TEST_F(GatewayDeferralTest, AWriteTheBudgetCannotServeInTimeIsDeferred) {
  absl::Time deadline;
  EXPECT_CALL(*service_, Call(Method("CreateTicket"), _, _, _, _))
      .WillOnce([&deadline](const MethodDescriptor& method, std::shared_ptr<const Message> request,
                            const ServiceCalls::Metadata& metadata, absl::Time call_deadline,
                            ServiceCalls::Callback done) {
        deadline = call_deadline;
        Fails(BudgetRefusal(absl::Milliseconds(42100)))(method, request, metadata, call_deadline, std::move(done));
      });
  const absl::Time sent = absl::Now();
  Reply reply = Request("create_ticket", kTicketData, "detection-1");
  // The wait bound is the deadline the service got.
  EXPECT_GE(deadline, sent + kBudgetWait);
  EXPECT_LE(deadline, absl::Now() + kBudgetWait);
  EXPECT_EQ(reply.status, 200);
  EXPECT_FALSE(reply.has_error());
  EXPECT_THAT(reply.body,
              JsonEq(R"({"version":20221218,"data":{"deferred":true,"retry_in_sec":43},
                             "continuations":[{"in_delay_sec":43,"action":"run_deferred",
                               "state":{"action":"create_ticket",
                                        "data":{"summary":"Deferred detection","client_id":"12"},
                                        "idempotency_key":"detection-1"}}]})"));
}

TEST_F(GatewayDeferralTest, TheContinuationRunsTheOriginalRequestOnceUnderTheOriginalKey) {
  InSequence order;
  EXPECT_CALL(*service_, Call(Method("CreateTicket"), _, _, _, _)).WillOnce(Fails(BudgetRefusal(absl::Seconds(5))));
  EXPECT_CALL(*service_, Call(Method("CreateTicket"), _, Contains(Pair("x-idempotency-key", "detection-1")), _, _))
      .WillOnce([](const MethodDescriptor& method, std::shared_ptr<const Message> request,
                   const ServiceCalls::Metadata& metadata, absl::Time deadline, ServiceCalls::Callback done) {
        const auto& create = static_cast<const v1::CreateTicketRequest&>(*request);
        EXPECT_EQ(create.summary(), "Deferred detection");
        EXPECT_EQ(create.client_id(), 12);
        CreatesTicket(2884)(method, request, metadata, deadline, std::move(done));
      });
  Reply deferred = Request("create_ticket", kTicketData, "detection-1");
  ASSERT_EQ(deferred.status, 200) << deferred.body;
  Reply ran = Continue(deferred, "detection-1:1");
  ASSERT_EQ(ran.status, 200) << ran.body;
  EXPECT_THAT(testing::Json(ran.data()),
              JsonEq(R"({"deduplicated":false,"id":2884,"summary":"Deferred detection"})"));
  // A replayed continuation, another level's, and a redelivered original:
  // the same answer, nothing runs again (StrictMock, two calls).
  EXPECT_EQ(Continue(deferred, "detection-1:1").body, ran.body);
  EXPECT_EQ(Continue(deferred, "detection-1:2").body, ran.body);
  EXPECT_EQ(Request("create_ticket", kTicketData, "detection-1").body, ran.body);
  // Reported for the logs and metrics: the deferral alone.
  EXPECT_THAT(ReportedDeferrals(), ::testing::ElementsAre(5, 0, 0, 0, 0));
}

TEST_F(GatewayDeferralTest, AContinuationMayDeferAgain) {
  InSequence order;
  EXPECT_CALL(*service_, Call(Method("AddAction"), _, _, _, _)).WillOnce(Fails(BudgetRefusal(absl::Seconds(5))));
  EXPECT_CALL(*service_, Call(Method("AddAction"), _, _, _, _)).WillOnce(Fails(BudgetRefusal(absl::Seconds(9))));
  EXPECT_CALL(*service_, Call(Method("AddAction"), _, Contains(Pair("x-idempotency-key", "note-1")), _, _))
      .WillOnce([](const MethodDescriptor&, std::shared_ptr<const Message>, const ServiceCalls::Metadata&, absl::Time,
                   ServiceCalls::Callback done) {
        auto response = std::make_unique<v1::AddActionResponse>();
        response->set_id(3);
        response->set_ticket_id(7);
        done(std::unique_ptr<Message>(std::move(response)));
      });
  const std::string note = R"({"ticket_id":7,"note":"triage"})";
  Reply first = Request("add_action", note, "note-1");
  Reply again = Continue(first, "note-1:1");
  ASSERT_EQ(again.status, 200) << again.body;
  EXPECT_THAT(testing::Json(again.data()), JsonEq(R"({"deferred":true,"retry_in_sec":9})"));
  EXPECT_EQ(testing::Json(again.json["continuations"][0]["state"]),
            testing::Json(first.json["continuations"][0]["state"]));
  Reply ran = Continue(again, "note-1:1:2");
  EXPECT_THAT(testing::Json(ran.data()), JsonEq(R"({"id":3,"ticket_id":7})"));
  EXPECT_THAT(ReportedDeferrals(), ::testing::ElementsAre(5, 9, 0));
}

TEST_F(GatewayDeferralTest, TheDeferralReleasesTheOriginalKeyForTheContinuation) {
  ::testing::StrictMock<MockReplyCache> replies;
  StartGateway(&replies);
  ReplyCache::Waiter waiting;
  const auto joins = [&waiting](const ReplyCache::Key&, absl::Time, ReplyCache::Waiter waiter, ReplyCache::Run run) {
    waiting = std::move(waiter);
    run();
  };
  const auto answers = [&waiting](const ReplyCache::Key&, const net::ServerResponse& reply, bool) {
    std::exchange(waiting, nullptr)(reply);
  };
  const ReplyCache::Key original(org_.oid, "detection-1");
  InSequence order;
  EXPECT_CALL(replies, Join(original, _, _, _)).WillOnce(joins);
  EXPECT_CALL(*service_, Call(_, _, _, _, _)).WillOnce(Fails(BudgetRefusal(absl::Seconds(5))));
  EXPECT_CALL(replies, Finish(original, _, /*remember=*/false)).WillOnce(answers);
  EXPECT_CALL(replies, Join(original, _, _, _)).WillOnce(joins);  // not "detection-1:1"
  EXPECT_CALL(*service_, Call(_, _, _, _, _)).WillOnce(CreatesTicket(5));
  EXPECT_CALL(replies, Finish(original, _, /*remember=*/true)).WillOnce(answers);
  Reply deferred = Request("create_ticket", kTicketData, "detection-1");
  EXPECT_EQ(Continue(deferred, "detection-1:1").data()["id"].GetInt(), 5);
}

TEST_F(GatewayDeferralTest, ARedeliveredOriginalAndItsContinuationRunOnce) {
  InSequence order;
  EXPECT_CALL(*service_, Call(_, _, _, _, _)).WillOnce(Fails(BudgetRefusal(absl::Seconds(5))));
  ServiceCalls::Callback held;
  std::shared_ptr<const Message> held_request;
  absl::Notification called;
  EXPECT_CALL(*service_, Call(_, _, _, _, _))
      .WillOnce([&](const MethodDescriptor&, std::shared_ptr<const Message> request, const ServiceCalls::Metadata&,
                    absl::Time, ServiceCalls::Callback done) {
        held = std::move(done);
        held_request = std::move(request);
        called.Notify();
      });
  Reply deferred = Request("create_ticket", kTicketData, "detection-1");
  const rapidjson::Value& continuation = deferred.json["continuations"][0];
  struct Answer {
    absl::Notification done;
    net::ServerResponse response;
  };
  const auto deliver = [this](const std::string& envelope, Answer& answer) {
    gateway_->Handle(Lc().Build(envelope), [&answer](net::ServerResponse response) {
      answer.response = std::move(response);
      answer.done.Notify();
    });
  };
  Answer from_continuation, from_original;
  deliver(testing::RequestEnvelope(org_, continuation["action"].GetString(), testing::Json(continuation["state"]),
                                   Config(), "detection-1:1"),
          from_continuation);
  ASSERT_TRUE(called.WaitForNotificationWithTimeout(absl::Seconds(10)));
  deliver(testing::RequestEnvelope(org_, "create_ticket", kTicketData, Config(), "detection-1"), from_original);
  EXPECT_FALSE(from_original.done.HasBeenNotified());  // waits for the running continuation
  held(TicketResponse(11, *held_request));
  ASSERT_TRUE(from_continuation.done.WaitForNotificationWithTimeout(absl::Seconds(10)));
  ASSERT_TRUE(from_original.done.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_EQ(from_original.response.body, from_continuation.response.body);
  EXPECT_EQ(testing::ParseReply(from_original.response).data()["id"].GetInt(), 11);
}

TEST_F(GatewayDeferralTest, ReadsAreNotDeferred) {
  EXPECT_CALL(*service_, Call(Method("SearchTickets"), _, _, _, _)).WillOnce(Fails(BudgetRefusal(absl::Seconds(5))));
  Reply reply = Request("search_tickets", R"({"search":"x"})", "search-1");
  EXPECT_EQ(reply.status, 500);
  EXPECT_EQ(reply.retriable(), true);
  EXPECT_FALSE(reply.json.HasMember("continuations"));
}

TEST_F(GatewayDeferralTest, WithoutAnIdempotencyKeyNothingCouldDeduplicateTheContinuation) {
  EXPECT_CALL(*service_, Call(_, _, _, _, _)).WillOnce(Fails(BudgetRefusal(absl::Seconds(5))));
  Reply reply = Request("create_ticket", kTicketData, "");
  EXPECT_EQ(reply.status, 500);
  EXPECT_FALSE(reply.json.HasMember("continuations"));
}

TEST_F(GatewayDeferralTest, OtherRetriableFailuresAreNotDeferred) {
  EXPECT_CALL(*service_, Call(_, _, _, _, _))
      .WillOnce(Fails(WithRetryDelay(WithErrorInfo(absl::UnavailableError("HaloPSA answered 503"),
                                                   "UPSTREAM_UNAVAILABLE"),
                                     absl::Seconds(2))));
  Reply reply = Request("update_ticket", R"({"id":5,"status_id":2})", "update-1");
  EXPECT_EQ(reply.status, 500);
  EXPECT_FALSE(reply.json.HasMember("continuations"));
}

TEST_F(GatewayDeferralTest, AStateTheSchemaRefusesIsRefusedBeforeAnyCall) {
  Reply reply = Request("run_deferred", R"({"action":"create_ticket","data":{"summary":"s"}})", "k:1");
  EXPECT_EQ(reply.status, 400);
  EXPECT_EQ(reply.retriable(), false);
  EXPECT_THAT(reply.error(), ::testing::HasSubstr("run_deferred.idempotency_key"));
}

}  // namespace
}  // namespace halopsa::lc

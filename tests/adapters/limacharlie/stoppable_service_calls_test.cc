#include "adapters/limacharlie/stoppable_service_calls.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <utility>

#include "halopsa/v1/halopsa.pb.h"
#include "tests/testing/mock_service_calls.h"

namespace halopsa::lc {
namespace {

using ::halopsa::testing::Answers;
using ::halopsa::testing::Fails;
using ::halopsa::testing::MockServiceCalls;
using Result = absl::StatusOr<std::unique_ptr<google::protobuf::Message>>;

constexpr char kStopped[] = "ext-halopsa is shutting down; retry later";

class StoppableServiceCallsTest : public ::testing::Test {
 protected:
  StoppableServiceCallsTest() {
    auto service = std::make_unique<::testing::StrictMock<MockServiceCalls>>();
    service_ = service.get();
    calls_ = std::make_unique<StoppableServiceCalls>(std::move(service), kStopped);
  }

  // Starts a call; the answer lands in `result`.
  void Call(std::optional<Result>& result) {
    calls_->Call(*v1::SearchTicketsRequest::descriptor()->file()->service(0)->FindMethodByName("SearchTickets"),
                 std::make_shared<v1::SearchTicketsRequest>(), {}, absl::Now() + absl::Seconds(10),
                 [&result](Result response) {
                   EXPECT_FALSE(result.has_value()) << "answered twice";
                   result = std::move(response);
                 });
  }

  ::testing::StrictMock<MockServiceCalls>* service_;  // owned by calls_
  std::unique_ptr<StoppableServiceCalls> calls_;
};

TEST_F(StoppableServiceCallsTest, CallsAndTheirFailuresPassThroughUntilStopped) {
  EXPECT_CALL(*service_, Call)
      .WillOnce(Answers<v1::SearchTicketsResponse>(R"({"record_count": 2})"))
      .WillOnce(Fails(absl::CancelledError("the caller gave up")));
  std::optional<Result> answered, cancelled;
  Call(answered);
  ASSERT_TRUE(answered.has_value() && answered->ok());
  Call(cancelled);
  ASSERT_TRUE(cancelled.has_value());
  EXPECT_EQ(cancelled->status(), absl::CancelledError("the caller gave up"));
}

TEST_F(StoppableServiceCallsTest, CallsCancelledByTheStopSayWhy) {
  ServiceCalls::Callback held;
  EXPECT_CALL(*service_, Call).WillOnce([&held](auto&&, auto&&, auto&&, auto&&, ServiceCalls::Callback done) {
    held = std::move(done);
  });
  EXPECT_CALL(*service_, CancelAll()).WillOnce([&held] { held(absl::CancelledError("the call was cancelled")); });
  std::optional<Result> result;
  Call(result);
  EXPECT_FALSE(result.has_value());
  calls_->CancelAll();
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(result->status(), absl::CancelledError(kStopped));
}

TEST_F(StoppableServiceCallsTest, NoCallStartsOnceStopped) {
  EXPECT_CALL(*service_, CancelAll());
  calls_->CancelAll();
  std::optional<Result> result;
  Call(result);  // the StrictMock fails the test if it reaches the service
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(result->status(), absl::CancelledError(kStopped));
}

}  // namespace
}  // namespace halopsa::lc

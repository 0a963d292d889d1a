#include "server/in_process_service_calls.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/descriptor.pb.h>

#include <memory>
#include <string>

#include "absl/strings/str_cat.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "halopsa/v1/halopsa.pb.h"
#include "server/error_mapping.h"
#include "tests/server/mock_halo_api.h"
#include "tests/testing/callback_result.h"
#include "tests/testing/error_details.h"

namespace halopsa {
namespace {

using ::testing::_;
using ::testing::AllOf;
using ::testing::Field;
using Result = absl::StatusOr<std::unique_ptr<google::protobuf::Message>>;

const google::protobuf::MethodDescriptor& Method(absl::string_view name) {
  return *v1::CreateTicketRequest::descriptor()->file()->FindServiceByName("HaloPsaService")->FindMethodByName(
      std::string(name));
}

class InProcessServiceCallsTest : public ::testing::Test {
 protected:
  InProcessServiceCallsTest()
      : runner_(actions_, ServiceOptions{std::make_shared<HaloConnection>(HaloConnection{
                                             .instance_url = "https://default.halopsa.com",
                                             .client_id = "id",
                                             .client_secret = "secret"})}) {}

  // Calls `method` (CallbackResult fails the test when it answers twice).
  testing::CallbackResult<Result> Call(absl::string_view method,
                                       std::shared_ptr<const google::protobuf::Message> request,
                                       const ServiceCalls::Metadata& metadata) {
    testing::CallbackResult<Result> result(absl::StrCat("the answer to ", method));
    calls_.Call(Method(method), std::move(request), metadata, absl::Now() + absl::Seconds(10), result.Callback());
    return result;
  }

  static std::shared_ptr<v1::CreateTicketRequest> CreateRequest() {
    auto request = std::make_shared<v1::CreateTicketRequest>();
    request->set_summary("Suspicious PowerShell on WS-042");
    return request;
  }

  ::testing::StrictMock<testing::MockHaloApi> api_;
  HaloPsaOperations actions_{api_};
  CallRunner runner_;
  InProcessServiceCalls calls_{runner_};
};

TEST_F(InProcessServiceCallsTest, MetadataChoosesTheConnectionKeyAndOrgAndTheResponseHasTheMethodsType) {
  EXPECT_CALL(api_, Post(AllOf(Field(&CallContext::idempotency_key, "lc-callback-1"), Field(&CallContext::org, "oid-1"),
                               Field(&CallContext::connection,
                                     ::testing::Pointee(Field(&HaloConnection::instance_url, "https://acme.halopsa.com")))),
                         "/api/Tickets", _, _))
      .WillOnce(testing::AnswerJson(R"({"id": 7, "summary": "Suspicious PowerShell on WS-042"})"));
  Result result = Call("CreateTicket", CreateRequest(),
                       {{"x-halopsa-instance-url", "https://acme.halopsa.com/"},
                        {"x-halopsa-client-id", "acme-id"},
                        {"x-halopsa-client-secret", "acme-secret"},
                        {"x-idempotency-key", "lc-callback-1"},
                        {"x-halopsa-org-id", "oid-1"}})
                      .Await();
  ASSERT_TRUE(result.ok()) << result.status();
  const auto* response = google::protobuf::DynamicCastToGenerated<v1::CreateTicketResponse>(result->get());
  ASSERT_NE(response, nullptr);
  EXPECT_EQ(response->id(), 7);
}

TEST_F(InProcessServiceCallsTest, FailuresKeepTheirErrorInfo) {
  EXPECT_CALL(api_, Post).WillOnce(testing::AnswerStatus(
      WithErrorInfo(absl::DeadlineExceededError("HaloPSA did not answer"), kReasonUpstreamTimeout)));
  Result result = Call("CreateTicket", CreateRequest(), {}).Await();
  EXPECT_EQ(result.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(testing::ReasonOf(result.status()), kReasonUpstreamTimeout);
}

TEST_F(InProcessServiceCallsTest, RequestOfAnotherTypeIsRefusedBeforeAnythingRuns) {
  Result result = Call("SearchTickets", CreateRequest(), {}).Await();
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(result.status().message()), ::testing::HasSubstr("halopsa.v1.SearchTicketsRequest"));
}

TEST_F(InProcessServiceCallsTest, MethodOfAnotherServiceIsRefused) {
  google::protobuf::FileDescriptorProto file;
  file.set_name("other.proto");
  file.set_package("other");
  file.add_message_type()->set_name("Empty");
  google::protobuf::MethodDescriptorProto* method = file.add_service()->add_method();
  file.mutable_service(0)->set_name("Other");
  method->set_name("CreateTicket");
  method->set_input_type(".other.Empty");
  method->set_output_type(".other.Empty");
  google::protobuf::DescriptorPool pool;
  const google::protobuf::FileDescriptor* built = pool.BuildFile(file);
  ASSERT_NE(built, nullptr);
  testing::CallbackResult<Result> answer("the answer to other.Other.CreateTicket");
  calls_.Call(*built->service(0)->method(0), CreateRequest(), {}, absl::Now() + absl::Seconds(10), answer.Callback());
  Result result = answer.Await();
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(result.status().message()), ::testing::HasSubstr("other.Other.CreateTicket"));
}

TEST_F(InProcessServiceCallsTest, CancelAllAnswersAtOnceAndTheLateUpstreamAnswerIsDropped) {
  HaloApi::Callback held;
  EXPECT_CALL(api_, Post).WillOnce([&held](const CallContext&, std::string, google::protobuf::Value,
                                           HaloApi::Callback done) { held = std::move(done); });
  // The only reference to the request is the call's own: the action still
  // reads it after the cancellation.
  testing::CallbackResult<Result> result = Call("CreateTicket", CreateRequest(), {});
  EXPECT_FALSE(result.fired());
  calls_.CancelAll();
  EXPECT_EQ(result.Await().status().code(), absl::StatusCode::kCancelled);
  held(testing::Json(R"({"id": 8})"));  // "came twice" would fail here
  EXPECT_TRUE(runner_.WaitUntilIdle(absl::Now() + testing::kCallbackBound));
}

}  // namespace
}  // namespace halopsa

#include "server/grpc_service.h"

#include <chrono>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "server/error_mapping.h"
#include "server/json_values.h"
#include "tests/server/mock_halo_api.h"
#include "tests/testing/error_details.h"

namespace halopsa {
namespace {

// The service over an in-process channel, with HaloPSA mocked.
class HaloPsaGrpcServiceTest : public ::testing::Test {
 protected:
  HaloPsaGrpcServiceTest() {
    // An unexpected upstream call fails the test (StrictMock) and is answered,
    // so that the RPC still ends.
    ON_CALL(api_, Post).WillByDefault(testing::AnswerStatus(absl::InternalError("unexpected upstream call")));
    grpc::ServerBuilder builder;
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    stub_ = v1::HaloPsaService::NewStub(server_->InProcessChannel(grpc::ChannelArguments()));
  }
  ~HaloPsaGrpcServiceTest() override { server_->Shutdown(); }

  grpc::Status CreateTicket(grpc::ClientContext& context) {
    v1::CreateTicketRequest request;
    request.set_summary("s");
    v1::CreateTicketResponse response;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    return stub_->CreateTicket(&context, request, &response);
  }

  ::testing::StrictMock<testing::MockHaloApi> api_;
  HaloPsaOperations actions_{api_};
  CallRunner runner_{actions_, ServiceOptions{std::make_shared<HaloConnection>(HaloConnection{
                                   .instance_url = "https://default.halopsa.com",
                                   .client_id = "id",
                                   .client_secret = "secret"})}};
  HaloPsaGrpcService service_{runner_};
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<v1::HaloPsaService::Stub> stub_;
};

TEST_F(HaloPsaGrpcServiceTest, IdempotencyKeyMetadataReachesTheCallContext) {
  EXPECT_CALL(api_, Post(::testing::Field(&CallContext::idempotency_key, "lc-callback-1"), "/api/Tickets",
                         ::testing::_, ::testing::_))
      .WillOnce(testing::AnswerJson(R"({"id": 7})"));
  grpc::ClientContext context;
  context.AddMetadata("x-idempotency-key", "lc-callback-1");
  grpc::Status status = CreateTicket(context);
  EXPECT_TRUE(status.ok()) << status.error_message();
}

TEST_F(HaloPsaGrpcServiceTest, OrgIdMetadataReachesTheCallContext) {
  EXPECT_CALL(api_, Post(::testing::Field(&CallContext::org, "msp-customer-7"), "/api/Tickets", ::testing::_,
                         ::testing::_))
      .WillOnce(testing::AnswerJson(R"({"id": 7})"));
  grpc::ClientContext context;
  context.AddMetadata("x-halopsa-org-id", "msp-customer-7");
  grpc::Status status = CreateTicket(context);
  EXPECT_TRUE(status.ok()) << status.error_message();
}

TEST_F(HaloPsaGrpcServiceTest, CallsWithoutOrgIdShareTheAnonymousOrg) {
  EXPECT_CALL(api_, Post(::testing::Field(&CallContext::org, ""), "/api/Tickets", ::testing::_, ::testing::_))
      .WillOnce(testing::AnswerJson(R"({"id": 7})"));
  grpc::ClientContext context;
  grpc::Status status = CreateTicket(context);
  EXPECT_TRUE(status.ok()) << status.error_message();
}

// A service that serves two calls at once, whose upstream holds every
// search until the test answers it.
class HaloPsaGrpcServiceOverloadTest : public ::testing::Test {
 protected:
  struct Call {
    grpc::ClientContext context;
    v1::SearchTicketsResponse response;
    grpc::Status status;
    absl::Notification done;
  };

  HaloPsaGrpcServiceOverloadTest() {
    EXPECT_CALL(api_, Get).WillRepeatedly([this](const CallContext&, std::string, HaloApi::Query,
                                                 HaloApi::Callback done) {
      absl::MutexLock lock(&mu_);
      held_.push_back(std::move(done));
    });
    grpc::ServerBuilder builder;
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    stub_ = v1::HaloPsaService::NewStub(server_->InProcessChannel(grpc::ChannelArguments()));
  }
  ~HaloPsaGrpcServiceOverloadTest() override { server_->Shutdown(); }

  static ServiceOptions TwoCallsAtOnce() {
    ServiceOptions options;
    options.default_connection = std::make_shared<HaloConnection>(
        HaloConnection{.instance_url = "https://h.example", .client_id = "id", .client_secret = "s"});
    options.max_calls_in_flight = 2;
    return options;
  }

  void Start(Call& call) {
    stub_->async()->SearchTickets(&call.context, &request_, &call.response, [&call](grpc::Status status) {
      call.status = std::move(status);
      call.done.Notify();
    });
  }

  // True once `count` searches have reached upstream.
  bool AwaitHeld(size_t count) {
    absl::MutexLock lock(&mu_);
    const auto reached = [this, count] { return held_.size() == count; };
    return mu_.AwaitWithTimeout(absl::Condition(&reached), absl::Seconds(10));
  }

  // Answers the held searches from the `first`th on (none found).
  void AnswerHeld(size_t first) {
    absl::MutexLock lock(&mu_);
    for (size_t i = first; i < held_.size(); ++i) held_[i](testing::Json(R"({"record_count": 0, "tickets": []})"));
  }

  testing::MockHaloApi api_;
  HaloPsaOperations operations_{api_};
  CallRunner runner_{operations_, TwoCallsAtOnce()};
  HaloPsaGrpcService service_{runner_};
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<v1::HaloPsaService::Stub> stub_;
  v1::SearchTicketsRequest request_;
  absl::Mutex mu_;
  std::vector<HaloApi::Callback> held_;  // guarded by mu_
};

TEST_F(HaloPsaGrpcServiceOverloadTest, CallsBeyondTheLimitAreShedWithRetryInfoUntilOthersFinish) {
  Call first, second, shed, later;
  Start(first);
  Start(second);
  ASSERT_TRUE(AwaitHeld(2));

  Start(shed);
  ASSERT_TRUE(shed.done.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_EQ(shed.status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  const absl::Status shed_status = FromGrpcStatus(shed.status);
  EXPECT_EQ(testing::ReasonOf(shed_status), kReasonOverloaded);
  EXPECT_TRUE(GetRetryDelay(shed_status).has_value());

  AnswerHeld(0);
  ASSERT_TRUE(first.done.WaitForNotificationWithTimeout(absl::Seconds(10)));
  ASSERT_TRUE(second.done.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_TRUE(first.status.ok()) << first.status.error_message();
  Start(later);  // room again
  ASSERT_TRUE(AwaitHeld(3));
  AnswerHeld(2);
  ASSERT_TRUE(later.done.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_TRUE(later.status.ok()) << later.status.error_message();
}

TEST_F(HaloPsaGrpcServiceTest, OversizedIdempotencyKeyIsRefusedBeforeHaloPsa) {
  grpc::ClientContext context;  // the StrictMock fails the test on any upstream call
  context.AddMetadata("x-idempotency-key", std::string(kMaxIdempotencyKeyBytes + 1, 'k'));
  grpc::Status status = CreateTicket(context);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), ::testing::HasSubstr("x-idempotency-key"));
}

// The probe's input over gRPC: `extra` holding a list of empty objects,
// refused from its bytes (the StrictMock fails the test on any upstream call).
TEST_F(HaloPsaGrpcServiceTest, RequestOverTheNodeLimitIsRefusedBeforeParsingOrHaloPsa) {
  v1::CreateTicketRequest request;
  request.set_summary("s");
  google::protobuf::ListValue& empties = *(*request.mutable_extra()->mutable_fields())["x"].mutable_list_value();
  for (size_t i = 0; i < kRequestJsonLimits.max_nodes; ++i) empties.add_values()->mutable_struct_value();
  grpc::ClientContext context;
  v1::CreateTicketResponse response;
  grpc::Status status = stub_->CreateTicket(&context, request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), ::testing::HasSubstr("max_json_nodes (10000)"));
  EXPECT_EQ(testing::ReasonOf(FromGrpcStatus(status)), kReasonRequestTooLarge);
}

TEST_F(HaloPsaGrpcServiceTest, RequestOverTheByteLimitIsRefusedNamingIt) {
  v1::CreateTicketRequest request;
  request.set_summary("s");
  request.set_details(std::string(kRequestJsonLimits.max_bytes, 'd'));
  grpc::ClientContext context;
  v1::CreateTicketResponse response;
  grpc::Status status = stub_->CreateTicket(&context, request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), ::testing::HasSubstr("max_request_bytes"));
}

}  // namespace
}  // namespace halopsa

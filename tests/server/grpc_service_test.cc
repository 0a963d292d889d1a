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

TEST(HaloPsaGrpcServiceOverloadTest, CallsBeyondTheLimitAreShedWithRetryInfoUntilOthersFinish) {
  testing::MockHaloApi api;
  HaloPsaOperations actions(api);
  ServiceOptions options;
  options.default_connection = std::make_shared<HaloConnection>(
      HaloConnection{.instance_url = "https://h.example", .client_id = "id", .client_secret = "s"});
  options.max_calls_in_flight = 2;
  CallRunner runner(actions, options);
  HaloPsaGrpcService service(runner);
  grpc::ServerBuilder builder;
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  auto stub = v1::HaloPsaService::NewStub(server->InProcessChannel(grpc::ChannelArguments()));
  // Upstream holds the first two calls until released.
  absl::Mutex mu;
  std::vector<HaloApi::Callback> held;
  EXPECT_CALL(api, Get).WillRepeatedly([&](const CallContext&, std::string, HaloApi::Query, HaloApi::Callback done) {
    absl::MutexLock lock(&mu);
    held.push_back(std::move(done));
  });
  v1::SearchTicketsRequest request;
  struct Call {
    grpc::ClientContext context;
    v1::SearchTicketsResponse response;
    grpc::Status status;
    absl::Notification done;
  };
  auto start = [&](Call& call) {
    stub->async()->SearchTickets(&call.context, &request, &call.response, [&call](grpc::Status status) {
      call.status = std::move(status);
      call.done.Notify();
    });
  };
  Call first, second, shed, later;
  start(first);
  start(second);
  {
    absl::MutexLock lock(&mu);
    const auto both_held = [&held] { return held.size() == 2; };
    ASSERT_TRUE(mu.AwaitWithTimeout(absl::Condition(&both_held), absl::Seconds(10)));
  }

  start(shed);
  ASSERT_TRUE(shed.done.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_EQ(shed.status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  const absl::Status shed_status = FromGrpcStatus(shed.status);
  EXPECT_EQ(testing::ReasonOf(shed_status), kReasonOverloaded);
  EXPECT_TRUE(GetRetryDelay(shed_status).has_value());

  {
    absl::MutexLock lock(&mu);
    for (HaloApi::Callback& done : held) done(testing::Json(R"({"record_count": 0, "tickets": []})"));
  }
  ASSERT_TRUE(first.done.WaitForNotificationWithTimeout(absl::Seconds(10)));
  ASSERT_TRUE(second.done.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_TRUE(first.status.ok()) << first.status.error_message();
  start(later);  // room again
  {
    absl::MutexLock lock(&mu);
    const auto third_held = [&held] { return held.size() == 3; };
    ASSERT_TRUE(mu.AwaitWithTimeout(absl::Condition(&third_held), absl::Seconds(10)));
    held.back()(testing::Json(R"({"record_count": 0, "tickets": []})"));
  }
  ASSERT_TRUE(later.done.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_TRUE(later.status.ok()) << later.status.error_message();
  server->Shutdown();
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

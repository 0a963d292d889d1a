#include "server/request_limits.h"

#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "halopsa/v1/halopsa.pb.h"
#include "server/error_mapping.h"

namespace halopsa {
namespace {

using ::testing::HasSubstr;

constexpr JsonLimits kSmall = {.max_depth = 3, .max_nodes = 5, .max_bytes = 200};

absl::Status Check(const google::protobuf::Message& message, const JsonLimits& limits = kSmall) {
  return CheckSerializedRequest(message.SerializeAsString(), *message.GetDescriptor(), limits);
}

v1::CreateTicketRequest WithExtraList(int empty_objects) {
  v1::CreateTicketRequest request;
  request.set_summary("s");
  google::protobuf::ListValue& list = *(*request.mutable_extra()->mutable_fields())["x"].mutable_list_value();
  for (int i = 0; i < empty_objects; ++i) list.add_values()->mutable_struct_value();
  return request;
}

TEST(RequestLimitsTest, CountsEveryValueAnywhereInTheMessage) {
  // The list itself is one node, each empty object another.
  EXPECT_TRUE(Check(WithExtraList(4)).ok());
  absl::Status status = Check(WithExtraList(5));
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("max_json_nodes (5)"));
  std::optional<google::rpc::ErrorInfo> info = GetErrorInfo(status);
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->reason(), kReasonRequestTooLarge);
  EXPECT_EQ(info->metadata().at("limit"), "max_json_nodes");
  EXPECT_EQ(info->metadata().at("value"), "5");
}

TEST(RequestLimitsTest, CountsNestingInValueLevels) {
  v1::UpdateTicketRequest request;
  google::protobuf::Value* level = &(*request.mutable_extra()->mutable_fields())["a"];
  for (int i = 0; i < 2; ++i) level = &(*level->mutable_struct_value()->mutable_fields())["b"];
  level->set_number_value(1);
  EXPECT_TRUE(Check(request).ok());  // three Value levels
  (*level->mutable_struct_value()->mutable_fields())["c"].set_bool_value(true);
  EXPECT_THAT(Check(request).message(), HasSubstr("max_json_depth (3)"));
}

TEST(RequestLimitsTest, RefusesMoreBytesThanTheLimit) {
  v1::CreateTicketRequest request;
  request.set_details(std::string(kSmall.max_bytes, 'd'));
  EXPECT_THAT(Check(request).message(), HasSubstr("max_request_bytes (200)"));
}

TEST(RequestLimitsTest, RefusesMalformedBytes) {
  const std::string truncated = WithExtraList(2).SerializeAsString().substr(0, 10);
  EXPECT_EQ(CheckSerializedRequest(truncated, *v1::CreateTicketRequest::descriptor(), kSmall).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(RequestLimitsTest, OrdinaryRequestsPassTheServiceLimits) {
  v1::CreateTicketRequest request = WithExtraList(100);
  request.set_details(std::string(100000, 'd'));
  EXPECT_TRUE(Check(request, kRequestJsonLimits).ok());
}

}  // namespace
}  // namespace halopsa

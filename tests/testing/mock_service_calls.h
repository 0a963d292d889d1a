#ifndef HALOPSA_TESTS_TESTING_MOCK_SERVICE_CALLS_H_
#define HALOPSA_TESTS_TESTING_MOCK_SERVICE_CALLS_H_

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>
#include <google/protobuf/util/json_util.h>

#include <memory>
#include <string>
#include <utility>

#include <gmock/gmock.h>

#include "absl/status/status.h"
#include "server/service_calls.h"

namespace halopsa::testing {

// HaloPsaService as the gateway sees it, whichever way it is reached.
class MockServiceCalls : public ServiceCalls {
 public:
  MOCK_METHOD(void, Call,
              (const google::protobuf::MethodDescriptor& method, std::shared_ptr<const google::protobuf::Message> request,
               const Metadata& metadata, absl::Time deadline, Callback done),
              (override));
  MOCK_METHOD(void, CancelAll, (), (override));
};

// Matches the MethodDescriptor of HaloPsaService's method `name`, e.g. "CreateTicket".
MATCHER_P(Method, name, "") { return arg.name() == name; }

// Call actions: answer with `status`, or with a `Response` read from proto3 JSON.
inline auto Fails(absl::Status status) {
  return [status](const google::protobuf::MethodDescriptor&, std::shared_ptr<const google::protobuf::Message>,
                  const ServiceCalls::Metadata&, absl::Time, ServiceCalls::Callback done) { done(status); };
}

template <typename Response>
auto Answers(std::string json) {
  return [json](const google::protobuf::MethodDescriptor&, std::shared_ptr<const google::protobuf::Message>,
                const ServiceCalls::Metadata&, absl::Time, ServiceCalls::Callback done) {
    auto response = std::make_unique<Response>();
    EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(json, response.get()).ok()) << json;
    done(std::move(response));
  };
}

}  // namespace halopsa::testing

#endif  // HALOPSA_TESTS_TESTING_MOCK_SERVICE_CALLS_H_

#ifndef HALOPSA_TESTS_SERVER_MOCK_HALO_API_H_
#define HALOPSA_TESTS_SERVER_MOCK_HALO_API_H_

#include <string>
#include <utility>

#include <gmock/gmock.h>

#include "server/halo_api.h"
#include "server/json_values.h"
#include "tests/testing/callback_result.h"
#include "tests/testing/json_matchers.h"

namespace halopsa::testing {

class MockHaloApi : public HaloApi {
 public:
  MOCK_METHOD(void, Get, (const CallContext&, std::string, Query, Callback), (override));
  MOCK_METHOD(void, Post, (const CallContext&, std::string, google::protobuf::Value, Callback), (override));
};

// Answers a Get/Post with the JSON text `answer`.
inline auto AnswerJson(std::string answer) {
  return [answer](auto&&... args) {
    auto& done = std::get<3>(std::forward_as_tuple(args...));
    done(Json(answer));
  };
}

// Answers a Get/Post with a failure.
inline auto AnswerStatus(absl::Status status) {
  return [status](auto&&... args) {
    auto& done = std::get<3>(std::forward_as_tuple(args...));
    done(status);
  };
}

// Runs an action whose callback the mock completes synchronously.
template <typename Response, typename Start>
absl::StatusOr<Response> RunAction(Start start) {
  CallbackResult<absl::StatusOr<Response>> result("the action's answer");
  start(result.Callback());
  return result.Await(absl::ZeroDuration());
}

}  // namespace halopsa::testing

#endif  // HALOPSA_TESTS_SERVER_MOCK_HALO_API_H_

#ifndef HALOPSA_TESTS_SERVER_MOCK_HALO_API_H_
#define HALOPSA_TESTS_SERVER_MOCK_HALO_API_H_

#include <optional>
#include <string>
#include <utility>

#include <gmock/gmock.h>
#include <google/protobuf/util/message_differencer.h>

#include "server/halo_api.h"
#include "server/json_values.h"

namespace halopsa::testing {

class MockHaloApi : public HaloApi {
 public:
  MOCK_METHOD(void, Get, (const CallContext&, std::string, Query, Callback), (override));
  MOCK_METHOD(void, Post, (const CallContext&, std::string, google::protobuf::Value, Callback), (override));
};

inline google::protobuf::Value Json(absl::string_view text) {
  absl::StatusOr<google::protobuf::Value> value = ParseJson(text);
  EXPECT_TRUE(value.ok()) << "bad test JSON: " << text;
  return value.ok() ? *value : google::protobuf::Value();
}

// Matches a Value equal to the JSON text `expected`.
MATCHER_P(JsonEq, expected, absl::StrCat("is JSON ", expected)) {
  bool equal = google::protobuf::util::MessageDifferencer::Equals(arg, Json(expected));
  if (!equal) *result_listener << "which is " << ToJson(arg);
  return equal;
}

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
  std::optional<absl::StatusOr<Response>> result;
  start([&result](absl::StatusOr<Response> r) { result = std::move(r); });
  EXPECT_TRUE(result.has_value()) << "the action never answered";
  return result.has_value() ? *std::move(result) : absl::InternalError("no answer");
}

}  // namespace halopsa::testing

#endif  // HALOPSA_TESTS_SERVER_MOCK_HALO_API_H_

#ifndef HALOPSA_TESTS_TESTING_JSON_MATCHERS_H_
#define HALOPSA_TESTS_TESTING_JSON_MATCHERS_H_

// The one JSON matcher of the tests, for JSON text (what the gateway and the
// simulator send) and for protobuf Values (what the service hands HaloApi).

#include <gmock/gmock.h>
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/message_differencer.h>

#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "server/json_values.h"

namespace halopsa::testing {

// The Value of the test's JSON text `text`; a bad text fails the test.
inline google::protobuf::Value Json(absl::string_view text) {
  absl::StatusOr<google::protobuf::Value> value = ParseJson(text);
  EXPECT_TRUE(value.ok()) << "bad test JSON: " << text;
  return value.ok() ? *value : google::protobuf::Value();
}

namespace json_internal {

inline bool SameJson(const google::protobuf::Value& actual, absl::string_view expected,
                     ::testing::MatchResultListener* listener) {
  if (google::protobuf::util::MessageDifferencer::Equals(actual, Json(expected))) return true;
  *listener << "which is " << ToJson(actual);
  return false;
}

// Text must also print no whole number as a fraction ("1.0"): HaloPSA and
// LimaCharlie read those fields as integers.
inline bool SameJson(absl::string_view actual, absl::string_view expected, ::testing::MatchResultListener* listener) {
  absl::StatusOr<google::protobuf::Value> parsed = ParseJson(actual);
  if (!parsed.ok()) {
    *listener << "which is not JSON: " << parsed.status().message();
    return false;
  }
  for (const char* fraction : {".0,", ".0}", ".0]"}) {
    if (absl::StrContains(actual, fraction)) {
      *listener << "which prints a whole number as a fraction";
      return false;
    }
  }
  return SameJson(*parsed, expected, listener);
}

}  // namespace json_internal

// Matches JSON text or a protobuf Value equal to the JSON text `expected`
// (object members in any order).
MATCHER_P(JsonEq, expected, absl::StrCat("is JSON ", expected)) {
  return json_internal::SameJson(arg, expected, result_listener);
}

}  // namespace halopsa::testing

#endif  // HALOPSA_TESTS_TESTING_JSON_MATCHERS_H_

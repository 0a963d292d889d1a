#ifndef HALOPSA_SERVER_JSON_VALUES_DOM_H_
#define HALOPSA_SERVER_JSON_VALUES_DOM_H_

// json_values for callers that already hold a RapidJSON DOM (not part of
// json_values.h: it pulls RapidJSON in).

#include <google/protobuf/struct.pb.h>
#include <rapidjson/document.h>

#include "absl/status/statusor.h"

namespace halopsa {

// `dom` as a Value, by the same rules as ParseJson (no text in between).
absl::StatusOr<google::protobuf::Value> ValueFromDom(const rapidjson::Value& dom);

}  // namespace halopsa

#endif  // HALOPSA_SERVER_JSON_VALUES_DOM_H_

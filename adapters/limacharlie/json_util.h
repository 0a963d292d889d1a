#ifndef HALOPSA_ADAPTERS_LIMACHARLIE_JSON_UTIL_H_
#define HALOPSA_ADAPTERS_LIMACHARLIE_JSON_UTIL_H_

// RapidJSON helpers shared by the gateway's .cc files (not a public header:
// it pulls RapidJSON in).

#include <rapidjson/document.h>

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace halopsa::lc {

// Nesting deeper than this is refused: nothing LimaCharlie sends comes close,
// and recursive consumers (protobuf's JSON parser, RapidJSON's writer) must
// not be handed unbounded depth.
inline constexpr int kMaxJsonDepth = 64;

// Parses `text` (UTF-8 checked) without recursion and checks
// kMaxJsonDepth. INVALID_ARGUMENT says where parsing failed.
absl::Status ParseJson(absl::string_view text, rapidjson::Document& document);

// Compact JSON text of `value`.
std::string ToJson(const rapidjson::Value& value);

// The string at `value`, as a string_view (RapidJSON strings may hold NULs).
inline absl::string_view View(const rapidjson::Value& value) {
  return absl::string_view(value.GetString(), value.GetStringLength());
}

}  // namespace halopsa::lc

#endif  // HALOPSA_ADAPTERS_LIMACHARLIE_JSON_UTIL_H_

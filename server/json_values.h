#ifndef HALOPSA_SERVER_JSON_VALUES_H_
#define HALOPSA_SERVER_JSON_VALUES_H_

// Small helpers over google::protobuf::Value, the JSON model shared by the
// service logic, the HaloPSA adapter and the simulator (library halopsa_json,
// which depends on nothing of the project).

#include <cstddef>
#include <optional>
#include <string>
#include "absl/strings/string_view.h"

#include <google/protobuf/struct.pb.h>

#include "absl/status/statusor.h"

namespace halopsa {

// RapidJSON 1.1 decodes an escaped lone surrogate (\uD800..\uDFFF) into
// the bytes ED A0..BF xx even when validating; those are not UTF-8, and
// protobuf strings must be. True when `text` holds such a sequence.
bool HasEncodedSurrogate(absl::string_view text);

google::protobuf::Value JsonNumber(double number);
google::protobuf::Value JsonString(absl::string_view text);
google::protobuf::Value JsonBool(bool flag);

// `object[key]` as an int32 when it holds a whole number (or a string of
// one) in range; nullopt otherwise.
std::optional<int> IntField(const google::protobuf::Struct& object, absl::string_view key);

// `object[key]` as a string; "" when absent or not a string.
std::string StringField(const google::protobuf::Struct& object, absl::string_view key);

// Sets every top-level key of `overrides` on `target`, replacing what was there.
void MergeTopLevel(const google::protobuf::Struct& overrides, google::protobuf::Struct& target);

// What one decoded request may hold, whichever way it came (a webhook
// envelope's JSON, the Struct and Value fields of a gRPC request): nesting
// levels, JSON values (nodes: every object, array, string, number, bool and
// null) and bytes. Memory per call then stays bounded whatever arrives (a
// Value costs ~200 bytes in protobuf, so an unbounded list of empty objects
// turns 1 MiB into ~60 MB).
struct JsonLimits {
  size_t max_depth;
  size_t max_nodes;
  size_t max_bytes;
};
inline constexpr JsonLimits kRequestJsonLimits = {.max_depth = 32, .max_nodes = 10000, .max_bytes = 1 << 20};

// JSON text <-> Value (RapidJSON, for speed). Parse errors are
// INVALID_ARGUMENT with the offset, never echoing the input; nesting is
// bounded by kMaxJsonDepth and strings must be valid UTF-8. Whole numbers
// up to 2^53 print without a fraction; object keys print sorted.
inline constexpr size_t kMaxJsonDepth = 64;
absl::StatusOr<google::protobuf::Value> ParseJson(absl::string_view text);
std::string ToJson(const google::protobuf::Value& value);

}  // namespace halopsa

#endif  // HALOPSA_SERVER_JSON_VALUES_H_

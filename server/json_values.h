#ifndef HALOPSA_SERVER_JSON_VALUES_H_
#define HALOPSA_SERVER_JSON_VALUES_H_

// Small helpers over google::protobuf::Value, the JSON model shared by the
// service logic, the HaloPSA adapter and the simulator (library halopsa_json,
// which depends on nothing of the project).

#include <cstddef>
#include <limits>
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

// How deep any JSON the service parses may nest (HaloPSA's answers, the
// simulator's requests, decoded requests). Protobuf copies, prints and
// frees a Value recursively, one stack frame per level, and refuses to
// parse more than 100 levels itself; 64 keeps every walk well inside both
// while nothing HaloPSA sends comes near it (its objects nest 3 or 4 deep).
inline constexpr size_t kMaxJsonDepth = 64;

// What one JSON document may hold: nesting levels (the outermost value is
// level 1), JSON values (nodes: every object, array, string, number, bool
// and null) and bytes.
struct JsonLimits {
  size_t max_depth;
  size_t max_nodes;
  size_t max_bytes;
};

// What one decoded request may hold, whichever way it came (a webhook
// envelope's JSON, the Struct and Value fields of a gRPC request). Memory
// per call then stays bounded whatever arrives (a Value costs ~200 bytes in
// protobuf, so an unbounded list of empty objects turns 1 MiB into ~60 MB).
// Half of kMaxJsonDepth: the service puts a request's values a few levels
// down in what it sends HaloPSA, and must still parse them when HaloPSA
// sends them back.
inline constexpr JsonLimits kRequestJsonLimits = {
    .max_depth = kMaxJsonDepth / 2, .max_nodes = 10000, .max_bytes = 1 << 20};

// Any other JSON the service parses: only its nesting is bounded here (its
// size is bounded by whoever received it, e.g. the transport's body limit).
inline constexpr JsonLimits kParsedJsonLimits = {.max_depth = kMaxJsonDepth,
                                                 .max_nodes = std::numeric_limits<size_t>::max(),
                                                 .max_bytes = std::numeric_limits<size_t>::max()};

// A limit a document crossed, as errors name it: {"max_json_depth", 32}.
struct JsonLimitExceeded {
  absl::string_view limit;
  size_t value;
};

// The one JSON limits checker: a walk over a document (JSON text, a
// RapidJSON DOM, protobuf wire bytes) asks it about the size first and then
// counts every value it meets; the first limit crossed ends the walk.
class JsonLimitCounter {
 public:
  explicit JsonLimitCounter(const JsonLimits& limits) : limits_(limits) {}

  std::optional<JsonLimitExceeded> CheckBytes(size_t bytes) const;
  // One more value, `depth` levels down (the outermost value is 1).
  std::optional<JsonLimitExceeded> Count(size_t depth);

 private:
  const JsonLimits limits_;
  size_t nodes_ = 0;
};

// JSON text <-> Value (RapidJSON, for speed). Parse errors are
// INVALID_ARGUMENT with the offset, never echoing the input; nesting is
// bounded by kParsedJsonLimits and strings must be valid UTF-8. Whole
// numbers up to 2^53 print without a fraction; object keys print sorted.
absl::StatusOr<google::protobuf::Value> ParseJson(absl::string_view text);
std::string ToJson(const google::protobuf::Value& value);

}  // namespace halopsa

#endif  // HALOPSA_SERVER_JSON_VALUES_H_

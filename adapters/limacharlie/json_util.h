#ifndef HALOPSA_ADAPTERS_LIMACHARLIE_JSON_UTIL_H_
#define HALOPSA_ADAPTERS_LIMACHARLIE_JSON_UTIL_H_

// RapidJSON helpers shared by the gateway's .cc files (not a public header:
// it pulls RapidJSON in).

#include <rapidjson/document.h>

#include <cstddef>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/json_values.h"

namespace halopsa::lc {

// A DOM for the gateway's JSON texts, which are small. RapidJSON allocates
// a 64 KiB first chunk per document, two per webhook, and glibc takes such
// blocks back with heap consolidation; here the first chunk lives inside
// the object and later ones are 4 KiB (measured in bench/NOTES.md).
class JsonDocument {
 public:
  JsonDocument() : pool_(first_chunk_, sizeof(first_chunk_), kChunkBytes), document_(&pool_) {}
  JsonDocument(const JsonDocument&) = delete;
  JsonDocument& operator=(const JsonDocument&) = delete;

  rapidjson::Document& get() { return document_; }

 private:
  static constexpr size_t kChunkBytes = 4 << 10;
  alignas(std::max_align_t) char first_chunk_[kChunkBytes];
  rapidjson::MemoryPoolAllocator<> pool_;
  rapidjson::Document document_;
};

// Parses `text` (UTF-8 checked, escaped lone surrogates refused) without
// recursion and checks it against kRequestJsonLimits (nothing LimaCharlie
// sends comes close; recursive consumers must not be handed unbounded
// depth, and protobuf objects built from it must stay small).
// INVALID_ARGUMENT says where parsing failed or which limit was exceeded.
absl::Status ParseJson(absl::string_view text, rapidjson::Document& document);

// Compact JSON text of `value`.
std::string SerializeJson(const rapidjson::Value& value);

// The string at `value`, as a string_view (RapidJSON strings may hold NULs).
inline absl::string_view View(const rapidjson::Value& value) {
  return absl::string_view(value.GetString(), value.GetStringLength());
}

}  // namespace halopsa::lc

#endif  // HALOPSA_ADAPTERS_LIMACHARLIE_JSON_UTIL_H_

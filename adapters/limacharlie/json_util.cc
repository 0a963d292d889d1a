#include "adapters/limacharlie/json_util.h"

#include <rapidjson/error/en.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <optional>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "server/json_values.h"
#include "server/request_limits.h"

namespace halopsa::lc {
namespace {

// What the parse itself lets through: more nodes or nesting than
// kRequestJsonLimits, and escaped lone surrogates (see
// HasEncodedSurrogate), which decode to bytes that are not UTF-8 and would
// reach protobuf strings and error texts.
absl::Status CheckParsed(const rapidjson::Value& root) {
  JsonLimitCounter limits(kRequestJsonLimits);
  std::vector<std::pair<const rapidjson::Value*, size_t>> pending = {{&root, 1}};
  while (!pending.empty()) {
    auto [value, depth] = pending.back();
    pending.pop_back();
    if (std::optional<JsonLimitExceeded> exceeded = limits.Count(depth)) return RequestLimitExceeded(*exceeded);
    if (value->IsString() && HasEncodedSurrogate(View(*value))) {
      return absl::InvalidArgumentError("invalid JSON: a string holds an unpaired surrogate escape");
    }
    if (value->IsObject()) {
      for (const auto& member : value->GetObject()) {
        if (HasEncodedSurrogate(View(member.name))) {
          return absl::InvalidArgumentError("invalid JSON: a string holds an unpaired surrogate escape");
        }
        pending.emplace_back(&member.value, depth + 1);
      }
    } else if (value->IsArray()) {
      for (const auto& element : value->GetArray()) pending.emplace_back(&element, depth + 1);
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ParseJson(absl::string_view text, rapidjson::Document& document) {
  if (std::optional<JsonLimitExceeded> exceeded = JsonLimitCounter(kRequestJsonLimits).CheckBytes(text.size())) {
    return RequestLimitExceeded(*exceeded);
  }
  document.Parse<rapidjson::kParseIterativeFlag | rapidjson::kParseValidateEncodingFlag>(text.data(), text.size());
  if (document.HasParseError()) {
    return absl::InvalidArgumentError(absl::StrCat("invalid JSON at offset ", document.GetErrorOffset(), ": ",
                                                   rapidjson::GetParseError_En(document.GetParseError())));
  }
  return CheckParsed(document);
}

std::string SerializeJson(const rapidjson::Value& value) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  value.Accept(writer);
  return std::string(buffer.GetString(), buffer.GetSize());
}

}  // namespace halopsa::lc

#include "server/json_values.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

#include <string>
#include <vector>

#include <rapidjson/error/en.h>
#include <rapidjson/memorystream.h>
#include <rapidjson/reader.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "server/json_values_dom.h"

namespace halopsa {

using google::protobuf::Struct;
using google::protobuf::Value;

namespace {

// Integers up to 2^53 are exact in a double; those print without a fraction.
constexpr double kMaxExactInteger = 9007199254740992.0;

// Builds a Value straight from RapidJSON's SAX events (no intermediate DOM):
// protobuf's own JSON mapping costs several times more for Halo's objects.
class ValueBuilder : public rapidjson::BaseReaderHandler<rapidjson::UTF8<>, ValueBuilder> {
 public:
  bool Null() {
    if (!Admit()) return false;
    Next()->set_null_value(google::protobuf::NULL_VALUE);
    return true;
  }
  bool Bool(bool flag) {
    if (!Admit()) return false;
    Next()->set_bool_value(flag);
    return true;
  }
  bool Int(int number) { return Number(number); }
  bool Uint(unsigned number) { return Number(number); }
  bool Int64(int64_t number) { return Number(static_cast<double>(number)); }
  bool Uint64(uint64_t number) { return Number(static_cast<double>(number)); }
  bool Double(double number) { return Number(number); }
  bool String(const char* text, rapidjson::SizeType length, bool) {
    if (HasEncodedSurrogate(absl::string_view(text, length))) return Refuse(kSurrogate);
    if (!Admit()) return false;
    Next()->set_string_value(text, length);
    return true;
  }
  bool StartObject() { return Admit() && Open(Next()->mutable_struct_value(), nullptr); }
  bool Key(const char* text, rapidjson::SizeType length, bool) {
    if (HasEncodedSurrogate(absl::string_view(text, length))) return Refuse(kSurrogate);
    key_.assign(text, length);
    return true;
  }
  bool EndObject(rapidjson::SizeType) { return Close(); }
  bool StartArray() { return Admit() && Open(nullptr, Next()->mutable_list_value()); }
  bool EndArray(rapidjson::SizeType) { return Close(); }

  // Why the builder stopped the parse ("" when it did not).
  const std::string& refusal() const { return refusal_; }
  Value Take() { return std::move(root_); }

 private:
  // An open object or array; exactly one pointer is set.
  struct Container {
    Struct* object;
    google::protobuf::ListValue* list;
  };

  bool Number(double number) {
    // RapidJSON's fast parser turns a number beyond double's range (2.5e309)
    // into infinity, which JSON cannot print back: refuse it.
    if (!std::isfinite(number)) return Refuse("a number is beyond a double's range");
    if (!Admit()) return false;
    Next()->set_number_value(number);
    return true;
  }
  // Where the next value goes: the root, the next array slot, or the
  // object's member named by the last key.
  Value* Next() {
    if (open_.empty()) return &root_;
    const Container& top = open_.back();
    if (top.list != nullptr) return top.list->add_values();
    return &(*top.object->mutable_fields())[key_];
  }
  // Counts the value about to be placed. Only nesting is bounded
  // (kParsedJsonLimits), so a refusal is about depth.
  bool Admit() {
    if (std::optional<JsonLimitExceeded> exceeded = limits_.Count(open_.size() + 1)) {
      return Refuse(absl::StrCat("nested deeper than ", exceeded->value, " levels"));
    }
    return true;
  }
  bool Open(Struct* object, google::protobuf::ListValue* list) {
    open_.push_back({object, list});
    return true;
  }
  bool Close() {
    open_.pop_back();
    return true;
  }
  bool Refuse(std::string why) {
    refusal_ = std::move(why);
    return false;
  }

  static constexpr char kSurrogate[] = "a string holds an unpaired surrogate escape";

  JsonLimitCounter limits_{kParsedJsonLimits};
  Value root_;
  std::vector<Container> open_;
  std::string key_;
  std::string refusal_;
};

void Write(const Value& value, rapidjson::Writer<rapidjson::StringBuffer>& writer) {
  switch (value.kind_case()) {
    case Value::kBoolValue:
      writer.Bool(value.bool_value());
      return;
    case Value::kNumberValue: {
      double number = value.number_value();
      if (std::trunc(number) == number && std::fabs(number) <= kMaxExactInteger) {
        writer.Int64(static_cast<int64_t>(number));
      } else if (std::isfinite(number)) {
        writer.Double(number);
      } else {
        writer.Null();  // JSON has no NaN or infinity
      }
      return;
    }
    case Value::kStringValue:
      writer.String(value.string_value().data(), static_cast<rapidjson::SizeType>(value.string_value().size()));
      return;
    case Value::kStructValue: {
      // Keys in order: protobuf's map order is unspecified, and the same
      // object should always print the same text.
      std::vector<const google::protobuf::Map<std::string, Value>::value_type*> members;
      members.reserve(value.struct_value().fields().size());
      for (const auto& member : value.struct_value().fields()) members.push_back(&member);
      std::sort(members.begin(), members.end(), [](const auto* a, const auto* b) { return a->first < b->first; });
      writer.StartObject();
      for (const auto* member : members) {
        writer.Key(member->first.data(), static_cast<rapidjson::SizeType>(member->first.size()));
        Write(member->second, writer);
      }
      writer.EndObject();
      return;
    }
    case Value::kListValue:
      writer.StartArray();
      for (const Value& item : value.list_value().values()) Write(item, writer);
      writer.EndArray();
      return;
    case Value::kNullValue:
    case Value::KIND_NOT_SET:
      writer.Null();
      return;
  }
}

}  // namespace

std::optional<JsonLimitExceeded> JsonLimitCounter::CheckBytes(size_t bytes) const {
  if (bytes > limits_.max_bytes) return JsonLimitExceeded{"max_request_bytes", limits_.max_bytes};
  return std::nullopt;
}

std::optional<JsonLimitExceeded> JsonLimitCounter::Count(size_t depth) {
  if (depth > limits_.max_depth) return JsonLimitExceeded{"max_json_depth", limits_.max_depth};
  if (++nodes_ > limits_.max_nodes) return JsonLimitExceeded{"max_json_nodes", limits_.max_nodes};
  return std::nullopt;
}

bool HasEncodedSurrogate(absl::string_view text) {
  for (size_t i = 0; i + 1 < text.size(); ++i) {
    if (static_cast<unsigned char>(text[i]) == 0xED && static_cast<unsigned char>(text[i + 1]) >= 0xA0) return true;
  }
  return false;
}

Value JsonNumber(double number) {
  Value value;
  value.set_number_value(number);
  return value;
}

Value JsonString(absl::string_view text) {
  Value value;
  value.set_string_value(std::string(text));
  return value;
}

Value JsonBool(bool flag) {
  Value value;
  value.set_bool_value(flag);
  return value;
}

std::optional<int> IntField(const Struct& object, absl::string_view key) {
  auto it = object.fields().find(std::string(key));
  if (it == object.fields().end()) return std::nullopt;
  const Value& value = it->second;
  if (value.kind_case() == Value::kStringValue) {
    int parsed;
    if (absl::SimpleAtoi(value.string_value(), &parsed)) return parsed;
    return std::nullopt;
  }
  if (value.kind_case() != Value::kNumberValue) return std::nullopt;
  double number = value.number_value();
  if (std::trunc(number) != number || number < std::numeric_limits<int>::min() ||
      number > std::numeric_limits<int>::max()) {
    return std::nullopt;
  }
  return static_cast<int>(number);
}

std::string StringField(const Struct& object, absl::string_view key) {
  auto it = object.fields().find(std::string(key));
  if (it == object.fields().end() || it->second.kind_case() != Value::kStringValue) return "";
  return it->second.string_value();
}

void MergeTopLevel(const Struct& overrides, Struct& target) {
  for (const auto& [key, value] : overrides.fields()) (*target.mutable_fields())[key] = value;
}

absl::StatusOr<Value> ValueFromDom(const rapidjson::Value& dom) {
  ValueBuilder builder;
  if (!dom.Accept(builder)) return absl::InvalidArgumentError(absl::StrCat("invalid JSON: ", builder.refusal()));
  return builder.Take();
}

absl::StatusOr<Value> ParseJson(absl::string_view text) {
  ValueBuilder builder;
  rapidjson::Reader reader;
  rapidjson::MemoryStream stream(text.data(), text.size());
  rapidjson::ParseResult parsed = reader.Parse<rapidjson::kParseValidateEncodingFlag>(stream, builder);
  if (!parsed) {
    return absl::InvalidArgumentError(
        absl::StrCat("malformed JSON at offset ", parsed.Offset(), ": ",
                     builder.refusal().empty() ? rapidjson::GetParseError_En(parsed.Code()) : builder.refusal()));
  }
  return builder.Take();
}

std::string ToJson(const Value& value) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  Write(value, writer);
  return std::string(buffer.GetString(), buffer.GetSize());
}

}  // namespace halopsa

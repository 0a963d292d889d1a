#include "server/json_values.h"

#include <cmath>
#include <limits>
#include <utility>

#include <google/protobuf/util/json_util.h>

#include "absl/strings/numbers.h"

namespace halopsa {

using google::protobuf::Struct;
using google::protobuf::Value;

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

absl::StatusOr<Value> ParseJson(absl::string_view text) {
  Value value;
  auto status = google::protobuf::util::JsonStringToMessage(google::protobuf::StringPiece(text.data(), text.size()), &value);
  if (!status.ok()) return absl::InvalidArgumentError("malformed JSON");
  return value;
}

std::string ToJson(const Value& value) {
  std::string json;
  (void)google::protobuf::util::MessageToJsonString(value, &json);
  return json;
}

}  // namespace halopsa

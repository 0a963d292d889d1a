#include "simulator/json.h"

#include <cmath>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/util/json_util.h"

namespace halopsa::sim {

absl::StatusOr<Value> ParseJson(const std::string& text) {
  Value value;
  const auto status = google::protobuf::util::JsonStringToMessage(text, &value);
  if (!status.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("invalid JSON: ", status.ToString()));
  }
  return value;
}

std::string PrintJson(const Value& value) {
  std::string out;
  // Printing only fails for a Value with no kind set, which the simulator
  // never builds; "null" keeps the output valid JSON regardless.
  if (!google::protobuf::util::MessageToJsonString(value, &out).ok()) return "null";
  return out;
}

std::string PrintJson(const Struct& object) { return PrintJson(ObjectValue(object)); }

Value StringValue(std::string text) {
  Value value;
  value.set_string_value(std::move(text));
  return value;
}

Value NumberValue(double number) {
  Value value;
  value.set_number_value(number);
  return value;
}

Value BoolValue(bool flag) {
  Value value;
  value.set_bool_value(flag);
  return value;
}

Value NullValue() {
  Value value;
  value.set_null_value(google::protobuf::NULL_VALUE);
  return value;
}

Value ObjectValue(Struct object) {
  Value value;
  *value.mutable_struct_value() = std::move(object);
  return value;
}

Value ListValue(std::vector<Value> items) {
  Value value;
  auto* list = value.mutable_list_value();
  for (Value& item : items) *list->add_values() = std::move(item);
  return value;
}

const Value* Field(const Struct& object, const std::string& key) {
  const auto it = object.fields().find(key);
  return it == object.fields().end() ? nullptr : &it->second;
}

std::optional<int64_t> IntField(const Struct& object, const std::string& key) {
  const Value* value = Field(object, key);
  if (value == nullptr) return std::nullopt;
  if (value->has_number_value()) {
    const double number = value->number_value();
    // Beyond 2^53 doubles stop being exact integers.
    if (std::trunc(number) != number || std::fabs(number) > 9007199254740992.0) {
      return std::nullopt;
    }
    return static_cast<int64_t>(number);
  }
  int64_t parsed = 0;
  if (value->has_string_value() && absl::SimpleAtoi(value->string_value(), &parsed)) return parsed;
  return std::nullopt;
}

std::string StringField(const Struct& object, const std::string& key) {
  const Value* value = Field(object, key);
  return value != nullptr && value->has_string_value() ? value->string_value() : "";
}

void Set(Struct& object, const std::string& key, Value value) {
  (*object.mutable_fields())[key] = std::move(value);
}

}  // namespace halopsa::sim

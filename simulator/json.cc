#include "simulator/json.h"

#include <utility>

namespace halopsa::sim {

std::string ToJson(const Struct& object) { return ToJson(ObjectValue(object)); }

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

void Set(Struct& object, const std::string& key, Value value) {
  (*object.mutable_fields())[key] = std::move(value);
}

}  // namespace halopsa::sim

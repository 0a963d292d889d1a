#ifndef HALOPSA_SIMULATOR_JSON_H_
#define HALOPSA_SIMULATOR_JSON_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "google/protobuf/struct.pb.h"

// Small helpers over google::protobuf::Value, the simulator's JSON model
// (the service uses the same one). Numbers are doubles; integral ones print
// without a fraction.
namespace halopsa::sim {

using ::google::protobuf::Struct;
using ::google::protobuf::Value;

absl::StatusOr<Value> ParseJson(const std::string& text);
std::string PrintJson(const Value& value);
std::string PrintJson(const Struct& object);

Value StringValue(std::string text);
Value NumberValue(double number);
Value BoolValue(bool flag);
Value NullValue();
Value ObjectValue(Struct object);
Value ListValue(std::vector<Value> items);

// The field, or nullptr when absent.
const Value* Field(const Struct& object, const std::string& key);
// An integral number (or a string holding one, as Halo's lenient binder
// accepts); nullopt when absent or anything else.
std::optional<int64_t> IntField(const Struct& object, const std::string& key);
// A string field; "" when absent or not a string.
std::string StringField(const Struct& object, const std::string& key);
void Set(Struct& object, const std::string& key, Value value);

}  // namespace halopsa::sim

#endif  // HALOPSA_SIMULATOR_JSON_H_

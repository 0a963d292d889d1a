#ifndef HALOPSA_SIMULATOR_JSON_H_
#define HALOPSA_SIMULATOR_JSON_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "google/protobuf/struct.pb.h"
#include "server/json_values.h"

// Small helpers over google::protobuf::Value, the simulator's JSON model
// (the service uses the same one). Numbers are doubles; integral ones print
// without a fraction.
namespace halopsa::sim {

using ::google::protobuf::Struct;
using ::google::protobuf::Value;

// Parsing, printing, scalars and IntField/StringField come from the
// service's halopsa_json (server/json_values.h); these are the simulator's
// additions for building and editing stored records.
using ::halopsa::IntField;
using ::halopsa::JsonBool;
using ::halopsa::JsonNumber;
using ::halopsa::JsonString;
using ::halopsa::ParseJson;
using ::halopsa::StringField;
using ::halopsa::ToJson;

std::string ToJson(const Struct& object);
Value NullValue();
Value ObjectValue(Struct object);
Value ListValue(std::vector<Value> items);

// The field, or nullptr when absent.
const Value* Field(const Struct& object, const std::string& key);
void Set(Struct& object, const std::string& key, Value value);

}  // namespace halopsa::sim

#endif  // HALOPSA_SIMULATOR_JSON_H_

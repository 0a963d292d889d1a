#include "adapters/limacharlie/schema.h"

#include <google/protobuf/descriptor.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <vector>

#include "absl/strings/string_view.h"
#include "adapters/limacharlie/actions.h"
#include "adapters/limacharlie/org_config.h"

namespace halopsa::lc {
namespace {

using Writer = rapidjson::Writer<rapidjson::StringBuffer>;
using google::protobuf::FieldDescriptor;

void String(Writer& writer, absl::string_view text) {
  writer.String(text.data(), static_cast<rapidjson::SizeType>(text.size()));
}

void Key(Writer& writer, absl::string_view key) {
  writer.Key(key.data(), static_cast<rapidjson::SizeType>(key.size()));
}

absl::string_view DataType(const FieldDescriptor& field) {
  switch (field.cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32:
    case FieldDescriptor::CPPTYPE_INT64:
    case FieldDescriptor::CPPTYPE_UINT32:
    case FieldDescriptor::CPPTYPE_UINT64:
      return "integer";
    case FieldDescriptor::CPPTYPE_BOOL:
      return "bool";
    case FieldDescriptor::CPPTYPE_ENUM:
      return "enum";
    case FieldDescriptor::CPPTYPE_MESSAGE:
      return "json";  // extra (an object) and customfields entries ({id, value})
    default:
      return "string";
  }
}

// The members every SchemaElement has.
void CommonMembers(Writer& writer, absl::string_view label, absl::string_view description, absl::string_view data_type,
                   int display_index) {
  Key(writer, "label");
  String(writer, label);
  Key(writer, "description");
  String(writer, description);
  Key(writer, "data_type");
  String(writer, data_type);
  Key(writer, "display_index");
  writer.Int(display_index);
}

void Requirements(Writer& writer, const std::vector<absl::string_view>& required) {
  // Each group must be satisfied; a group of one makes that field required.
  Key(writer, "requirements");
  writer.StartArray();
  for (absl::string_view name : required) {
    writer.StartArray();
    String(writer, name);
    writer.EndArray();
  }
  writer.EndArray();
}

void ConfigSchema(Writer& writer) {
  std::vector<absl::string_view> required;
  writer.StartObject();
  Key(writer, "fields");
  writer.StartObject();
  int display_index = 0;
  for (const ConfigField& field : ConfigFields()) {
    Key(writer, field.name);
    writer.StartObject();
    CommonMembers(writer, field.label, field.description, field.data_type, ++display_index);
    if (!field.placeholder.empty()) {
      Key(writer, "placeholder");
      String(writer, field.placeholder);
    }
    if (!field.default_value.empty()) {
      Key(writer, "default_value");
      String(writer, field.default_value);
    }
    if (!field.enum_values.empty()) {
      Key(writer, "enum_values");
      writer.StartArray();
      for (absl::string_view value : field.enum_values) String(writer, value);
      writer.EndArray();
    }
    writer.EndObject();
    if (field.required) required.push_back(field.name);
  }
  writer.EndObject();
  Requirements(writer, required);
  writer.EndObject();
}

void Parameter(Writer& writer, const ActionSpec& action, const FieldDescriptor& field, int display_index) {
  const FieldDoc* doc = FindFieldDoc(action, field.name());
  writer.StartObject();
  CommonMembers(writer, doc != nullptr ? doc->label : field.name(), doc != nullptr ? doc->description : "",
                DataType(field), display_index);
  if (field.is_repeated()) {
    Key(writer, "is_list");
    writer.Bool(true);
  }
  if (field.enum_type() != nullptr) {
    Key(writer, "enum_values");
    writer.StartArray();
    for (int i = 0; i < field.enum_type()->value_count(); ++i) {
      const auto* value = field.enum_type()->value(i);
      if (value->number() != 0) String(writer, value->name());  // 0 is "not set"
    }
    writer.EndArray();
  }
  if (doc != nullptr && !doc->default_json.empty()) {
    Key(writer, "default_value");
    writer.RawValue(doc->default_json.data(), doc->default_json.size(), rapidjson::kNullType);
  }
  writer.EndObject();
}

void RequestSchema(Writer& writer, const ActionSpec& action) {
  const google::protobuf::Descriptor& type = *MethodOf(action).input_type();
  writer.StartObject();
  Key(writer, "label");
  String(writer, action.label);
  Key(writer, "is_user_facing");
  writer.Bool(true);
  Key(writer, "short_description");
  String(writer, action.short_description);
  Key(writer, "long_description");
  String(writer, action.long_description);
  Key(writer, "is_impersonated");
  writer.Bool(false);
  Key(writer, "parameters");
  writer.StartObject();
  Key(writer, "fields");
  writer.StartObject();
  std::vector<absl::string_view> required;
  for (int i = 0; i < type.field_count(); ++i) {
    const FieldDescriptor& field = *type.field(i);
    Key(writer, field.name());
    Parameter(writer, action, field, i + 1);
    const FieldDoc* doc = FindFieldDoc(action, field.name());
    if (doc != nullptr && doc->required) required.push_back(doc->name);
  }
  writer.EndObject();
  Requirements(writer, required);
  writer.EndObject();
  Key(writer, "response");
  writer.Null();
  writer.EndObject();
}

}  // namespace

std::string SchemaJson() {
  rapidjson::StringBuffer buffer;
  Writer writer(buffer);
  writer.StartObject();
  Key(writer, "config_schema");
  ConfigSchema(writer);
  Key(writer, "request_schema");
  writer.StartObject();
  for (const ActionSpec& action : Actions()) {
    Key(writer, action.name);
    RequestSchema(writer, action);
  }
  writer.EndObject();
  Key(writer, "required_events");
  writer.StartArray();
  writer.EndArray();
  Key(writer, "views");
  writer.StartArray();
  writer.EndArray();
  writer.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

}  // namespace halopsa::lc

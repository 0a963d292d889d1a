#include "adapters/limacharlie/schema.h"

#include <google/protobuf/descriptor.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "adapters/limacharlie/actions.h"
#include "adapters/limacharlie/deferral.h"
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

// What a writing action's answer may be instead of its result.
constexpr absl::string_view kDeferralNote =
    "When HaloPSA's request budget (shared by every LimaCharlie org using this HaloPSA tenant) cannot serve it "
    "inside LimaCharlie's webhook window, the request is deferred, not failed: the answer is {\"deferred\": true, "
    "\"retry_in_sec\": N} and LimaCharlie runs it again by itself after N seconds, once, with the same "
    "idempotency key (a playbook that needs the result searches for it later).";

// One member of an answer's `data` in a response schema.
struct AnswerField {
  absl::string_view name;
  absl::string_view label;
  std::string description;
  absl::string_view data_type;
  bool is_list = false;
};

std::vector<AnswerField> DeferralAnswerFields() {
  return {{"deferred", "Deferred",
           "Present (true) only when the request was deferred: it has not run yet and LimaCharlie runs it after "
           "retry_in_sec seconds; the other fields are then absent.",
           "bool"},
          {"retry_in_sec", "Retry in (seconds)", "With deferred: when LimaCharlie runs the request (1 to 300).",
           "integer"}};
}

// The members of `action`'s answer, typed by its response message.
std::vector<AnswerField> AnswerFields(const ActionSpec& action) {
  const google::protobuf::Descriptor& type = *MethodOf(action).output_type();
  std::vector<AnswerField> fields;
  for (const FieldDoc& doc : action.response_fields) {
    const FieldDescriptor* field = type.FindFieldByName(std::string(doc.name));
    if (field == nullptr) continue;  // a table mistake, which schema_test names
    fields.push_back({doc.name, doc.label, std::string(doc.description), DataType(*field), field->is_repeated()});
  }
  if (!action.writes) return fields;
  for (AnswerField& field : DeferralAnswerFields()) fields.push_back(std::move(field));
  return fields;
}

void ResponseObject(Writer& writer, const std::vector<AnswerField>& fields,
                    const std::vector<std::vector<absl::string_view>>& requirements) {
  writer.StartObject();
  Key(writer, "fields");
  writer.StartObject();
  int display_index = 0;
  for (const AnswerField& field : fields) {
    Key(writer, field.name);
    writer.StartObject();
    CommonMembers(writer, field.label, field.description, field.data_type, ++display_index);
    if (field.is_list) {
      Key(writer, "is_list");
      writer.Bool(true);
    }
    writer.EndObject();
  }
  writer.EndObject();
  Key(writer, "requirements");
  writer.StartArray();
  for (const std::vector<absl::string_view>& group : requirements) {
    writer.StartArray();
    for (absl::string_view name : group) String(writer, name);
    writer.EndArray();
  }
  writer.EndArray();
  writer.EndObject();
}

// Every answer carries the required field, or (writes) is a deferral: one
// group where exactly one of them is set. The lists of a by-type lookup:
// exactly one of them.
void ActionResponse(Writer& writer, const ActionSpec& action) {
  std::vector<std::vector<absl::string_view>> requirements;
  std::vector<absl::string_view> lists;
  for (const FieldDoc& doc : action.response_fields) {
    if (doc.required) requirements.push_back(action.writes ? std::vector{doc.name, absl::string_view("deferred")}
                                                           : std::vector{doc.name});
    if (action.result == ResultShape::kListByType && doc.name != "record_count") lists.push_back(doc.name);
  }
  if (!lists.empty()) requirements.push_back(lists);
  ResponseObject(writer, AnswerFields(action), requirements);
}

void Heading(Writer& writer, absl::string_view label, bool user_facing, absl::string_view short_description,
             absl::string_view long_description) {
  Key(writer, "label");
  String(writer, label);
  Key(writer, "is_user_facing");
  writer.Bool(user_facing);
  Key(writer, "short_description");
  String(writer, short_description);
  Key(writer, "long_description");
  String(writer, long_description);
  Key(writer, "is_impersonated");
  writer.Bool(false);
}

void RequestSchema(Writer& writer, const ActionSpec& action) {
  const google::protobuf::Descriptor& type = *MethodOf(action).input_type();
  writer.StartObject();
  Heading(writer, action.label, /*user_facing=*/true, action.short_description,
          action.writes ? absl::StrCat(action.long_description, " ", kDeferralNote)
                        : std::string(action.long_description));
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
  ActionResponse(writer, action);
  writer.EndObject();
}

// The state parameters of the hidden action that runs continuations.
void DeferredParameters(Writer& writer) {
  std::vector<absl::string_view> required;
  writer.StartObject();
  Key(writer, "fields");
  writer.StartObject();
  int display_index = 0;
  for (const StateField& field : DeferredStateFields()) {
    Key(writer, field.name);
    writer.StartObject();
    CommonMembers(writer, field.label, field.description, field.data_type, ++display_index);
    if (field.data_type == "enum") {
      Key(writer, "enum_values");
      writer.StartArray();
      for (const ActionSpec& action : Actions()) {
        if (action.writes) String(writer, action.name);
      }
      writer.EndArray();
    }
    writer.EndObject();
    required.push_back(field.name);
  }
  writer.EndObject();
  Requirements(writer, required);
  writer.EndObject();
}

// Whatever the deferred action answers (each member once, described by the
// first action that has it), or another deferral.
std::vector<AnswerField> DeferredAnswerFields() {
  std::vector<AnswerField> fields = DeferralAnswerFields();
  for (const ActionSpec& action : Actions()) {
    if (!action.writes) continue;
    for (AnswerField& field : AnswerFields(action)) {
      bool seen = false;
      for (const AnswerField& known : fields) seen = seen || known.name == field.name;
      if (seen) continue;
      field.description =
          absl::StrCat("As the deferred action answers it (", action.name, ": ", field.description, ")");
      fields.push_back(std::move(field));
    }
  }
  return fields;
}

void DeferredRequestSchema(Writer& writer) {
  writer.StartObject();
  Heading(writer, "Run deferred request", /*user_facing=*/false,
          "Internal: runs a request this extension deferred. Not for people, rules or playbooks.",
          absl::StrCat("LimaCharlie calls this action by itself, as the continuation of a deferred request (",
                       DeferredActionNames(),
                       "): it runs that request once per original idempotency key and answers what the request "
                       "answers, or defers it again. Not meant to be called directly."));
  Key(writer, "parameters");
  DeferredParameters(writer);
  Key(writer, "response");
  ResponseObject(writer, DeferredAnswerFields(), {});
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
  Key(writer, kDeferredAction);
  DeferredRequestSchema(writer);
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

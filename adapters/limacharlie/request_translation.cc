#include "adapters/limacharlie/request_translation.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>
#include <google/protobuf/struct.pb.h>
#include <rapidjson/document.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "adapters/limacharlie/json_util.h"
#include "server/error_mapping.h"
#include "server/json_values.h"
#include "server/json_values_dom.h"

namespace halopsa::lc {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;

constexpr size_t kMaxQuotedBytes = 40;

// The offending value as it appeared, shortened (never inside a UTF-8
// sequence: the text ends up in a JSON envelope).
std::string Quoted(const rapidjson::Value& value) {
  std::string json = SerializeJson(value);
  if (json.size() <= kMaxQuotedBytes) return json;
  size_t cut = kMaxQuotedBytes;
  while (cut > 0 && (static_cast<unsigned char>(json[cut]) & 0xC0) == 0x80) --cut;
  json.resize(cut);
  return json + "...";
}

absl::Status WrongType(absl::string_view path, absl::string_view expected, const rapidjson::Value& value) {
  return InvalidField(path, absl::StrCat("must be ", expected, ", got ", Quoted(value)));
}

size_t EditDistance(absl::string_view a, absl::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t substitution = diagonal + (a[i - 1] == b[j - 1] ? 0 : 1);
      diagonal = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, substitution});
    }
  }
  return row[b.size()];
}

// The known name a typo most likely meant, if one is close enough.
std::optional<std::string> ClosestField(const Descriptor& type, absl::string_view name) {
  const std::string typed = absl::AsciiStrToLower(name);
  std::optional<std::string> best;
  size_t best_distance = std::max<size_t>(2, typed.size() / 3) + 1;
  for (int i = 0; i < type.field_count(); ++i) {
    const std::string& known = type.field(i)->name();
    size_t distance = EditDistance(typed, known);
    // "hidden" for "hiddenfromuser", "ticket" for "ticket_id".
    if (typed.size() >= 3 && (absl::StartsWith(known, typed) || absl::StartsWith(typed, known))) distance = 1;
    if (distance < best_distance) {
      best_distance = distance;
      best = known;
    }
  }
  return best;
}

absl::Status UnknownField(const Descriptor& type, absl::string_view name, absl::string_view parent,
                          absl::string_view action) {
  std::string message = absl::StrCat("unknown field '", name, "'");
  if (!parent.empty()) absl::StrAppend(&message, " in ", parent);
  absl::StrAppend(&message, " for ", action);
  if (std::optional<std::string> closest = ClosestField(type, name)) {
    absl::StrAppend(&message, "; did you mean '", *closest, "'?");
  } else {
    std::vector<std::string> known;
    for (int i = 0; i < type.field_count(); ++i) known.push_back(type.field(i)->name());
    absl::StrAppend(&message, "; known fields: ", absl::StrJoin(known, ", "));
  }
  const std::string field = parent.empty() ? std::string(name) : absl::StrCat(parent, ".", name);
  return WithErrorInfo(absl::InvalidArgumentError(message), kReasonInvalidField, {{"field", field}});
}

absl::StatusOr<int32_t> ToInt32(const rapidjson::Value& value, absl::string_view path) {
  if (value.IsInt()) return value.GetInt();
  if (int32_t number = 0; value.IsString() && absl::SimpleAtoi(View(value), &number)) return number;
  if (value.IsDouble()) {
    const double number = value.GetDouble();
    if (std::trunc(number) == number && number >= std::numeric_limits<int32_t>::min() &&
        number <= std::numeric_limits<int32_t>::max()) {
      return static_cast<int32_t>(number);
    }
  }
  return WrongType(path, "a whole number (32-bit)", value);
}

absl::StatusOr<bool> ToBool(const rapidjson::Value& value, absl::string_view path) {
  if (value.IsBool()) return value.GetBool();
  if (value.IsString()) {
    const std::string text = absl::AsciiStrToLower(absl::StripAsciiWhitespace(View(value)));
    if (text == "true" || text == "false") return text == "true";
  }
  return WrongType(path, "true or false", value);
}

absl::StatusOr<int> ToEnum(const rapidjson::Value& value, const google::protobuf::EnumDescriptor& type,
                           absl::string_view path) {
  if (value.IsString()) {
    const auto* known = type.FindValueByName(std::string(View(value)));
    if (known != nullptr && known->number() != 0) return known->number();
  }
  std::vector<std::string> names;
  for (int i = 0; i < type.value_count(); ++i) {
    if (type.value(i)->number() != 0) names.push_back(type.value(i)->name());
  }
  return WrongType(path, absl::StrCat("one of ", absl::StrJoin(names, ", ")), value);
}

bool IsType(const FieldDescriptor& field, const Descriptor& type) {
  return field.message_type() != nullptr && field.message_type()->full_name() == type.full_name();
}

// Fills a request message from `data` by reflection along its descriptor:
// template-rendered strings become the numbers and booleans the fields
// take, and whatever does not fit is refused naming the field. (protobuf's
// JSON parser was a tenth of the gateway's CPU and explains errors less
// legibly.)
class RequestReader {
 public:
  explicit RequestReader(absl::string_view action) : action_(action) {}

  absl::Status Object(const rapidjson::Value& object, Message& message, absl::string_view path) {
    const Descriptor& type = *message.GetDescriptor();
    for (const auto& member : object.GetObject()) {
      const absl::string_view name = View(member.name);
      const FieldDescriptor* field = type.FindFieldByName(std::string(name));
      if (field == nullptr) return UnknownField(type, name, path, action_);
      // Null means absent, except where a JSON null is a value.
      if (member.value.IsNull() && !IsType(*field, *google::protobuf::Value::descriptor())) {
        message.GetReflection()->ClearField(&message, field);
        continue;
      }
      const std::string field_path = path.empty() ? std::string(name) : absl::StrCat(path, ".", name);
      if (absl::Status status = Field(member.value, message, *field, field_path); !status.ok()) return status;
    }
    return absl::OkStatus();
  }

 private:
  absl::Status Field(const rapidjson::Value& value, Message& message, const FieldDescriptor& field,
                     const std::string& path) {
    if (!field.is_repeated()) return Single(value, message, field, path);
    if (!value.IsArray()) return WrongType(path, "a list", value);
    message.GetReflection()->ClearField(&message, &field);  // a repeated key: the last one counts
    for (rapidjson::SizeType i = 0; i < value.Size(); ++i) {
      if (absl::Status status = Single(value[i], message, field, absl::StrCat(path, "[", i, "]")); !status.ok()) {
        return status;
      }
    }
    return absl::OkStatus();
  }

  // Sets `field` (adds to it when repeated) to `value`.
  absl::Status Single(const rapidjson::Value& value, Message& message, const FieldDescriptor& field,
                      const std::string& path) {
    const google::protobuf::Reflection& reflection = *message.GetReflection();
    const bool add = field.is_repeated();
    switch (field.cpp_type()) {
      case FieldDescriptor::CPPTYPE_INT32: {
        absl::StatusOr<int32_t> number = ToInt32(value, path);
        if (!number.ok()) return number.status();
        add ? reflection.AddInt32(&message, &field, *number) : reflection.SetInt32(&message, &field, *number);
        return absl::OkStatus();
      }
      case FieldDescriptor::CPPTYPE_BOOL: {
        absl::StatusOr<bool> flag = ToBool(value, path);
        if (!flag.ok()) return flag.status();
        add ? reflection.AddBool(&message, &field, *flag) : reflection.SetBool(&message, &field, *flag);
        return absl::OkStatus();
      }
      case FieldDescriptor::CPPTYPE_STRING: {
        if (!value.IsString()) return WrongType(path, "a string", value);
        std::string text(View(value));
        add ? reflection.AddString(&message, &field, std::move(text))
            : reflection.SetString(&message, &field, std::move(text));
        return absl::OkStatus();
      }
      case FieldDescriptor::CPPTYPE_ENUM: {
        absl::StatusOr<int> number = ToEnum(value, *field.enum_type(), path);
        if (!number.ok()) return number.status();
        add ? reflection.AddEnumValue(&message, &field, *number)
            : reflection.SetEnumValue(&message, &field, *number);
        return absl::OkStatus();
      }
      case FieldDescriptor::CPPTYPE_MESSAGE: {
        Message& child = add ? *reflection.AddMessage(&message, &field) : *reflection.MutableMessage(&message, &field);
        if (IsType(field, *google::protobuf::Value::descriptor())) return JsonValue(value, child, false);
        if (!value.IsObject()) return WrongType(path, "a JSON object", value);
        if (IsType(field, *google::protobuf::Struct::descriptor())) return JsonValue(value, child, true);
        return Object(value, child, path);
      }
      default:
        return absl::InternalError(absl::StrCat(path, ": the request has a field type the gateway cannot fill"));
    }
  }

  // A google.protobuf.Value (or, for `as_struct`, Struct) field: the JSON
  // as it is, through the service's own JSON builder.
  static absl::Status JsonValue(const rapidjson::Value& value, Message& target, bool as_struct) {
    absl::StatusOr<google::protobuf::Value> parsed = ValueFromDom(value);
    if (!parsed.ok()) return parsed.status();
    if (as_struct) {
      target.CopyFrom(parsed->struct_value());
    } else {
      target.CopyFrom(*parsed);
    }
    return absl::OkStatus();
  }

  const absl::string_view action_;
};

google::protobuf::Value ResponseValue(const Message& message, const std::string* only_list = nullptr);

// One value of `field`: the `index`-th when it is repeated.
google::protobuf::Value FieldValue(const Message& message, const FieldDescriptor& field, int index) {
  const google::protobuf::Reflection& reflection = *message.GetReflection();
  const bool repeated = field.is_repeated();
  google::protobuf::Value value;
  switch (field.cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32:
      value.set_number_value(repeated ? reflection.GetRepeatedInt32(message, &field, index)
                                      : reflection.GetInt32(message, &field));
      break;
    case FieldDescriptor::CPPTYPE_BOOL:
      value.set_bool_value(repeated ? reflection.GetRepeatedBool(message, &field, index)
                                    : reflection.GetBool(message, &field));
      break;
    case FieldDescriptor::CPPTYPE_STRING:
      value.set_string_value(repeated ? reflection.GetRepeatedString(message, &field, index)
                                      : reflection.GetString(message, &field));
      break;
    case FieldDescriptor::CPPTYPE_MESSAGE: {
      const Message& child = repeated ? reflection.GetRepeatedMessage(message, &field, index)
                                      : reflection.GetMessage(message, &field);
      if (IsType(field, *google::protobuf::Struct::descriptor())) {
        value.mutable_struct_value()->CopyFrom(child);
      } else {
        value = ResponseValue(child);  // pull_ticket_changes' changes and their actions
      }
      break;
    }
    default:
      value.set_null_value(google::protobuf::NULL_VALUE);  // no response uses other kinds
      break;
  }
  return value;
}

// A response message as the product page's JSON (original field names,
// every field present, numbers as numbers), by reflection over the few field
// kinds responses use: much cheaper than protobuf's JSON printer, which the
// benchmark found to dominate the gateway's cost. `only_list`, when set,
// names the one repeated field to keep.
google::protobuf::Value ResponseValue(const Message& message, const std::string* only_list) {
  const Descriptor& type = *message.GetDescriptor();
  google::protobuf::Value out;
  auto& fields = *out.mutable_struct_value()->mutable_fields();
  for (int i = 0; i < type.field_count(); ++i) {
    const FieldDescriptor& field = *type.field(i);
    if (!field.is_repeated()) {
      fields[field.name()] = FieldValue(message, field, -1);
      continue;
    }
    if (only_list != nullptr && field.name() != *only_list) continue;
    auto& list = *fields[field.name()].mutable_list_value();
    for (int j = 0; j < message.GetReflection()->FieldSize(message, &field); ++j) {
      *list.add_values() = FieldValue(message, field, j);
    }
  }
  return out;
}

// kObject: the object with the response's ids and flags (create_ticket's
// `deduplicated`) set in it.
std::string ObjectResult(const ActionSpec& action, const Message& response) {
  const Descriptor& type = *response.GetDescriptor();
  const google::protobuf::Reflection& reflection = *response.GetReflection();
  google::protobuf::Value object;
  object.mutable_struct_value()->CopyFrom(
      reflection.GetMessage(response, type.FindFieldByName(std::string(action.result_object))));
  auto& fields = *object.mutable_struct_value()->mutable_fields();
  for (int i = 0; i < type.field_count(); ++i) {
    const FieldDescriptor* field = type.field(i);
    if (field->is_repeated()) continue;
    if (field->cpp_type() == FieldDescriptor::CPPTYPE_INT32) {
      fields[field->name()].set_number_value(reflection.GetInt32(response, field));
    } else if (field->cpp_type() == FieldDescriptor::CPPTYPE_BOOL) {
      fields[field->name()].set_bool_value(reflection.GetBool(response, field));
    }
  }
  return ToJson(object);
}

// kListByType: the whole response without the lists of the other types.
std::string ListByTypeResult(const Message& request, const Message& response) {
  const FieldDescriptor* type_field = request.GetDescriptor()->FindFieldByName("type");
  const std::string kept = absl::StrCat(request.GetReflection()->GetEnum(request, type_field)->name(), "s");
  return ToJson(ResponseValue(response, &kept));
}

}  // namespace

absl::StatusOr<std::unique_ptr<Message>> RequestFromData(const ActionSpec& action, absl::string_view data_json) {
  const Descriptor& type = *MethodOf(action).input_type();
  JsonDocument parsed;
  rapidjson::Document& data = parsed.get();
  if (absl::Status status = ParseJson(data_json, data); !status.ok()) return status;
  if (!data.IsObject()) return absl::InvalidArgumentError(absl::StrCat(action.name, ": data must be a JSON object"));
  std::unique_ptr<Message> request(google::protobuf::MessageFactory::generated_factory()->GetPrototype(&type)->New());
  if (absl::Status status = RequestReader(action.name).Object(data, *request, ""); !status.ok()) return status;
  return request;
}

absl::StatusOr<std::string> ResultData(const ActionSpec& action, const Message& request, const Message& response) {
  switch (action.result) {
    case ResultShape::kObject:
      return ObjectResult(action, response);
    case ResultShape::kMessage:
      return ToJson(ResponseValue(response));
    case ResultShape::kListByType:
      return ListByTypeResult(request, response);
  }
  return absl::InternalError("unhandled result shape");
}

}  // namespace halopsa::lc

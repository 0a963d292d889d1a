#include "adapters/limacharlie/deferral.h"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "adapters/limacharlie/actions.h"
#include "adapters/limacharlie/envelope.h"
#include "adapters/limacharlie/json_util.h"
#include "server/error_mapping.h"

namespace halopsa::lc {
namespace {

constexpr StateField kStateFields[] = {
    {"action", "enum", "Action", "The deferred action."},
    {"data", "json", "Data", "The deferred action's original request data."},
    {"idempotency_key", "string", "Idempotency key",
     "The original callback's idempotency_key: the deferred request runs once per key, however often it is "
     "delivered."},
};

absl::Status WrongMember(absl::string_view name, absl::string_view expected) {
  return InvalidField(absl::StrCat(kDeferredAction, ".", name), expected);
}

// The member `name` of `state`: present and of the wanted kind, or why not.
absl::StatusOr<const rapidjson::Value*> Member(const rapidjson::Value& state, absl::string_view name,
                                               bool (rapidjson::Value::*is_kind)() const, absl::string_view expected) {
  auto it = state.FindMember(rapidjson::Value(rapidjson::StringRef(name.data(), name.size())));
  if (it == state.MemberEnd()) return WrongMember(name, "is required");
  if (!(it->value.*is_kind)()) return WrongMember(name, expected);
  return &it->value;
}

bool IsKnownMember(absl::string_view name) {
  return std::any_of(std::begin(kStateFields), std::end(kStateFields),
                     [name](const StateField& field) { return field.name == name; });
}

}  // namespace

absl::Span<const StateField> DeferredStateFields() { return kStateFields; }

std::string DeferredActionNames() {
  std::vector<absl::string_view> names;
  for (const ActionSpec& action : Actions()) {
    if (action.writes) names.push_back(action.name);
  }
  return absl::StrJoin(names, ", ");
}

absl::StatusOr<DeferredRequest> ParseDeferredRequest(absl::string_view data_json) {
  JsonDocument parsed;
  rapidjson::Document& state = parsed.get();
  if (absl::Status status = ParseJson(data_json, state); !status.ok()) return status;
  if (!state.IsObject()) return InvalidField(kDeferredAction, "data must be a JSON object");
  for (const auto& member : state.GetObject()) {
    if (!IsKnownMember(View(member.name))) return WrongMember(View(member.name), "is not a known field");
  }
  absl::StatusOr<const rapidjson::Value*> action =
      Member(state, "action", &rapidjson::Value::IsString, "must be a string");
  if (!action.ok()) return action.status();
  const ActionSpec* spec = FindAction(View(**action));
  if (spec == nullptr || !spec->writes) {
    return WrongMember("action", absl::StrCat("must be one of ", DeferredActionNames()));
  }
  absl::StatusOr<const rapidjson::Value*> data =
      Member(state, "data", &rapidjson::Value::IsObject, "must be an object");
  if (!data.ok()) return data.status();
  absl::StatusOr<const rapidjson::Value*> key =
      Member(state, "idempotency_key", &rapidjson::Value::IsString, "must be a string");
  if (!key.ok()) return key.status();
  if ((*key)->GetStringLength() == 0) return WrongMember("idempotency_key", "must not be empty");
  return DeferredRequest{std::string(spec->name), SerializeJson(**data), std::string(View(**key))};
}

std::optional<int> DeferralSeconds(const absl::Status& status) {
  if (status.code() != absl::StatusCode::kUnavailable) return std::nullopt;
  std::optional<google::rpc::ErrorInfo> info = GetErrorInfo(status);
  if (!info || info->reason() != kReasonUpstreamRateLimited) return std::nullopt;
  std::optional<absl::Duration> delay = GetRetryDelay(status);
  if (!delay) return std::nullopt;
  const double seconds = std::ceil(absl::ToDoubleSeconds(*delay));
  return static_cast<int>(std::clamp<double>(seconds, kMinDeferralSeconds, kMaxDeferralSeconds));
}

net::ServerResponse DeferredResponse(const DeferredRequest& request, int seconds) {
  rapidjson::StringBuffer data;
  {
    rapidjson::Writer<rapidjson::StringBuffer> writer(data);
    writer.StartObject();
    writer.Key("deferred");
    writer.Bool(true);
    writer.Key("retry_in_sec");
    writer.Int(seconds);
    writer.EndObject();
  }
  rapidjson::StringBuffer state;
  {
    rapidjson::Writer<rapidjson::StringBuffer> writer(state);
    writer.StartObject();
    writer.Key("action");
    writer.String(request.action.data(), static_cast<rapidjson::SizeType>(request.action.size()));
    writer.Key("data");
    writer.RawValue(request.data_json.data(), request.data_json.size(), rapidjson::kObjectType);
    writer.Key("idempotency_key");
    writer.String(request.idempotency_key.data(), static_cast<rapidjson::SizeType>(request.idempotency_key.size()));
    writer.EndObject();
  }
  return SuccessResponse(absl::string_view(data.GetString(), data.GetSize()),
                         Continuation{seconds, std::string(kDeferredAction),
                                      std::string(state.GetString(), state.GetSize())});
}

}  // namespace halopsa::lc

#include "adapters/limacharlie/envelope.h"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <array>
#include <initializer_list>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "adapters/limacharlie/json_util.h"
#include "adapters/limacharlie/lc_errors.h"
#include "server/error_mapping.h"

namespace halopsa::lc {
namespace {

struct KindKey {
  absl::string_view key;
  EnvelopeKind kind;
};

constexpr std::array<KindKey, 6> kKinds = {{
    {"heartbeat", EnvelopeKind::kHeartbeat},
    {"error_report", EnvelopeKind::kErrorReport},
    {"schema_request", EnvelopeKind::kSchemaRequest},
    {"conf_validation", EnvelopeKind::kConfValidation},
    {"request", EnvelopeKind::kRequest},
    {"event", EnvelopeKind::kEvent},
}};

const rapidjson::Value* Member(const rapidjson::Value& object, absl::string_view name) {
  auto it = object.FindMember(rapidjson::Value(rapidjson::StringRef(name.data(), name.size())));
  if (it == object.MemberEnd() || it->value.IsNull()) return nullptr;
  return &it->value;
}

absl::Status WrongShape(absl::string_view path, absl::string_view expected) {
  return absl::InvalidArgumentError(absl::StrCat("envelope ", path, " must be ", expected));
}

std::string Path(absl::string_view parent, absl::string_view name) {
  return parent.empty() ? std::string(name) : absl::StrCat(parent, ".", name);
}

// Reads an optional string member of the object at `parent` into `out`.
absl::Status ReadString(const rapidjson::Value& object, absl::string_view name, absl::string_view parent,
                        std::string& out) {
  const rapidjson::Value* value = Member(object, name);
  if (value == nullptr) return absl::OkStatus();
  if (!value->IsString()) return WrongShape(Path(parent, name), "a string");
  out = std::string(View(*value));
  return absl::OkStatus();
}

absl::Status ReadOrg(const rapidjson::Value& content, absl::string_view kind, Org& org) {
  const std::string path = absl::StrCat(kind, ".org");
  const rapidjson::Value* value = Member(content, "org");
  if (value == nullptr) return absl::InvalidArgumentError(absl::StrCat("envelope ", path, " is missing"));
  if (!value->IsObject()) return WrongShape(path, "an object");
  const std::initializer_list<std::pair<absl::string_view, std::string*>> fields = {
      {"oid", &org.oid}, {"jwt", &org.jwt}, {"ident", &org.ident}};
  for (auto [name, out] : fields) {
    if (absl::Status status = ReadString(*value, name, path, *out); !status.ok()) return status;
  }
  if (org.oid.empty()) return absl::InvalidArgumentError(absl::StrCat("envelope ", path, ".oid is missing"));
  return absl::OkStatus();
}

absl::Status ReadConfig(const rapidjson::Value& content, absl::string_view kind, absl::string_view name,
                        std::map<std::string, std::string>& config) {
  const rapidjson::Value* value = Member(content, name);
  if (value == nullptr) return absl::OkStatus();
  if (!value->IsObject()) return WrongShape(absl::StrCat(kind, ".", name), "an object");
  for (const auto& member : value->GetObject()) {
    if (member.value.IsString()) {
      config.emplace(View(member.name), View(member.value));
    } else if (member.value.IsNumber()) {
      config.emplace(View(member.name), SerializeJson(member.value));
    }
  }
  return absl::OkStatus();
}

absl::Status ReadData(const rapidjson::Value& content, absl::string_view kind, std::string& data_json) {
  const rapidjson::Value* value = Member(content, "data");
  if (value == nullptr) return absl::OkStatus();
  if (!value->IsObject()) return WrongShape(absl::StrCat(kind, ".data"), "an object");
  data_json = SerializeJson(*value);
  return absl::OkStatus();
}

absl::Status ReadContent(const rapidjson::Value& content, absl::string_view kind, RequestEnvelope& envelope) {
  switch (envelope.kind) {
    case EnvelopeKind::kHeartbeat:
    case EnvelopeKind::kSchemaRequest:
      return absl::OkStatus();
    case EnvelopeKind::kErrorReport: {
      absl::Status status = ReadString(content, "error", kind, envelope.error);
      if (status.ok()) status = ReadString(content, "oid", kind, envelope.error_oid);
      return status;
    }
    case EnvelopeKind::kConfValidation: {
      absl::Status status = ReadOrg(content, kind, envelope.org);
      if (status.ok()) status = ReadConfig(content, kind, "conf", envelope.config);
      return status;
    }
    case EnvelopeKind::kRequest:
    case EnvelopeKind::kEvent: {
      const bool request = envelope.kind == EnvelopeKind::kRequest;
      absl::string_view name_key = request ? "action" : "event_name";
      std::string& name = request ? envelope.action : envelope.event_name;
      absl::Status status = ReadOrg(content, kind, envelope.org);
      if (status.ok()) status = ReadString(content, name_key, kind, name);
      if (status.ok() && name.empty()) {
        status = absl::InvalidArgumentError(absl::StrCat("envelope ", kind, ".", name_key, " is missing"));
      }
      if (status.ok()) status = ReadData(content, kind, envelope.data_json);
      if (status.ok()) status = ReadConfig(content, kind, "config", envelope.config);
      return status;
    }
  }
  return absl::InternalError("unhandled envelope kind");
}

std::string KindKeys() {
  return absl::StrJoin(kKinds, ", ",
                       [](std::string* out, const KindKey& k) { out->append(k.key.data(), k.key.size()); });
}

// Writes {"version":20221218, ...} with `fill` adding the other members.
template <typename Fill>
std::string Envelope(Fill fill) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  writer.StartObject();
  writer.Key("version");
  writer.Int(kProtocolVersion);
  fill(writer);
  writer.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

net::ServerResponse ErrorEnvelope(int http_status, absl::string_view message, bool retriable) {
  net::ServerResponse response;
  response.status = http_status;
  response.body = Envelope([&](rapidjson::Writer<rapidjson::StringBuffer>& writer) {
    writer.Key("error");
    writer.String(message.data(), static_cast<rapidjson::SizeType>(message.size()));
    writer.Key("retriable");
    writer.Bool(retriable);
  });
  return response;
}

void WriteContinuation(rapidjson::Writer<rapidjson::StringBuffer>& writer, const Continuation& continuation) {
  writer.StartObject();
  writer.Key("in_delay_sec");
  writer.Int(continuation.delay_sec);
  writer.Key("action");
  writer.String(continuation.action.data(), static_cast<rapidjson::SizeType>(continuation.action.size()));
  writer.Key("state");
  writer.RawValue(continuation.state_json.data(), continuation.state_json.size(), rapidjson::kObjectType);
  writer.EndObject();
}

// 200 with `data_json`, and `continuation` when not null.
net::ServerResponse SuccessEnvelope(absl::string_view data_json, const Continuation* continuation) {
  net::ServerResponse response;
  response.body = Envelope([&](rapidjson::Writer<rapidjson::StringBuffer>& writer) {
    writer.Key("data");
    writer.RawValue(data_json.data(), data_json.size(), rapidjson::kObjectType);
    if (continuation == nullptr) return;
    writer.Key("continuations");
    writer.StartArray();
    WriteContinuation(writer, *continuation);
    writer.EndArray();
  });
  return response;
}

}  // namespace

absl::StatusOr<RequestEnvelope> ParseRequestEnvelope(absl::string_view body) {
  JsonDocument parsed;
  rapidjson::Document& document = parsed.get();
  if (absl::Status status = ParseJson(body, document); !status.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("request body is not a JSON envelope: ", status.message()));
  }
  if (!document.IsObject()) return absl::InvalidArgumentError("request envelope must be a JSON object");

  RequestEnvelope envelope;
  const rapidjson::Value* content = nullptr;
  absl::string_view kind_key;
  for (const KindKey& kind : kKinds) {
    const rapidjson::Value* value = Member(document, kind.key);
    if (value == nullptr) continue;
    if (content != nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("request envelope has both ", kind_key, " and ", kind.key, "; expected one"));
    }
    content = value;
    kind_key = kind.key;
    envelope.kind = kind.kind;
  }
  if (content == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("request envelope has none of ", KindKeys()));
  }
  if (!content->IsObject()) return WrongShape(kind_key, "an object");
  if (absl::Status status = ReadString(document, "idempotency_key", "", envelope.idempotency_key); !status.ok()) {
    return status;
  }
  if (absl::Status status = ReadContent(*content, kind_key, envelope); !status.ok()) return status;
  return envelope;
}

absl::string_view KindName(EnvelopeKind kind) {
  for (const KindKey& known : kKinds) {
    if (known.kind == kind) return known.key;
  }
  return "unknown";
}

net::ServerResponse SuccessResponse(absl::string_view data_json) { return SuccessEnvelope(data_json, nullptr); }

net::ServerResponse SuccessResponse(absl::string_view data_json, const Continuation& continuation) {
  return SuccessEnvelope(data_json, &continuation);
}

net::ServerResponse ErrorResponse(const absl::Status& status) {
  const EnvelopeOutcome outcome = ToEnvelopeOutcome(status.code());
  return ErrorEnvelope(outcome.http_status, status.message(), outcome.retriable);
}

net::ServerResponse ErrorResponse(int http_status, absl::string_view message) {
  return ErrorEnvelope(http_status, message, false);
}

}  // namespace halopsa::lc

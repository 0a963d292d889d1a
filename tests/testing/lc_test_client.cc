#include "tests/testing/lc_test_client.h"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <memory>
#include <utility>

#include "absl/synchronization/notification.h"
#include "adapters/limacharlie/gateway.h"
#include "adapters/limacharlie/gzip.h"
#include "adapters/limacharlie/signature.h"

namespace halopsa::lc::testing {
namespace {

using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

void Str(Writer& writer, absl::string_view text) {
  writer.String(text.data(), static_cast<rapidjson::SizeType>(text.size()));
}

void WriteOrg(Writer& writer, const TestOrg& org) {
  writer.Key("org");
  writer.StartObject();
  writer.Key("oid");
  Str(writer, org.oid);
  writer.Key("jwt");
  Str(writer, org.jwt);
  writer.Key("ident");
  Str(writer, org.ident);
  writer.EndObject();
}

void WriteConfig(Writer& writer, absl::string_view key, const Config& config) {
  Str(writer, key);
  writer.StartObject();
  for (const auto& [name, value] : config) {
    Str(writer, name);
    Str(writer, value);
  }
  writer.EndObject();
}

// {"version":20221218,["idempotency_key":...,]"<kind>":{<content>}}
template <typename Content>
std::string Envelope(absl::string_view kind, absl::string_view idempotency_key, Content content) {
  rapidjson::StringBuffer buffer;
  Writer writer(buffer);
  writer.StartObject();
  writer.Key("version");
  writer.Int(20221218);
  if (!idempotency_key.empty()) {
    writer.Key("idempotency_key");
    Str(writer, idempotency_key);
  }
  Str(writer, kind);
  writer.StartObject();
  content(writer);
  writer.EndObject();
  writer.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

const rapidjson::Value& EmptyObject() {
  static const rapidjson::Value* const empty = new rapidjson::Value(rapidjson::kObjectType);
  return *empty;
}

}  // namespace

std::string HeartbeatEnvelope() {
  return Envelope("heartbeat", "", [](Writer&) {});
}

std::string SchemaRequestEnvelope() {
  return Envelope("schema_request", "", [](Writer&) {});
}

std::string ErrorReportEnvelope(absl::string_view error, absl::string_view oid) {
  return Envelope("error_report", "", [&](Writer& writer) {
    writer.Key("error");
    Str(writer, error);
    writer.Key("oid");
    Str(writer, oid);
  });
}

std::string ConfValidationEnvelope(const TestOrg& org, const Config& conf) {
  return Envelope("conf_validation", "", [&](Writer& writer) {
    WriteOrg(writer, org);
    WriteConfig(writer, "conf", conf);
  });
}

std::string RequestEnvelope(const TestOrg& org, absl::string_view action, absl::string_view data_json,
                            const Config& config, absl::string_view idempotency_key) {
  return Envelope("request", idempotency_key, [&](Writer& writer) {
    WriteOrg(writer, org);
    writer.Key("action");
    Str(writer, action);
    writer.Key("data");
    writer.RawValue(data_json.data(), data_json.size(), rapidjson::kObjectType);
    WriteConfig(writer, "config", config);
    writer.Key("resource_state");
    writer.StartObject();
    writer.EndObject();
    writer.Key("inv_id");
    writer.String("inv-1");
  });
}

std::string EventEnvelope(const TestOrg& org, absl::string_view event_name, const Config& config) {
  return Envelope("event", "", [&](Writer& writer) {
    WriteOrg(writer, org);
    writer.Key("event_name");
    Str(writer, event_name);
    writer.Key("data");
    writer.StartObject();
    writer.EndObject();
    WriteConfig(writer, "config", config);
  });
}

SendOptions Unsigned() {
  SendOptions options;
  options.sign = false;
  return options;
}

SendOptions Uncompressed() {
  SendOptions options;
  options.gzip = false;
  return options;
}

SendOptions SignedWith(std::string signature) {
  SendOptions options;
  options.signature = std::move(signature);
  return options;
}

bool Reply::has_error() const { return !error().empty(); }

std::string Reply::error() const {
  if (!json.IsObject() || !json.HasMember("error") || !json["error"].IsString()) return "";
  return json["error"].GetString();
}

std::optional<bool> Reply::retriable() const {
  if (!json.IsObject() || !json.HasMember("retriable") || !json["retriable"].IsBool()) return std::nullopt;
  return json["retriable"].GetBool();
}

const rapidjson::Value& Reply::data() const {
  if (!json.IsObject() || !json.HasMember("data")) return EmptyObject();
  return json["data"];
}

net::ServerRequest FakeLimaCharlie::Build(const std::string& envelope, const SendOptions& options) const {
  net::ServerRequest request;
  request.method = "POST";
  request.target = "/";
  request.headers.emplace_back("Content-Type", "application/json");
  if (options.sign) {
    request.headers.emplace_back("lc-ext-sig", options.signature.value_or(Sign(signing_secret_, envelope)));
  }
  if (options.gzip) {
    request.headers.emplace_back("Content-Encoding", "gzip");
    request.body = Gzip(envelope);
  } else {
    request.body = envelope;
  }
  return request;
}

Reply FakeLimaCharlie::Send(const std::string& envelope, const SendOptions& options) const {
  return ParseReply(deliver_(Build(envelope, options)));
}

net::ServerResponse HandleAndWait(Gateway& gateway, net::ServerRequest request) {
  struct Answer {
    absl::Notification done;
    net::ServerResponse response;
  };
  auto answer = std::make_shared<Answer>();
  gateway.Handle(std::move(request), [answer](net::ServerResponse response) {
    answer->response = std::move(response);
    answer->done.Notify();
  });
  if (!answer->done.WaitForNotificationWithTimeout(absl::Seconds(30))) {
    net::ServerResponse none;
    none.status = 0;
    return none;
  }
  return answer->response;
}

Reply ParseReply(net::ServerResponse response) {
  Reply reply;
  reply.status = response.status;
  reply.body = std::move(response.body);
  reply.json.Parse(reply.body.c_str());
  if (reply.json.HasParseError()) reply.json.SetNull();
  return reply;
}

std::string Json(const rapidjson::Value& value) {
  rapidjson::StringBuffer buffer;
  Writer writer(buffer);
  value.Accept(writer);
  return std::string(buffer.GetString(), buffer.GetSize());
}

}  // namespace halopsa::lc::testing

#include "simulator/halo_simulator.h"

#include <cstdint>
#include <limits>
#include <utility>

#include "absl/random/random.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "simulator/json.h"
#include "simulator/scopes.h"

namespace halopsa::sim {
namespace {

constexpr char kJsonType[] = "application/json; charset=utf-8";

// Abseil here is built with its own string_view, distinct from std::string_view.
absl::string_view View(std::string_view text) { return {text.data(), text.size()}; }

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Form/query decoding: '+' is a space, %XX a byte; malformed escapes stay
// as they are.
std::string FormDecode(absl::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '+') {
      out.push_back(' ');
    } else if (text[i] == '%' && i + 2 < text.size() && HexValue(text[i + 1]) >= 0 &&
               HexValue(text[i + 2]) >= 0) {
      out.push_back(static_cast<char>(HexValue(text[i + 1]) * 16 + HexValue(text[i + 2])));
      i += 2;
    } else {
      out.push_back(text[i]);
    }
  }
  return out;
}

QueryParams ParseForm(absl::string_view text) {
  QueryParams params;
  for (absl::string_view pair : absl::StrSplit(text, '&', absl::SkipEmpty())) {
    const std::pair<absl::string_view, absl::string_view> parts =
        absl::StrSplit(pair, absl::MaxSplits('=', 1));
    params.emplace_back(FormDecode(parts.first), FormDecode(parts.second));
  }
  return params;
}

std::optional<std::string> Param(const QueryParams& params, absl::string_view name) {
  for (const auto& [key, value] : params) {
    if (key == name) return value;
  }
  return std::nullopt;
}

net::ServerResponse Respond(int status, std::string body = "") {
  net::ServerResponse response;
  response.status = status;
  response.content_type = body.empty() ? "" : kJsonType;
  response.body = std::move(body);
  return response;
}

net::ServerResponse RespondJson(int status, const Value& body) {
  return Respond(status, ToJson(body));
}

// {"error": "<message>"}, also the OAuth2 error shape.
net::ServerResponse ErrorResponse(int status, const std::string& message) {
  Struct body;
  Set(body, "error", JsonString(message));
  return RespondJson(status, ObjectValue(std::move(body)));
}

Value RecordToJson(const RecordedRequest& request) {
  std::vector<Value> query;
  for (const auto& [name, value] : request.query) {
    Struct pair;
    Set(pair, "name", JsonString(name));
    Set(pair, "value", JsonString(value));
    query.push_back(ObjectValue(std::move(pair)));
  }
  Struct record;
  Set(record, "method", JsonString(request.method));
  Set(record, "path", JsonString(request.path));
  Set(record, "query", ListValue(std::move(query)));
  Set(record, "authorization", JsonString(request.authorization));
  Set(record, "content_type", JsonString(request.content_type));
  Set(record, "body", JsonString(request.body));
  return ObjectValue(std::move(record));
}

std::string NewAccessToken() {
  absl::BitGen random;
  return absl::StrFormat("%016x%016x", absl::Uniform<uint64_t>(random),
                         absl::Uniform<uint64_t>(random));
}

// A host clients can reach, for base_url: wildcard listens map to loopback.
std::string UrlHost(absl::string_view listen) {
  absl::string_view host = listen.substr(0, listen.rfind(':'));
  absl::ConsumePrefix(&host, "[");
  absl::ConsumeSuffix(&host, "]");
  if (host.empty() || host == "0.0.0.0") return "127.0.0.1";
  if (host == "::") return "[::1]";
  if (absl::StrContains(host, ':')) return absl::StrCat("[", host, "]");
  return std::string(host);
}

}  // namespace

absl::StatusOr<std::unique_ptr<HaloSimulator>> HaloSimulator::Start(SimulatorOptions options) {
  std::unique_ptr<HaloSimulator> simulator(new HaloSimulator(std::move(options)));
  const auto listen = [&simulator](const std::string& address, bool auth_listener) {
    net::HttpServerOptions server_options;
    server_options.listen = address;
    server_options.tls_cert_file = simulator->options_.tls_cert_file;
    server_options.tls_key_file = simulator->options_.tls_key_file;
    server_options.threads = simulator->options_.threads;
    return net::HttpServer::Start(
        std::move(server_options),
        [simulator = simulator.get(), auth_listener](net::ServerRequest request, net::Responder respond) {
          simulator->Handle(request, std::move(respond), auth_listener);
        });
  };
  absl::StatusOr<std::unique_ptr<net::HttpServer>> server = listen(simulator->options_.listen, false);
  if (!server.ok()) return server.status();
  simulator->server_ = *std::move(server);
  if (simulator->options_.hosted_auth) {
    absl::StatusOr<std::unique_ptr<net::HttpServer>> auth = listen(simulator->options_.auth_listen, true);
    if (!auth.ok()) return auth.status();
    simulator->auth_server_ = *std::move(auth);
  }
  return simulator;
}

HaloSimulator::HaloSimulator(SimulatorOptions options) : options_(std::move(options)) {}

HaloSimulator::~HaloSimulator() { Shutdown(); }

int HaloSimulator::port() const { return server_->port(); }

std::string HaloSimulator::base_url() const {
  const bool tls = !options_.tls_cert_file.empty();
  return absl::StrCat(tls ? "https://" : "http://", UrlHost(options_.listen), ":", port());
}

std::string HaloSimulator::auth_url() const {
  if (auth_server_ == nullptr) return "";
  const bool tls = !options_.tls_cert_file.empty();
  return absl::StrCat(tls ? "https://" : "http://", UrlHost(options_.auth_listen), ":", auth_server_->port(),
                      "/auth");
}

void HaloSimulator::Shutdown() {
  delayed_answers_.Stop();  // answers held back go out now, not after the server's grace
  if (auth_server_ != nullptr) auth_server_->Shutdown();
  if (server_ != nullptr) server_->Shutdown();  // null only when Start() failed
}

HaloSimulator::Route HaloSimulator::RouteOf(const std::string& route, bool auth_listener) const {
  const bool token_path = route == "/auth/token";
  if (auth_listener) return token_path ? Route::kToken : Route::kNone;
  if (token_path) return options_.hosted_auth ? Route::kNone : Route::kToken;
  if (route == "/api/authinfo") return options_.hosted_auth ? Route::kAuthInfo : Route::kNone;
  return absl::StartsWith(route, "/api/") ? Route::kApi : Route::kNone;
}

std::string HaloSimulator::RequiredTenant() const {
  if (!options_.tenant.empty() || !options_.hosted_auth) return options_.tenant;
  return "simtenant";
}

net::ServerResponse HaloSimulator::AuthInfo() const {
  Struct body;
  Set(body, "auth_url", JsonString(auth_url()));
  Set(body, "tenant_id", JsonString(RequiredTenant()));
  return RespondJson(200, ObjectValue(std::move(body)));
}

void HaloSimulator::Handle(const net::ServerRequest& request, net::Responder respond, bool auth_listener) {
  const absl::string_view target = request.target;
  const size_t question = target.find('?');
  const std::string path(target.substr(0, question));
  const QueryParams query =
      question == absl::string_view::npos ? QueryParams() : ParseForm(target.substr(question + 1));
  // Halo's routes ignore case.
  const std::string route = absl::AsciiStrToLower(path);
  if (!auth_listener && absl::StartsWith(route, "/_sim/")) return respond(HandleControl(request, route));

  DelayedResponse answer = Serve(request, path, RouteOf(route, auth_listener), query);
  delayed_answers_.Send(answer.delay, std::move(respond), std::move(answer.response));
}

HaloSimulator::DelayedResponse HaloSimulator::Serve(const net::ServerRequest& request,
                                                    const std::string& path, Route route,
                                                    const QueryParams& query) {
  absl::MutexLock lock(&mu_);
  requests_.push_back(RecordedRequest{
      .method = request.method,
      .path = path,
      .query = query,
      .authorization = std::string(request.Header("Authorization")),
      .content_type = std::string(request.Header("Content-Type")),
      .body = request.body,
  });
  if (requests_.size() > kMaxRecordedRequests) requests_.pop_front();

  if (std::optional<net::ServerResponse> failure = TakeFailure(request.method, path)) {
    return {.response = *std::move(failure)};
  }
  if (route == Route::kNone) return {.response = Respond(404)};
  if (route == Route::kAuthInfo) return {.response = AuthInfo()};  // no token needed
  const bool token_endpoint = route == Route::kToken;

  FaultPlan plan =
      faults_.Plan(request.method, token_endpoint ? FaultedEndpoint::kToken : FaultedEndpoint::kApi,
                   absl::Now());
  if (plan.instead_of_processing.has_value()) {
    return {.response = *std::move(plan.instead_of_processing)};
  }
  if (plan.revoke_tokens) RevokeTokensLocked();
  net::ServerResponse response =
      token_endpoint ? IssueToken(request, query) : CallApi(request, path, query);
  return {.response = std::move(plan.instead_of_answer).value_or(std::move(response)),
          .delay = plan.delay};
}

net::ServerResponse HaloSimulator::CallApi(const net::ServerRequest& request,
                                           const std::string& path, const QueryParams& query) {
  const Token* token = Authorized(request);
  if (token == nullptr) return Respond(401);
  const std::string route = absl::AsciiStrToLower(path.substr(5));
  if (std::optional<std::string> missing = MissingPermission(token->scopes, request.method, route)) {
    // The wording of HaloPSA's own 403 is unconfirmed; it names the permission.
    return ErrorResponse(403, absl::StrCat("The API application does not have the permission ", *missing,
                                           " required for this request"));
  }
  const ApiReply reply = data_.Handle(request.method, path.substr(5), query, request.body);
  return Respond(reply.status, reply.body);
}

net::ServerResponse HaloSimulator::HandleControl(const net::ServerRequest& request,
                                                 const std::string& path) {
  const std::string& method = request.method;
  if (path == "/_sim/requests" && method == "GET") {
    std::vector<Value> records;
    for (const RecordedRequest& record : requests()) records.push_back(RecordToJson(record));
    return RespondJson(200, ListValue(std::move(records)));
  }
  if (path == "/_sim/requests" && method == "DELETE") {
    ClearRequests();
    return Respond(204);
  }
  if (path == "/_sim/revoke_tokens" && method == "POST") {
    RevokeTokens();
    return Respond(204);
  }
  if (path == "/_sim/state" && method == "GET") {
    absl::MutexLock lock(&mu_);
    return RespondJson(200, ObjectValue(data_.Snapshot()));
  }
  if (path == "/_sim/faults") return HandleFaults(request);
  if (path == "/_sim/technician_action" && method == "POST") return HandleTechnicianAction(request);
  if (path == "/_sim/fail" && method == "POST") {
    const absl::StatusOr<Value> parsed = ParseJson(request.body);
    if (!parsed.ok() || !parsed->has_struct_value()) {
      return ErrorResponse(400, "body must be a JSON object");
    }
    const Struct& rule = parsed->struct_value();
    const std::optional<int64_t> status = IntField(rule, "status");
    const int64_t count = IntField(rule, "count").value_or(1);
    if (!status.has_value() || *status < 100 || *status > 599 || count < 1 ||
        count > std::numeric_limits<int>::max()) {
      return ErrorResponse(400, "status must be 100-599 and count positive");
    }
    InjectFailure(StringField(rule, "method"), StringField(rule, "path_prefix"),
                  static_cast<int>(*status), StringField(rule, "body"), static_cast<int>(count));
    return Respond(204);
  }
  return Respond(404);
}

net::ServerResponse HaloSimulator::HandleTechnicianAction(const net::ServerRequest& request) {
  const absl::StatusOr<Value> parsed = ParseJson(request.body);
  if (!parsed.ok() || !parsed->has_struct_value()) return ErrorResponse(400, "body must be a JSON object");
  const Struct& body = parsed->struct_value();
  const std::optional<int> new_status = IntField(body, "new_status");
  std::optional<Struct> action = TechnicianAction(IntField(body, "agent_id").value_or(0),
                                                  IntField(body, "ticket_id").value_or(0), StringField(body, "note"),
                                                  new_status);
  if (!action.has_value()) return ErrorResponse(404, "no such ticket or agent");
  return RespondJson(200, ObjectValue(*std::move(action)));
}

net::ServerResponse HaloSimulator::HandleFaults(const net::ServerRequest& request) {
  if (request.method == "GET") {
    Struct body;
    Set(body, "config", FaultConfigToJson(faults()));
    Set(body, "counters", FaultCountersToJson(fault_counters()));
    return RespondJson(200, ObjectValue(std::move(body)));
  }
  if (request.method == "DELETE") {
    ClearFaults();
    return Respond(204);
  }
  if (request.method != "POST") return Respond(405);
  absl::StatusOr<FaultConfig> config = ParseFaultConfig(request.body);
  const absl::Status set = config.ok() ? SetFaults(*std::move(config)) : config.status();
  if (!set.ok()) return ErrorResponse(400, std::string(set.message()));
  return Respond(204);
}

net::ServerResponse HaloSimulator::IssueToken(const net::ServerRequest& request,
                                              const QueryParams& query) {
  if (request.method != "POST") return Respond(405);
  if (!absl::StartsWithIgnoreCase(View(request.Header("Content-Type")),
                                  "application/x-www-form-urlencoded")) {
    return ErrorResponse(400, "invalid_request");
  }
  const QueryParams form = ParseForm(request.body);
  if (Param(form, "grant_type") != "client_credentials") {
    return ErrorResponse(400, "unsupported_grant_type");
  }
  const std::string tenant = RequiredTenant();
  const bool tenant_ok = tenant.empty() || Param(query, "tenant") == tenant;
  if (!tenant_ok || Param(form, "client_id") != options_.client_id ||
      Param(form, "client_secret") != options_.client_secret) {
    return ErrorResponse(401, "invalid_client");
  }

  const absl::Time now = absl::Now();
  while (!token_order_.empty()) {
    const auto oldest = tokens_.find(token_order_.front());
    const bool live = oldest != tokens_.end() && oldest->second.expires > now;
    if (live && token_order_.size() < kMaxLiveTokens) break;
    if (oldest != tokens_.end()) tokens_.erase(oldest);
    token_order_.pop_front();
  }
  // Halo issues a token without a scope, but no API call accepts it.
  std::optional<std::vector<std::string>> scopes = ParseScopes(Param(form, "scope").value_or(""));
  if (!scopes.has_value()) return ErrorResponse(400, "invalid_scope");
  const std::string access_token = NewAccessToken();
  tokens_[access_token] = Token{.expires = now + options_.token_lifetime, .scopes = *std::move(scopes)};
  token_order_.push_back(access_token);
  ++token_requests_;

  Struct body;
  Set(body, "access_token", JsonString(access_token));
  Set(body, "token_type", JsonString("Bearer"));
  Set(body, "expires_in",
      JsonNumber(static_cast<double>(absl::ToInt64Seconds(options_.token_lifetime))));
  return RespondJson(200, ObjectValue(std::move(body)));
}

const HaloSimulator::Token* HaloSimulator::Authorized(const net::ServerRequest& request) const {
  absl::string_view credentials = View(request.Header("Authorization"));
  if (!absl::StartsWithIgnoreCase(credentials, "Bearer ")) return nullptr;
  credentials = absl::StripAsciiWhitespace(credentials.substr(7));
  const auto token = tokens_.find(credentials);
  const bool valid =
      token != tokens_.end() && !token->second.scopes.empty() && token->second.expires > absl::Now();
  return valid ? &token->second : nullptr;
}

std::optional<net::ServerResponse> HaloSimulator::TakeFailure(const std::string& method,
                                                              const std::string& path) {
  for (auto rule = failures_.begin(); rule != failures_.end(); ++rule) {
    if ((!rule->method.empty() && rule->method != method) ||
        !absl::StartsWith(path, rule->path_prefix)) {
      continue;
    }
    net::ServerResponse response = Respond(rule->status, rule->body);
    // Injected bodies are exact bytes, not necessarily JSON (e.g. Halo's
    // plain-text 429).
    if (!response.body.empty() && !ParseJson(response.body).ok()) {
      response.content_type = "text/plain; charset=utf-8";
    }
    if (--rule->remaining == 0) failures_.erase(rule);
    return response;
  }
  return std::nullopt;
}

std::vector<RecordedRequest> HaloSimulator::requests() const {
  absl::MutexLock lock(&mu_);
  return {requests_.begin(), requests_.end()};
}

void HaloSimulator::ClearRequests() {
  absl::MutexLock lock(&mu_);
  requests_.clear();
}

void HaloSimulator::RevokeTokens() {
  absl::MutexLock lock(&mu_);
  RevokeTokensLocked();
}

void HaloSimulator::RevokeTokensLocked() {
  tokens_.clear();
  token_order_.clear();
}

void HaloSimulator::InjectFailure(std::string method, std::string path_prefix, int status,
                                  std::string body, int count) {
  if (count < 1) return;
  absl::MutexLock lock(&mu_);
  if (failures_.size() >= kMaxFailureRules) failures_.pop_front();
  failures_.push_back(FailureRule{.method = std::move(method),
                                  .path_prefix = std::move(path_prefix),
                                  .status = status,
                                  .body = std::move(body),
                                  .remaining = count});
}

absl::Status HaloSimulator::SetFaults(FaultConfig config) {
  if (absl::Status valid = ValidateFaultConfig(config); !valid.ok()) return valid;
  absl::MutexLock lock(&mu_);
  faults_.Configure(std::move(config));
  return absl::OkStatus();
}

void HaloSimulator::ClearFaults() {
  absl::MutexLock lock(&mu_);
  faults_.TurnOff();
}

FaultConfig HaloSimulator::faults() const {
  absl::MutexLock lock(&mu_);
  return faults_.config();
}

FaultCounters HaloSimulator::fault_counters() const {
  absl::MutexLock lock(&mu_);
  return faults_.counters();
}

int HaloSimulator::token_requests() const {
  absl::MutexLock lock(&mu_);
  return token_requests_;
}

std::vector<google::protobuf::Struct> HaloSimulator::tickets() const {
  absl::MutexLock lock(&mu_);
  return data_.tickets();
}

std::optional<google::protobuf::Struct> HaloSimulator::ticket(int id) const {
  absl::MutexLock lock(&mu_);
  return data_.ticket(id);
}

std::vector<google::protobuf::Struct> HaloSimulator::actions(int ticket_id) const {
  absl::MutexLock lock(&mu_);
  return data_.actions(ticket_id);
}

std::vector<google::protobuf::Struct> HaloSimulator::assets() const {
  absl::MutexLock lock(&mu_);
  return data_.assets();
}

std::optional<google::protobuf::Struct> HaloSimulator::TechnicianAction(int agent_id, int ticket_id,
                                                                        const std::string& note,
                                                                        std::optional<int> new_status) {
  absl::MutexLock lock(&mu_);
  return data_.TechnicianAction(agent_id, ticket_id, note, new_status);
}

}  // namespace halopsa::sim

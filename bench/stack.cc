#include "bench/stack.h"

#include <grpcpp/grpcpp.h>

#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "adapters/net/url.h"
#include "server/json_values.h"

namespace halopsa::bench {
namespace {

constexpr absl::Duration kStartTimeout = absl::Seconds(20);

std::string StringOf(const google::protobuf::Struct& object, const std::string& key) {
  auto it = object.fields().find(key);
  return it == object.fields().end() ? "" : it->second.string_value();
}

}  // namespace

absl::StatusOr<ServerCounters> ParseCounters(absl::string_view metrics_text) {
  if (!absl::StrContains(metrics_text, "\nhalopsa_token_requests_total ")) {
    return absl::NotFoundError("/metrics has no halopsa_token_requests_total");
  }
  ServerCounters counters;
  counters.upstream_requests = testing::SumOfMetric(metrics_text, "halopsa_upstream_requests_total");
  counters.token_requests = testing::SumOfMetric(metrics_text, "halopsa_token_requests_total");
  counters.connections_opened = testing::SumOfMetric(metrics_text, "halopsa_upstream_connections_opened_total");
  counters.open_connections = testing::SumOfMetric(metrics_text, "halopsa_upstream_open_connections");
  counters.redis_commands = testing::SumOfMetric(metrics_text, "halopsa_shared_state_commands_total");
  counters.redis_round_trips = testing::SumOfMetric(metrics_text, "halopsa_shared_state_round_trips_total");
  return counters;
}

absl::StatusOr<net::HttpResponse> Fetch(net::HttpTransport& transport, net::HttpRequest request,
                                        absl::Duration timeout) {
  absl::Notification done;
  absl::StatusOr<net::HttpResponse> result;
  transport.Send(std::move(request), absl::Now() + timeout, [&](absl::StatusOr<net::HttpResponse> response) {
    result = std::move(response);
    done.Notify();
  });
  done.WaitForNotification();  // the transport bounds the exchange by the deadline
  return result;
}

absl::StatusOr<std::unique_ptr<Stack>> Stack::Start(const StackOptions& options, const std::string& label) {
  std::unique_ptr<Stack> stack(new Stack());
  if (options.tls) stack->ca_file_ = options.certs_dir + "/ca.pem";
  absl::StatusOr<std::unique_ptr<net::BeastHttpTransport>> control =
      net::BeastHttpTransport::Create(stack->ClientTransportOptions(4));
  if (!control.ok()) return control.status();
  stack->control_ = *std::move(control);
  if (absl::Status status = stack->StartSim(options, label); !status.ok()) return status;
  if (absl::Status status = stack->StartServer(options, label); !status.ok()) return status;
  if (!stack->channel_->WaitForConnected(absl::ToChronoTime(absl::Now() + kStartTimeout))) {
    return absl::UnavailableError("no gRPC connection to halopsa-server");
  }
  return stack;
}

Stack::~Stack() {
  channel_.reset();
  if (server_) server_->Stop();
  if (sim_) sim_->Stop();
}

net::BeastTransportOptions Stack::ClientTransportOptions(size_t max_connections) const {
  net::BeastTransportOptions options;
  options.threads = 1;
  options.allow_insecure_http = true;
  options.allow_private_addresses = true;
  options.extra_ca_file = ca_file_;
  options.max_connections_per_host = max_connections;
  options.max_queued_requests_per_host = 4096;
  options.connect_timeout = absl::Seconds(10);
  options.io_timeout = absl::Seconds(30);
  return options;
}

absl::Status Stack::StartSim(const StackOptions& options, const std::string& label) {
  std::vector<std::string> args = {"--listen=127.0.0.1:0", absl::StrCat("--client_id=", kSimClientId),
                                   absl::StrCat("--client_secret=", kSimClientSecret),
                                   absl::StrCat("--threads=", options.sim_threads)};
  if (options.tls) {
    args.push_back(absl::StrCat("--tls_cert=", options.certs_dir, "/server.pem"));
    args.push_back(absl::StrCat("--tls_key=", options.certs_dir, "/server.key"));
  }
  absl::StatusOr<std::unique_ptr<testing::ChildProcess>> sim = testing::ChildProcess::Spawn(
      options.bin_dir + "/halopsa-sim", args, {}, absl::StrCat(options.log_dir, "/", label, "-sim.log"));
  if (!sim.ok()) return sim.status();
  sim_ = *std::move(sim);
  absl::StatusOr<std::string> url = sim_->WaitForLine("halopsa-sim listening on ", kStartTimeout);
  if (!url.ok()) return absl::Status(url.status().code(), absl::StrCat("halopsa-sim: ", url.status().message()));
  sim_url_ = *url;
  return absl::OkStatus();
}

absl::Status Stack::StartServer(const StackOptions& options, const std::string& label) {
  testing::ServerProcessOptions server;
  server.binary = options.bin_dir + "/halopsa-server";
  server.log_path = absl::StrCat(options.log_dir, "/", label, "-server.log");
  server.args = {absl::StrCat("--instance_url=", sim_url_), absl::StrCat("--client_id=", kSimClientId),
                 "--allow_private_upstream", absl::StrCat("--max_connections_per_host=", options.pool_size),
                 "--shutdown_grace=2s", absl::StrCat("--rate_limit_requests=", options.rate_limit_requests),
                 absl::StrCat("--rate_limit_window=", options.rate_limit_window)};
  server.args.insert(server.args.end(), options.server_args.begin(), options.server_args.end());
  server.args.push_back(options.tls ? absl::StrCat("--ca_file=", ca_file_) : "--allow_insecure_http");
  server.env = {absl::StrCat("HALOPSA_CLIENT_SECRET=", kSimClientSecret)};
  server.env.insert(server.env.end(), options.server_env.begin(), options.server_env.end());
  if (!options.gateway_secret.empty()) {
    server.gateway = true;
    server.env.push_back(absl::StrCat("LC_EXTENSION_SECRET=", options.gateway_secret));
  }
  if (!options.redis_url.empty()) server.env.push_back(absl::StrCat("HALOPSA_REDIS_URL=", options.redis_url));
  server.start_timeout = kStartTimeout;
  absl::StatusOr<std::unique_ptr<testing::ServerProcess>> started = testing::ServerProcess::Start(std::move(server));
  if (!started.ok()) return started.status();
  server_ = *std::move(started);
  channel_ = grpc::CreateChannel(absl::StrCat("127.0.0.1:", server_->grpc_port()), grpc::InsecureChannelCredentials());
  return absl::OkStatus();
}

absl::StatusOr<std::string> Stack::Get(const std::string& url) {
  absl::StatusOr<net::HttpResponse> answer = Fetch(*control_, {"GET", url, {}, ""});
  if (!answer.ok()) return answer.status();
  if (answer->status != 200) return absl::UnavailableError(absl::StrCat("GET ", url, ": HTTP ", answer->status));
  return std::move(answer->body);
}

absl::StatusOr<ServerCounters> Stack::Counters() {
  absl::StatusOr<std::string> text = server_->Metrics();
  if (!text.ok()) return text.status();
  return ParseCounters(*text);
}

absl::StatusOr<std::string> Stack::SimToken() {
  net::HttpRequest request{"POST", sim_url_ + "/auth/token",
                           {{"Content-Type", "application/x-www-form-urlencoded"}},
                           net::FormEncode({{"grant_type", "client_credentials"},
                                            {"client_id", kSimClientId},
                                            {"client_secret", kSimClientSecret},
                                            {"scope", "all"}})};
  absl::StatusOr<net::HttpResponse> answer = Fetch(*control_, std::move(request));
  if (!answer.ok()) return answer.status();
  absl::StatusOr<google::protobuf::Value> json = ParseJson(answer->body);
  if (answer->status != 200 || !json.ok()) return absl::UnavailableError("the simulator refused a token");
  std::string token = StringOf(json->struct_value(), "access_token");
  if (token.empty()) return absl::UnavailableError("the simulator's token answer has no access_token");
  return token;
}

absl::Status Stack::ClearSimRequests() {
  absl::StatusOr<net::HttpResponse> answer = Fetch(*control_, {"DELETE", sim_url_ + "/_sim/requests", {}, ""});
  if (!answer.ok()) return answer.status();
  return answer->status == 204 ? absl::OkStatus() : absl::UnavailableError("DELETE /_sim/requests failed");
}

absl::StatusOr<std::vector<RecordedRequest>> Stack::SimRequests() {
  absl::StatusOr<std::string> body = Get(sim_url_ + "/_sim/requests");
  if (!body.ok()) return body.status();
  absl::StatusOr<google::protobuf::Value> json = ParseJson(*body);
  if (!json.ok()) return json.status();
  std::vector<RecordedRequest> requests;
  for (const google::protobuf::Value& entry : json->list_value().values()) {
    const google::protobuf::Struct& record = entry.struct_value();
    const std::string path = StringOf(record, "path");
    if (path == "/auth/token") continue;
    net::HeaderList query;
    auto it = record.fields().find("query");
    if (it != record.fields().end()) {
      for (const google::protobuf::Value& pair : it->second.list_value().values()) {
        query.emplace_back(StringOf(pair.struct_value(), "name"), StringOf(pair.struct_value(), "value"));
      }
    }
    requests.push_back({StringOf(record, "method"), net::AppendQuery(path, query), StringOf(record, "content_type"),
                        StringOf(record, "body")});
  }
  return requests;
}

absl::StatusOr<std::string> Stack::SimControl(const std::string& method, const std::string& path,
                                              const std::string& body) {
  net::HeaderList headers;
  if (!body.empty()) headers.emplace_back("Content-Type", "application/json");
  absl::StatusOr<net::HttpResponse> answer = Fetch(*control_, {method, sim_url_ + "/_sim/" + path, headers, body});
  if (!answer.ok()) return answer.status();
  if (answer->status != 200 && answer->status != 204) {
    return absl::UnavailableError(absl::StrCat(method, " /_sim/", path, ": HTTP ", answer->status, " ", answer->body));
  }
  return std::move(answer->body);
}

bool ServerHasGateway(const std::string& bin_dir, const std::string& log_dir) {
  const std::string log = log_dir + "/server-help.log";
  absl::StatusOr<std::unique_ptr<testing::ChildProcess>> help =
      testing::ChildProcess::Spawn(bin_dir + "/halopsa-server", {"--help"}, {}, log);
  if (!help.ok() || !(*help)->WaitForExit(absl::Seconds(10)).ok()) return false;
  absl::StatusOr<std::string> text = testing::ReadFile(log);
  return text.ok() && absl::StrContains(*text, "gateway_listen");
}

}  // namespace halopsa::bench

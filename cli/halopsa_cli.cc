// halopsa-cli: calls HaloPsaService, or its LimaCharlie webhook gateway,
// from a shell.
//   halopsa-cli [--target=host:port] <action> '<request JSON>'
//   halopsa-cli [--target=host:port] health
//   halopsa-cli --gateway_url=URL --lc_extension_secret_file=F webhook '<envelope JSON>'
//   halopsa-cli --gateway_url=URL --lc_extension_secret_file=F --org_config='{...}' webhook <action> '<data JSON>'
// <action> is a product-page name (create_ticket) or an RPC name
// (CreateTicket). gRPC calls print the response as JSON; on failure the
// gRPC code, message and error details go to stderr and the exit code is 1.
// webhook signs (lc-ext-sig) and gzips the envelope as LimaCharlie does and
// prints the HTTP status and the response envelope.

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include <fstream>
#include <functional>
#include <sstream>
#include <iostream>
#include <map>

#include <google/protobuf/util/json_util.h>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/strings/match.h"
#include "absl/strings/strip.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "adapters/limacharlie/gzip.h"
#include "adapters/limacharlie/signature.h"
#include "adapters/net/beast_http_transport.h"
#include "halopsa/v1/halopsa.grpc.pb.h"
#include "server/json_values.h"

ABSL_FLAG(std::string, target, "127.0.0.1:50051", "host:port of halopsa-server's gRPC listener");
ABSL_FLAG(absl::Duration, timeout, absl::Seconds(30), "deadline of the call");
ABSL_FLAG(std::string, gateway_url, "http://127.0.0.1:8080/", "webhook gateway URL, for the webhook command");
ABSL_FLAG(std::string, lc_extension_secret_file, "", "file holding the webhook signing key, for the webhook command");
ABSL_FLAG(std::string, org_config, "{}",
          "the org's extension config JSON (instance_url, client_id, client_secret, ...), for webhook <action>");
ABSL_FLAG(std::string, org_id, "cli-org", "LimaCharlie org id put in webhook envelopes");
ABSL_FLAG(std::string, tls_ca_file, "", "PEM CA bundle that signed the server's certificate; empty = plaintext");
ABSL_FLAG(std::string, tls_cert_file, "", "PEM client certificate, for servers that require mTLS");
ABSL_FLAG(std::string, tls_key_file, "", "PEM private key of --tls_cert_file");

namespace {

namespace lc = halopsa::lc;
namespace net = halopsa::net;
using Stub = halopsa::v1::HaloPsaService::Stub;
using Runner = std::function<int(Stub&, const std::string&)>;

void PrintError(const grpc::Status& status) {
  std::cerr << "error: " << status.error_code() << " " << status.error_message() << "\n";
  google::rpc::Status rich;
  if (!rich.ParseFromString(status.error_details())) return;
  for (const auto& detail : rich.details()) {
    google::rpc::ErrorInfo info;
    google::rpc::BadRequest bad_request;
    std::string json;
    if (detail.UnpackTo(&info)) {
      (void)google::protobuf::util::MessageToJsonString(info, &json);
    } else if (detail.UnpackTo(&bad_request)) {
      (void)google::protobuf::util::MessageToJsonString(bad_request, &json);
    }
    if (!json.empty()) std::cerr << "detail: " << json << "\n";
  }
}

std::string ReadFile(const std::string& path) {
  std::ifstream file(path);
  std::stringstream content;
  content << file.rdbuf();
  if (!file) {
    std::cerr << "error: cannot read " << path << "\n";
    std::exit(2);
  }
  return content.str();
}

std::shared_ptr<grpc::ChannelCredentials> Credentials() {
  if (absl::GetFlag(FLAGS_tls_ca_file).empty()) return grpc::InsecureChannelCredentials();
  grpc::SslCredentialsOptions options;
  options.pem_root_certs = ReadFile(absl::GetFlag(FLAGS_tls_ca_file));
  if (!absl::GetFlag(FLAGS_tls_cert_file).empty()) {
    options.pem_cert_chain = ReadFile(absl::GetFlag(FLAGS_tls_cert_file));
    options.pem_private_key = ReadFile(absl::GetFlag(FLAGS_tls_key_file));
  }
  return grpc::SslCredentials(options);
}

std::unique_ptr<grpc::ClientContext> CallContext() {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(absl::ToChronoTime(absl::Now() + absl::GetFlag(FLAGS_timeout)));
  return context;
}

template <typename Request, typename Response>
Runner Rpc(grpc::Status (Stub::*method)(grpc::ClientContext*, const Request&, Response*)) {
  return [method](Stub& stub, const std::string& json) {
    Request request;
    google::protobuf::util::JsonParseOptions strict;
    auto parsed = google::protobuf::util::JsonStringToMessage(json, &request, strict);
    if (!parsed.ok()) {
      std::cerr << "error: request JSON: " << parsed.message() << "\n";
      return 2;
    }
    Response response;
    auto context = CallContext();
    grpc::Status status = (stub.*method)(context.get(), request, &response);
    if (!status.ok()) {
      PrintError(status);
      return 1;
    }
    std::string out;
    google::protobuf::util::JsonPrintOptions options;
    options.preserve_proto_field_names = true;
    options.add_whitespace = true;
    (void)google::protobuf::util::MessageToJsonString(response, &out, options);
    std::cout << out;
    return 0;
  };
}

const std::map<std::string, Runner>& Actions() {
  static const auto* actions = new std::map<std::string, Runner>{
      {"create_ticket", Rpc(&Stub::CreateTicket)},
      {"update_ticket", Rpc(&Stub::UpdateTicket)},
      {"search_tickets", Rpc(&Stub::SearchTickets)},
      {"add_action", Rpc(&Stub::AddAction)},
      {"link_asset_to_ticket", Rpc(&Stub::LinkAssetToTicket)},
      {"lookup_client_site", Rpc(&Stub::LookupClientSite)},
      {"mirror_case", Rpc(&Stub::MirrorCase)},
      {"pull_ticket_changes", Rpc(&Stub::PullTicketChanges)},
  };
  return *actions;
}

// "CreateTicket" -> "create_ticket".
std::string SnakeCase(const std::string& name) {
  std::string out;
  for (char c : name) {
    if (std::isupper(static_cast<unsigned char>(c))) {
      if (!out.empty()) out += '_';
      out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    } else {
      out += c;
    }
  }
  return out;
}

// The standard health service, called with hand-encoded bytes (its messages
// are not in this project's protos): an empty request; SERVING is 0x08 0x01.
int Health(const std::shared_ptr<grpc::Channel>& channel) {
  grpc::GenericStub stub(channel);
  auto context = CallContext();
  grpc::Slice no_bytes;  // an empty message still needs one slice
  grpc::ByteBuffer request(&no_bytes, 1);
  grpc::ByteBuffer response;
  grpc::Status status;
  absl::Notification done;
  stub.UnaryCall(context.get(), "/grpc.health.v1.Health/Check", grpc::StubOptions(), &request, &response,
                 [&](grpc::Status result) {
                   status = std::move(result);
                   done.Notify();
                 });
  done.WaitForNotification();
  if (!status.ok()) {
    PrintError(status);
    return 1;
  }
  std::vector<grpc::Slice> slices;
  std::string bytes;
  if (response.Dump(&slices).ok()) {
    for (const auto& slice : slices) bytes.append(reinterpret_cast<const char*>(slice.begin()), slice.size());
  }
  bool serving = bytes == std::string("\x08\x01", 2);
  std::cout << (serving ? "SERVING" : "NOT_SERVING") << "\n";
  return serving ? 0 : 1;
}

// The request envelope LimaCharlie sends for an extension request.
std::string RequestEnvelope(const std::string& action, const std::string& data_json) {
  for (const auto& [name, json] : {std::pair{"request data", data_json}, {"--org_config", absl::GetFlag(FLAGS_org_config)}}) {
    if (!halopsa::ParseJson(json).ok()) {
      std::cerr << "error: " << name << " is not valid JSON\n";
      std::exit(2);
    }
  }
  return absl::StrCat(R"({"version":20221218,"idempotency_key":")", absl::ToUnixNanos(absl::Now()),
                      R"(","request":{"org":{"oid":)", halopsa::ToJson(halopsa::JsonString(absl::GetFlag(FLAGS_org_id))),
                      R"(,"jwt":"","ident":"halopsa-cli"},"action":)", halopsa::ToJson(halopsa::JsonString(action)),
                      R"(,"data":)", data_json, R"(,"config":)", absl::GetFlag(FLAGS_org_config), "}}");
}

// Signs and gzips `envelope` as LimaCharlie does and POSTs it to the gateway.
int SendWebhook(const std::string& envelope) {
  std::string secret_file = absl::GetFlag(FLAGS_lc_extension_secret_file);
  if (secret_file.empty()) {
    std::cerr << "error: webhook needs --lc_extension_secret_file\n";
    return 2;
  }
  std::string secret(absl::StripTrailingAsciiWhitespace(ReadFile(secret_file)));
  net::BeastTransportOptions options;
  options.extra_ca_file = absl::GetFlag(FLAGS_tls_ca_file);
  options.allow_insecure_http = true;      // the gateway speaks HTTP behind its ingress
  options.allow_private_addresses = true;  // an operator's tool, pointed by the operator
  auto transport = net::BeastHttpTransport::Create(options);
  if (!transport.ok()) {
    std::cerr << "error: " << transport.status() << "\n";
    return 2;
  }
  net::HttpRequest request{"POST",
                           absl::GetFlag(FLAGS_gateway_url),
                           {{"Content-Type", "application/json"},
                            {"Content-Encoding", "gzip"},
                            {"lc-ext-sig", lc::Sign(secret, envelope)}},
                           lc::Gzip(envelope)};
  absl::StatusOr<net::HttpResponse> response;
  absl::Notification done;
  (*transport)->Send(std::move(request), absl::Now() + absl::GetFlag(FLAGS_timeout),
                     [&](absl::StatusOr<net::HttpResponse> result) {
                       response = std::move(result);
                       done.Notify();
                     });
  done.WaitForNotification();
  if (!response.ok()) {
    std::cerr << "error: " << response.status() << "\n";
    return 1;
  }
  std::cout << "HTTP " << response->status << "\n" << response->body << "\n";
  return response->status == 200 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "halopsa-cli [--target=host:port] <action> '<JSON request>' | health\n"
      "halopsa-cli --lc_extension_secret_file=F [--gateway_url=URL] webhook '<envelope JSON>'\n"
      "halopsa-cli --lc_extension_secret_file=F [--gateway_url=URL] --org_config='<JSON>' webhook <action> '<data JSON>'\n"
      "actions: create_ticket update_ticket search_tickets add_action link_asset_to_ticket lookup_client_site "
      "mirror_case pull_ticket_changes");
  absl::FlagsUsageConfig usage;
  usage.contains_help_flags = [](absl::string_view path) { return absl::EndsWith(path, "halopsa_cli.cc"); };
  absl::SetFlagsUsageConfig(usage);
  std::vector<char*> args = absl::ParseCommandLine(argc, argv);
  auto channel = grpc::CreateChannel(absl::GetFlag(FLAGS_target), Credentials());
  if (args.size() == 2 && std::string(args[1]) == "health") return Health(channel);
  if (args.size() == 3 && std::string(args[1]) == "webhook") return SendWebhook(args[2]);
  if (args.size() == 4 && std::string(args[1]) == "webhook") return SendWebhook(RequestEnvelope(args[2], args[3]));
  if (args.size() != 3) {
    std::cerr << absl::ProgramUsageMessage() << "\n";
    return 2;
  }
  auto action = Actions().find(SnakeCase(args[1]));
  if (action == Actions().end()) {
    std::cerr << "error: unknown action " << args[1] << "\n" << absl::ProgramUsageMessage() << "\n";
    return 2;
  }
  auto stub = halopsa::v1::HaloPsaService::NewStub(channel);
  return action->second(*stub, args[2]);
}

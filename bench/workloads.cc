#include "bench/workloads.h"

#include <memory>

#include "absl/strings/str_cat.h"
#include "adapters/limacharlie/signature.h"
#include "google/protobuf/util/json_util.h"
#include "halopsa/v1/halopsa.pb.h"
#include "server/json_values.h"

namespace halopsa::bench {
namespace {

std::string Method(absl::string_view name) { return absl::StrCat("/halopsa.v1.HaloPsaService/", name); }

// Seeded Globex tickets 1001-1120 carry no assets; asset 2 (key_field
// globex-db01) belongs to their client and site.
constexpr int64_t kGlobexTickets = 120;

std::string LinkGlobexTicket(int64_t seq) {
  return absl::StrCat(R"({"ticket_id":)", 1001 + seq, R"(,"hostname":"globex-db01","client_id":2,"site_id":3})");
}

CountCase Steady(std::string data) {
  return {"steady state", [data = std::move(data)](int64_t) { return data; }, 1, false};
}

std::vector<Workload> MakeWorkloads() {
  const std::string create =
      R"({"summary":"LC detection: encoded PowerShell","details":"winword.exe spawned powershell.exe -enc on )"
      R"(CONTOSO-LT-7","client_id":12,"site_id":18,"tickettype_id":1,"priority_id":2})";
  const std::string update = R"({"id":2884,"status_id":2,"agent_id":1,"priority_id":3})";
  const std::string search = R"({"search":"Suspicious login","client_id":12})";
  const std::string add_action =
      R"({"ticket_id":2884,"note":"Process tree and network connections attached from LimaCharlie.","timetaken":1})";
  const std::string lookup = R"({"type":"client","search":"Contoso"})";
  return {
      {"create_ticket", Method("CreateTicket"), &v1::CreateTicketRequest::default_instance(), create, {},
       R"({"details":"no summary: refused before any HaloPSA work"})", {Steady(create)}},
      {"update_ticket", Method("UpdateTicket"), &v1::UpdateTicketRequest::default_instance(), update, {}, "",
       {Steady(update)}},
      {"search_tickets", Method("SearchTickets"), &v1::SearchTicketsRequest::default_instance(), search, {}, "",
       {Steady(search)}},
      {"add_action", Method("AddAction"), &v1::AddActionRequest::default_instance(), add_action, {}, "",
       {Steady(add_action)}},
      // The service links one asset at a time per ticket (HaloPSA replaces a
      // ticket's whole asset list), so the measured calls go round all 120
      // Globex tickets, as detections on different hosts would; on a single
      // ticket the figure would be that lock's, not the service's.
      {"link_asset_to_ticket",
       Method("LinkAssetToTicket"),
       &v1::LinkAssetToTicketRequest::default_instance(),
       // The cold burst's call; CONTOSO-LT-7 is linked to 2884 from then on.
       R"({"ticket_id":2884,"hostname":"CONTOSO-LT-7","client_id":12,"site_id":18})",
       [](int64_t seq) { return LinkGlobexTicket(seq % kGlobexTickets); },
       "",
       // globex-db01 is a key_field: the exact inventory_number filter misses
       // it and the search finds it (ticket, its assets, two lookups, write).
       {{"asset exists", LinkGlobexTicket, 5, true}, {"already linked", LinkGlobexTicket, 2, true}}},
      {"lookup_client_site", Method("LookupClientSite"), &v1::LookupClientSiteRequest::default_instance(), lookup, {}, "",
       {Steady(lookup)}},
  };
}

}  // namespace

const std::vector<Workload>& Workloads() {
  static const auto* const workloads = new std::vector<Workload>(MakeWorkloads());
  return *workloads;
}

absl::StatusOr<std::string> SerializeRequest(const Workload& workload, absl::string_view data_json) {
  std::unique_ptr<google::protobuf::Message> request(workload.request_prototype->New());
  auto status = google::protobuf::util::JsonStringToMessage(
      google::protobuf::StringPiece(data_json.data(), data_json.size()), request.get());
  if (!status.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(workload.action, ": ", status.message().ToString()));
  }
  return request->SerializeAsString();
}

EnvelopeSigner::EnvelopeSigner(std::string gateway_url, std::string secret,
                               const std::map<std::string, std::string>& config)
    : url_(std::move(gateway_url)), secret_(std::move(secret)) {
  google::protobuf::Struct object;
  for (const auto& [key, value] : config) (*object.mutable_fields())[key] = JsonString(value);
  google::protobuf::Value value;
  *value.mutable_struct_value() = std::move(object);
  config_json_ = ToJson(value);
}

net::HttpRequest EnvelopeSigner::Request(absl::string_view action, absl::string_view data_json,
                                         absl::string_view key) const {
  net::HttpRequest request;
  request.method = "POST";
  request.url = url_;
  request.body = absl::StrCat(R"({"version":20221218,"idempotency_key":")", key,
                              R"(","request":{"org":{"oid":"bench-org","jwt":"bench-jwt","ident":"bench"},"action":")",
                              action, R"(","data":)", data_json, R"(,"config":)", config_json_, "}}");
  request.headers = {{"Content-Type", "application/json"},
                     {std::string(lc::kSignatureHeader), lc::Sign(secret_, request.body)}};
  return request;
}

}  // namespace halopsa::bench

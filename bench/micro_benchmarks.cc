// Micro-benchmarks of the per-call hot paths: Halo JSON handling, request
// validation and payload building, proto3 JSON, and the gateway's envelope
// parse + signature check + data translation.

#include <benchmark/benchmark.h>

#include <string>

#include "absl/strings/str_cat.h"
#include "adapters/limacharlie/actions.h"
#include "adapters/limacharlie/envelope.h"
#include "adapters/limacharlie/request_translation.h"
#include "adapters/limacharlie/signature.h"
#include "google/protobuf/util/json_util.h"
#include "halopsa/v1/halopsa.pb.h"
#include "rapidjson/document.h"
#include "server/halo_payloads.h"
#include "server/json_values.h"
#include "server/request_validation.h"

namespace halopsa::bench {
namespace {

// A ticket as HaloPSA answers a create or a GET /api/Tickets/{id}.
std::string HaloTicket(int id) {
  return absl::StrCat(
      R"({"id":)", id,
      R"(,"summary":"LC detection: encoded PowerShell","details":"winword.exe spawned powershell.exe -enc on CONTOSO-LT-7",)"
      R"("client_id":12,"client_name":"Contoso","site_id":18,"site_name":"Contoso HQ","user_id":0,"user_name":"",)"
      R"("agent_id":1,"agent_name":"Alice","team":"SOC","tickettype_id":1,"tickettype_name":"Incident",)"
      R"("priority_id":2,"status_id":1,"status_name":"New","impact":2,"urgency":2,"category_1":"Security",)"
      R"("dateoccurred":"2024-05-02T10:11:12Z","datecreated":"2024-05-02T10:11:12Z","deadlinedate":"2024-05-03T10:11:12Z",)"
      R"("assets":[{"id":3,"inventory_number":"CONTOSO-LT-7"}],)"
      R"("customfields":[{"id":101,"value":"8f3b2c1d-0000-4a5b-9c8d-123456789abc"}]})");
}

std::string TicketPage(int tickets) {
  std::string page = absl::StrCat(R"({"page_no":1,"page_size":)", tickets, R"(,"record_count":)", tickets,
                                  R"(,"tickets":[)");
  for (int i = 0; i < tickets; ++i) absl::StrAppend(&page, i == 0 ? "" : ",", HaloTicket(2884 + i));
  return page + "]}";
}

constexpr char kCreateData[] =
    R"({"summary":"LC detection: encoded PowerShell","details":"winword.exe spawned powershell.exe -enc on )"
    R"(CONTOSO-LT-7","client_id":12,"site_id":18,"tickettype_id":1,"priority_id":2,)"
    R"("customfields":[{"id":101,"value":"8f3b2c1d-0000-4a5b-9c8d-123456789abc"}]})";

void BM_ParseHaloTicket(benchmark::State& state) {
  const std::string text = HaloTicket(2884);
  for (auto _ : state) benchmark::DoNotOptimize(ParseJson(text));
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(text.size()));
}
BENCHMARK(BM_ParseHaloTicket);

void BM_ParseHaloTicketPage(benchmark::State& state) {
  const std::string text = TicketPage(static_cast<int>(state.range(0)));
  for (auto _ : state) benchmark::DoNotOptimize(ParseJson(text));
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(text.size()));
}
BENCHMARK(BM_ParseHaloTicketPage)->Arg(1)->Arg(20)->Arg(100);

// Baseline for ParseJson: RapidJSON's DOM turned into the same
// google::protobuf::Value, i.e. what a RapidJSON-based ParseJson would cost.
void ToValue(const rapidjson::Value& in, google::protobuf::Value& out) {
  if (in.IsObject()) {
    auto& fields = *out.mutable_struct_value()->mutable_fields();
    for (const auto& member : in.GetObject()) {
      ToValue(member.value, fields[std::string(member.name.GetString(), member.name.GetStringLength())]);
    }
  } else if (in.IsArray()) {
    auto& values = *out.mutable_list_value()->mutable_values();
    for (const auto& element : in.GetArray()) ToValue(element, *values.Add());
  } else if (in.IsString()) {
    out.set_string_value(std::string(in.GetString(), in.GetStringLength()));
  } else if (in.IsNumber()) {
    out.set_number_value(in.GetDouble());
  } else if (in.IsBool()) {
    out.set_bool_value(in.GetBool());
  } else {
    out.set_null_value(google::protobuf::NULL_VALUE);
  }
}

void BM_RapidJsonBaselineParseHaloTicketPage(benchmark::State& state) {
  const std::string text = TicketPage(static_cast<int>(state.range(0)));
  for (auto _ : state) {
    rapidjson::Document document;
    document.Parse(text.data(), text.size());
    google::protobuf::Value value;
    ToValue(document, value);
    benchmark::DoNotOptimize(value);
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(text.size()));
}
BENCHMARK(BM_RapidJsonBaselineParseHaloTicketPage)->Arg(1)->Arg(20)->Arg(100);

void BM_HaloTicketToJson(benchmark::State& state) {
  const google::protobuf::Value ticket = *ParseJson(HaloTicket(2884));
  for (auto _ : state) benchmark::DoNotOptimize(ToJson(ticket));
}
BENCHMARK(BM_HaloTicketToJson);

// create_ticket's work before the upstream call: validate, build the ticket
// object, serialize the POST body.
void BM_CreateTicketValidateAndBuild(benchmark::State& state) {
  v1::CreateTicketRequest request;
  if (!google::protobuf::util::JsonStringToMessage(kCreateData, &request).ok()) {
    state.SkipWithError("bad request JSON");
    return;
  }
  for (auto _ : state) {
    benchmark::DoNotOptimize(Validate(request));
    benchmark::DoNotOptimize(ToJson(ArrayOf(NewTicket(request))));
  }
}
BENCHMARK(BM_CreateTicketValidateAndBuild);

// create_ticket's work after it: the answer parsed and taken as the ticket.
void BM_CreateTicketAnswer(benchmark::State& state) {
  const std::string answer = HaloTicket(2885);
  for (auto _ : state) {
    absl::StatusOr<google::protobuf::Value> json = ParseJson(answer);
    benchmark::DoNotOptimize(SingleObject(*std::move(json), "ticket"));
  }
}
BENCHMARK(BM_CreateTicketAnswer);

void BM_ProtoJsonCreateTicketRequest(benchmark::State& state) {
  for (auto _ : state) {
    v1::CreateTicketRequest request;
    benchmark::DoNotOptimize(google::protobuf::util::JsonStringToMessage(kCreateData, &request));
    std::string text;
    benchmark::DoNotOptimize(google::protobuf::util::MessageToJsonString(request, &text));
  }
}
BENCHMARK(BM_ProtoJsonCreateTicketRequest);

// The gateway's inbound work for one create_ticket callback.
void BM_EnvelopeVerifyParseTranslate(benchmark::State& state) {
  const std::string secret = "bench-lc-extension-secret";
  const std::string body = absl::StrCat(
      R"({"version":20221218,"idempotency_key":"k-1","request":{"org":{"oid":"o","jwt":"j","ident":"i"},)"
      R"("action":"create_ticket","data":)",
      kCreateData,
      R"(,"config":{"instance_url":"https://acme.halopsa.com","client_id":"c","client_secret":"hive://secret/s"}}})");
  const std::string signature = lc::Sign(secret, body);
  const lc::ActionSpec* action = lc::FindAction("create_ticket");
  if (action == nullptr) {
    state.SkipWithError("no create_ticket action spec");
    return;
  }
  for (auto _ : state) {
    benchmark::DoNotOptimize(lc::VerifySignature(secret, body, signature));
    absl::StatusOr<lc::RequestEnvelope> envelope = lc::ParseRequestEnvelope(body);
    benchmark::DoNotOptimize(lc::RequestFromData(*action, envelope->data_json));
  }
}
BENCHMARK(BM_EnvelopeVerifyParseTranslate);

void BM_SignatureVerify(benchmark::State& state) {
  const std::string body(static_cast<size_t>(state.range(0)), 'x');
  const std::string signature = lc::Sign("secret", body);
  for (auto _ : state) benchmark::DoNotOptimize(lc::VerifySignature("secret", body, signature));
}
BENCHMARK(BM_SignatureVerify)->Arg(512)->Arg(4096);

}  // namespace
}  // namespace halopsa::bench

BENCHMARK_MAIN();

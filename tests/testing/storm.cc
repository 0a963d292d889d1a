#include "tests/testing/storm.h"

#include <rapidjson/document.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"

namespace halopsa::testing {
namespace {

constexpr absl::string_view kMarkerPrefix = "det:";
constexpr size_t kMarkerLength = 11;  // "det:A-0042;"
constexpr size_t kFailuresKept = 5;

struct OrgShape {
  const char* name;
  const char* oid;
  int client_id;
};
constexpr OrgShape kStormOrg = {"A", "0a0a0a0a-storm-org-a", 12};
constexpr OrgShape kQuietOrgs[] = {{"B", "0b0b0b0b-quiet-org-b", 1}, {"C", "0c0c0c0c-quiet-org-c", 2}};

std::string Marker(absl::string_view org, int index) { return absl::StrFormat("det:%s-%04d;", org, index); }

StormDetection Detection(const OrgShape& org, int index, absl::Duration at, const std::string& summary,
                         const std::string& dedupe_json, const lc::testing::Config& halo_config) {
  StormDetection detection;
  detection.org = org.name;
  detection.marker = Marker(org.name, index);
  detection.at = at;
  detection.call.org.oid = org.oid;
  detection.call.org.ident = absl::StrCat("storm-", org.name);
  detection.call.action = "create_ticket";
  detection.call.config = halo_config;
  detection.call.idempotency_key = absl::StrCat("storm-", org.name, "-", index);
  detection.call.data_json = absl::StrCat(
      R"({"summary":")", summary, " ", detection.marker, R"(","details":"Detection )", detection.marker,
      " fired ", absl::ToInt64Milliseconds(at), R"( ms into the storm","client_id":)", org.client_id, dedupe_json,
      "}");
  return detection;
}

// "det:X-NNNN;" markers in `text`.
std::vector<std::string> MarkersIn(absl::string_view text) {
  std::vector<std::string> markers;
  for (size_t at = text.find(kMarkerPrefix); at != absl::string_view::npos; at = text.find(kMarkerPrefix, at + 1)) {
    if (at + kMarkerLength <= text.size() && text[at + kMarkerLength - 1] == ';') {
      markers.emplace_back(text.substr(at, kMarkerLength));
    }
  }
  return markers;
}

std::string StringMember(const rapidjson::Value& object, const char* name) {
  return object.HasMember(name) && object[name].IsString() ? object[name].GetString() : "";
}

int64_t IntMember(const rapidjson::Value& object, const char* name) {
  return object.HasMember(name) && object[name].IsNumber() ? static_cast<int64_t>(object[name].GetDouble()) : 0;
}

bool Deduplicated(const std::string& data_json) {
  rapidjson::Document data;
  data.Parse(data_json.c_str());
  return !data.HasParseError() && data.IsObject() && data.HasMember("deduplicated") &&
         data["deduplicated"].IsBool() && data["deduplicated"].GetBool();
}

// Where each marker was written: ticket ids ("t12") and note ids ("n12.3"),
// and which org's markers each ticket holds.
struct Written {
  std::map<std::string, std::set<std::string>> records_of_marker;
  std::map<int64_t, std::string> org_of_ticket;
  std::map<int64_t, int> notes_of_ticket;  // actions beyond the ticket body
};

absl::StatusOr<Written> ReadState(absl::string_view sim_state_json) {
  rapidjson::Document state;
  state.Parse(sim_state_json.data(), sim_state_json.size());
  if (state.HasParseError() || !state.IsObject() || !state.HasMember("tickets") || !state["tickets"].IsArray() ||
      !state.HasMember("actions") || !state["actions"].IsArray()) {
    return absl::InvalidArgumentError("the simulator's state is not {\"tickets\": [...], \"actions\": [...]}");
  }
  Written written;
  for (const rapidjson::Value& ticket : state["tickets"].GetArray()) {
    const int64_t id = IntMember(ticket, "id");
    for (const std::string& marker : MarkersIn(StringMember(ticket, "summary") + StringMember(ticket, "details"))) {
      written.records_of_marker[marker].insert(absl::StrCat("t", id));
      written.org_of_ticket[id] = marker.substr(kMarkerPrefix.size(), 1);
    }
  }
  for (const rapidjson::Value& action : state["actions"].GetArray()) {
    const int64_t ticket = IntMember(action, "ticket_id");
    const int64_t id = IntMember(action, "id");
    if (id == 1) continue;  // the ticket body, counted with the ticket
    ++written.notes_of_ticket[ticket];
    for (const std::string& marker : MarkersIn(StringMember(action, "note"))) {
      written.records_of_marker[marker].insert(absl::StrCat("n", ticket, ".", id));
    }
  }
  return written;
}

}  // namespace

std::vector<StormDetection> PlanStorm(const StormShape& shape, const lc::testing::Config& halo_config) {
  std::vector<StormDetection> detections;
  for (int i = 0; i < shape.storm_detections; ++i) {
    const int key = i % shape.storm_keys;
    const std::string dedupe =
        shape.dedupe ? absl::StrCat(R"(,"dedupe_key":"ransomware-host-)", key, R"(","dedupe_window_min":)",
                                    shape.dedupe_window_min)
                     : "";
    detections.push_back(Detection(kStormOrg, i, shape.storm_length * i / shape.storm_detections,
                                   absl::StrCat("Ransomware on host-", key), dedupe, halo_config));
  }
  for (const OrgShape& org : kQuietOrgs) {
    int index = 0;
    for (absl::Duration at = absl::ZeroDuration(); at < shape.storm_length; at += shape.quiet_every) {
      detections.push_back(Detection(org, index, at, absl::StrCat("Suspicious login ", index), "", halo_config));
      ++index;
    }
  }
  std::stable_sort(detections.begin(), detections.end(),
                   [](const StormDetection& a, const StormDetection& b) { return a.at < b.at; });
  return detections;
}

absl::StatusOr<std::vector<CallOutcome>> RunStorm(LimaCharlieClient& client,
                                                  const std::vector<StormDetection>& detections,
                                                  absl::Duration bound) {
  // Shared with the callbacks, which may outlive this call when it gives up.
  struct Results {
    absl::Mutex mu;
    std::vector<CallOutcome> outcomes ABSL_GUARDED_BY(mu);
  };
  auto results = std::make_shared<Results>();
  {
    absl::MutexLock lock(&results->mu);
    results->outcomes.resize(detections.size());
  }
  const absl::Time start = absl::Now();
  for (size_t i = 0; i < detections.size(); ++i) {
    client.CallAt(start + detections[i].at, detections[i].call, [results, i](CallOutcome outcome) {
      absl::MutexLock lock(&results->mu);
      results->outcomes[i] = std::move(outcome);
    });
  }
  if (!client.WaitUntilIdle(bound)) {
    return absl::DeadlineExceededError(
        absl::StrCat(client.in_flight(), " detections still under way after ", absl::FormatDuration(bound)));
  }
  absl::MutexLock lock(&results->mu);
  return results->outcomes;
}

absl::StatusOr<CallOutcome> CallOnce(LimaCharlieClient& client, LimaCharlieCall call, absl::Duration bound) {
  StormDetection only;
  only.call = std::move(call);
  absl::StatusOr<std::vector<CallOutcome>> outcomes = RunStorm(client, {only}, bound);
  if (!outcomes.ok()) return outcomes.status();
  return outcomes->front();
}

absl::Status WarmUpTokens(LimaCharlieClient& client, const lc::testing::Config& halo_config, absl::Duration bound) {
  std::vector<StormDetection> lookups;
  for (const OrgShape& org : {kStormOrg, kQuietOrgs[0], kQuietOrgs[1]}) {
    StormDetection& lookup = lookups.emplace_back();
    lookup.call.org.oid = org.oid;
    lookup.call.action = "lookup_client_site";
    lookup.call.data_json = absl::StrCat(R"({"type":"site","client_id":)", org.client_id, "}");
    lookup.call.config = halo_config;
    lookup.call.idempotency_key = absl::StrCat("storm-warm-up-", org.name);
  }
  absl::StatusOr<std::vector<CallOutcome>> outcomes = RunStorm(client, lookups, bound);
  if (!outcomes.ok()) return outcomes.status();
  for (const CallOutcome& outcome : *outcomes) {
    if (!outcome.succeeded) return absl::UnavailableError(absl::StrCat("warm-up lookup: ", outcome.final_error));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::map<std::string, OrgTally>> TallyStorm(const std::vector<StormDetection>& detections,
                                                          const std::vector<CallOutcome>& outcomes,
                                                          absl::string_view sim_state_json) {
  if (outcomes.size() != detections.size()) return absl::InvalidArgumentError("one outcome per detection");
  absl::StatusOr<Written> written = ReadState(sim_state_json);
  if (!written.ok()) return written.status();
  std::map<std::string, OrgTally> tallies;
  for (size_t i = 0; i < detections.size(); ++i) {
    OrgTally& tally = tallies[detections[i].org];
    const CallOutcome& outcome = outcomes[i];
    ++tally.fired;
    tally.succeeded += outcome.succeeded ? 1 : 0;
    tally.deliveries += outcome.deliveries;
    tally.retries += outcome.retries;
    tally.deferrals += outcome.deferrals;
    tally.deduplicated += Deduplicated(outcome.final_data_json) ? 1 : 0;
    if (outcome.succeeded) tally.waits.push_back(outcome.elapsed);
    if (!outcome.succeeded && tally.failures.size() < kFailuresKept) {
      tally.failures.push_back(absl::StrCat(detections[i].marker, " status ", outcome.final_status, ": ",
                                            outcome.final_error));
    }
    auto records = written->records_of_marker.find(detections[i].marker);
    const size_t copies = records == written->records_of_marker.end() ? 0 : records->second.size();
    tally.lost += copies == 0 ? 1 : 0;
    tally.duplicated += copies > 1 ? 1 : 0;
  }
  for (const auto& [ticket, org] : written->org_of_ticket) {
    ++tallies[org].tickets;
    auto notes = written->notes_of_ticket.find(ticket);
    if (notes != written->notes_of_ticket.end()) tallies[org].notes += notes->second;
  }
  return tallies;
}

absl::StatusOr<SimWindowFigures> ParseSimWindowFigures(absl::string_view sim_faults_json) {
  rapidjson::Document faults;
  faults.Parse(sim_faults_json.data(), sim_faults_json.size());
  if (faults.HasParseError() || !faults.IsObject() || !faults.HasMember("counters") ||
      !faults["counters"].IsObject()) {
    return absl::InvalidArgumentError("the simulator's faults answer has no counters");
  }
  const rapidjson::Value& counters = faults["counters"];
  SimWindowFigures figures;
  figures.rate_limited = IntMember(counters, "rate_limited");
  figures.peak_window_requests = IntMember(counters, "peak_window_requests");
  if (counters.HasMember("requests_per_window") && counters["requests_per_window"].IsArray()) {
    for (const rapidjson::Value& count : counters["requests_per_window"].GetArray()) {
      figures.requests_per_window.push_back(count.IsNumber() ? static_cast<int64_t>(count.GetDouble()) : 0);
    }
  }
  return figures;
}

absl::Duration Percentile(std::vector<absl::Duration> values, double fraction) {
  if (values.empty()) return absl::ZeroDuration();
  std::sort(values.begin(), values.end());
  const double rank = std::ceil(fraction * static_cast<double>(values.size()));
  const size_t index = static_cast<size_t>(std::clamp(rank, 1.0, static_cast<double>(values.size()))) - 1;
  return values[index];
}

}  // namespace halopsa::testing

// halopsa-storm-bench: an alert storm within one HaloPSA tenant's budget
// (issue 12), measured on real child processes (halopsa-sim over TLS,
// halopsa-server with its gateway), never asserted in tests.
//
// Three LimaCharlie orgs share the tenant. Org A fires --storm_detections
// create_ticket calls evenly over --storm_length on --storm_keys dedupe
// keys; B and C one every --quiet_every. A LimaCharlie-like client
// (tests/testing/limacharlie_client.h) sends them, retries 5xx and timeouts
// (3 attempts) and follows continuations. HaloPSA (the simulator) allows
// --budget requests per rolling --window and the service's budget is set
// the same. One run with dedupe keys, one without.
//
// Time scale: each run may compress time by a factor s (--time_scale, and
// --no_dedupe_time_scale for the run without dedupe, whose 600 creates
// need ten minutes of budget at full scale). The window, the storm's
// length and pace, the gateway's wait bound, and LimaCharlie's own delays
// (pauses between attempts, webhook timeout) are all multiplied by s; the
// budget's count stays, so a budget slot lasts s seconds. Continuations'
// in_delay_sec is the service's own estimate and is honoured as given.

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "adapters/halopsa/rate_limiter.h"
#include "bench/stack.h"
#include "tests/testing/child_process.h"
#include "tests/testing/storm.h"

ABSL_FLAG(std::string, bin_dir, "", "directory of halopsa-server and halopsa-sim (default: this binary's)");
ABSL_FLAG(std::string, certs_dir, HALOPSA_CERTS_DIR, "TLS test material");
ABSL_FLAG(std::string, report, "", "also write the report (Markdown) to this file");
ABSL_FLAG(std::string, runs, "dedupe,no_dedupe", "which runs: dedupe, no_dedupe");
ABSL_FLAG(double, time_scale, 1, "time compression of the run with dedupe keys (1 = real time)");
ABSL_FLAG(double, no_dedupe_time_scale, 0.2, "time compression of the run without dedupe keys");
ABSL_FLAG(int, budget, 60, "requests per window, on HaloPSA and in the service's budget");
ABSL_FLAG(absl::Duration, window, absl::Seconds(60), "HaloPSA's rolling window (before scaling)");
ABSL_FLAG(int, storm_detections, 600, "org A's detections");
ABSL_FLAG(int, storm_keys, 6, "org A's dedupe keys");
ABSL_FLAG(absl::Duration, storm_length, absl::Seconds(60), "how long A fires (before scaling)");
ABSL_FLAG(absl::Duration, quiet_every, absl::Seconds(5), "B's and C's pace (before scaling)");
ABSL_FLAG(absl::Duration, wait_bound, absl::Seconds(90),
          "the gateway's budget wait (before scaling), passed when the server has --gateway_wait_flag");
ABSL_FLAG(std::string, gateway_wait_flag, "gateway_budget_wait", "halopsa-server's flag for that wait");
ABSL_FLAG(absl::Duration, give_up_after, absl::Minutes(30), "bound of one run");

namespace halopsa::bench {
namespace {

using testing::OrgTally;

constexpr char kSecret[] = "storm-bench-signing-secret";
constexpr double kTargetSlots = 3;
const char* const kOrgs[] = {"A", "B", "C"};

struct RunResult {
  std::string title;
  double scale = 1;
  absl::Duration slot;
  absl::Duration duration;
  bool dedupe = false;
  std::map<std::string, OrgTally> orgs;
  testing::SimWindowFigures halo;
  std::map<std::string, int> halo_requests;  // "POST /api/Tickets" -> count
  std::string wait_flag_note;
};

// "/api/Tickets/2884?x=1" -> "/api/Tickets/{id}".
std::string Endpoint(absl::string_view target) {
  std::vector<std::string> parts = absl::StrSplit(target.substr(0, target.find('?')), '/');
  for (std::string& part : parts) {
    if (!part.empty() && std::all_of(part.begin(), part.end(), [](char c) { return absl::ascii_isdigit(c); })) {
      part = "{id}";
    }
  }
  return absl::StrJoin(parts, "/");
}

std::string Seconds(absl::Duration duration) { return absl::StrFormat("%.2f", absl::ToDoubleSeconds(duration)); }

// The server's flag for the gateway's budget wait, when this build has one.
std::vector<std::string> WaitBoundArgs(const std::string& bin_dir, const std::string& log_dir, double scale,
                                       std::string& note) {
  const std::string log = log_dir + "/storm-server-help.log";
  const std::string flag = absl::GetFlag(FLAGS_gateway_wait_flag);
  auto help = testing::ChildProcess::Spawn(bin_dir + "/halopsa-server", {"--helpfull"}, {}, log);
  absl::StatusOr<std::string> text;
  if (help.ok() && (*help)->WaitForExit(absl::Seconds(10)).ok()) text = testing::ReadFile(log);
  if (!text.ok() || !absl::StrContains(*text, absl::StrCat("--", flag, " ("))) {
    note = absl::StrCat("this halopsa-server has no --", flag, ": the gateway's own deadline applies");
    return {};
  }
  const absl::Duration bound = absl::GetFlag(FLAGS_wait_bound) * scale;
  note = absl::StrCat("--", flag, "=", absl::FormatDuration(bound));
  return {absl::StrCat("--", flag, "=", absl::FormatDuration(bound))};
}

StackOptions StormStackOptions(const std::string& bin_dir, const std::string& log_dir, double scale,
                               std::string& wait_flag_note) {
  StackOptions options;
  options.bin_dir = bin_dir;
  options.certs_dir = absl::GetFlag(FLAGS_certs_dir);
  options.log_dir = log_dir;
  options.tls = true;
  options.gateway_secret = kSecret;
  options.rate_limit_requests = absl::GetFlag(FLAGS_budget);
  options.rate_limit_window = absl::FormatDuration(absl::GetFlag(FLAGS_window) * scale);
  // LimaCharlie calls from many addresses; here every call comes from 127.0.0.1.
  options.server_args = {"--gateway_max_connections=8192", "--gateway_max_connections_per_source=8192"};
  for (std::string& arg : WaitBoundArgs(bin_dir, log_dir, scale, wait_flag_note)) {
    options.server_args.push_back(std::move(arg));
  }
  return options;
}

// The service's tokens first, then HaloPSA's limit: the budget counts API
// requests, not token requests.
absl::Status LimitHaloPsa(Stack& stack, testing::LimaCharlieClient& client, const lc::testing::Config& halo,
                          absl::Duration window) {
  if (absl::Status warm = testing::WarmUpTokens(client, halo, absl::Seconds(30)); !warm.ok()) return warm;
  return stack
      .SimControl("POST", "faults",
                  absl::StrCat(R"({"rate_limit_requests":)", absl::GetFlag(FLAGS_budget), R"(,"rate_limit_window_ms":)",
                               absl::ToInt64Milliseconds(window), "}"))
      .status();
}

absl::StatusOr<RunResult> RunOnce(const std::string& bin_dir, const std::string& log_dir, bool dedupe,
                                  double scale) {
  RunResult result;
  result.dedupe = dedupe;
  result.scale = scale;
  const int budget = absl::GetFlag(FLAGS_budget);
  const absl::Duration window = absl::GetFlag(FLAGS_window) * scale;
  // The budget's pace: one slot per SpacingOf after its first burst.
  result.slot = SpacingOf({.max_requests = budget, .window = window});
  result.title = absl::StrCat(dedupe ? "with" : "without", " dedupe keys, time scale ", scale, " (", budget,
                              " requests per ", absl::FormatDuration(window), ")");
  auto stack = Stack::Start(StormStackOptions(bin_dir, log_dir, scale, result.wait_flag_note),
                            dedupe ? "storm-dedupe" : "storm-no-dedupe");
  if (!stack.ok()) return stack.status();
  auto client = testing::LimaCharlieClient::Create(
      {.gateway_port = (*stack)->gateway_port(), .signing_secret = kSecret, .time_scale = scale});
  if (!client.ok()) return client.status();
  const lc::testing::Config halo = {
      {"instance_url", (*stack)->sim_url()}, {"client_id", kSimClientId}, {"client_secret", kSimClientSecret}};
  if (absl::Status limited = LimitHaloPsa(**stack, **client, halo, window); !limited.ok()) return limited;
  if (absl::Status cleared = (*stack)->ClearSimRequests(); !cleared.ok()) return cleared;

  const testing::StormShape shape{.storm_detections = absl::GetFlag(FLAGS_storm_detections),
                                  .storm_keys = absl::GetFlag(FLAGS_storm_keys),
                                  .storm_length = absl::GetFlag(FLAGS_storm_length) * scale,
                                  .quiet_every = absl::GetFlag(FLAGS_quiet_every) * scale,
                                  .dedupe = dedupe};
  const std::vector<testing::StormDetection> detections = testing::PlanStorm(shape, halo);
  std::cerr << "storm " << result.title << ": " << detections.size() << " detections\n";
  const absl::Time start = absl::Now();
  auto outcomes = testing::RunStorm(**client, detections, absl::GetFlag(FLAGS_give_up_after));
  result.duration = absl::Now() - start;
  if (!outcomes.ok()) return outcomes.status();

  auto state = (*stack)->SimControl("GET", "state");
  if (!state.ok()) return state.status();
  auto tallies = testing::TallyStorm(detections, *outcomes, *state);
  if (!tallies.ok()) return tallies.status();
  result.orgs = *std::move(tallies);
  auto faults = (*stack)->SimControl("GET", "faults");
  if (!faults.ok()) return faults.status();
  auto halo_figures = testing::ParseSimWindowFigures(*faults);
  if (!halo_figures.ok()) return halo_figures.status();
  result.halo = *std::move(halo_figures);
  auto requests = (*stack)->SimRequests();
  if (!requests.ok()) return requests.status();
  for (const RecordedRequest& request : *requests) {
    ++result.halo_requests[absl::StrCat(request.method, " ", Endpoint(request.target))];
  }
  return result;
}

std::string OrgRow(const std::string& label, const RunResult& run,
                   const std::function<std::string(const OrgTally&)>& cell) {
  std::string row = absl::StrCat("| ", label, " |");
  for (const char* org : kOrgs) {
    auto tally = run.orgs.find(org);
    absl::StrAppend(&row, " ", tally == run.orgs.end() ? "–" : cell(tally->second), " |");
  }
  return row + "\n";
}

double Slots(absl::Duration wait, absl::Duration slot) { return absl::FDivDuration(wait, slot); }

std::string Verdict(bool pass) { return pass ? "pass" : "**fail**"; }

std::string Report(const RunResult& run) {
  const int budget = absl::GetFlag(FLAGS_budget);
  std::string text = absl::StrCat("### Storm ", run.title, "\n\nRun took ", Seconds(run.duration),
                                  " s; a budget slot is ", Seconds(run.slot), " s; ", run.wait_flag_note, ".\n\n",
                                  "| per org | A (storm) | B | C |\n|---|---|---|---|\n");
  const auto number = [](int OrgTally::*field) {
    return [field](const OrgTally& tally) { return absl::StrCat(tally.*field); };
  };
  text += OrgRow("detections fired", run, number(&OrgTally::fired));
  text += OrgRow("answered 200 in the end (LimaCharlie's view)", run, number(&OrgTally::succeeded));
  text += OrgRow("lost (in no ticket, no note)", run, number(&OrgTally::lost));
  text += OrgRow("written twice", run, number(&OrgTally::duplicated));
  text += OrgRow("tickets opened", run, number(&OrgTally::tickets));
  text += OrgRow("notes on them", run, number(&OrgTally::notes));
  text += OrgRow("answered `deduplicated`", run, number(&OrgTally::deduplicated));
  text += OrgRow("deferrals (continuations followed)", run, number(&OrgTally::deferrals));
  text += OrgRow("LimaCharlie retries (5xx, timeout)", run, number(&OrgTally::retries));
  text += OrgRow("wait p50 / p99 / max, s", run, [](const OrgTally& tally) {
    return absl::StrCat(Seconds(testing::Percentile(tally.waits, 0.5)), " / ",
                        Seconds(testing::Percentile(tally.waits, 0.99)), " / ",
                        Seconds(testing::Percentile(tally.waits, 1.0)));
  });
  text += OrgRow("p99 wait in budget slots", run, [&](const OrgTally& tally) {
    return absl::StrFormat("%.1f", Slots(testing::Percentile(tally.waits, 0.99), run.slot));
  });
  absl::StrAppend(&text, "\nHaloPSA received per window (", budget, " allowed): ",
                  absl::StrJoin(run.halo.requests_per_window, ", "), "; at most ", run.halo.peak_window_requests,
                  " in any rolling window; `429` answers: ", run.halo.rate_limited, ". By request: ",
                  absl::StrJoin(run.halo_requests, ", ", absl::PairFormatter(" ")), ".\n");

  int lost = 0, duplicated = 0;
  double worst_quiet_slots = 0;
  for (const auto& [org, tally] : run.orgs) {
    lost += tally.lost;
    duplicated += tally.duplicated;
    if (org != "A") worst_quiet_slots = std::max(worst_quiet_slots, Slots(testing::Percentile(tally.waits, 0.99), run.slot));
  }
  const auto a = run.orgs.find("A");
  absl::StrAppend(&text, "\n| target | measured | verdict |\n|---|---|---|\n",  //
                  "| 0 lost | ", lost, " | ", Verdict(lost == 0), " |\n",      //
                  "| 0 duplicates | ", duplicated, " | ", Verdict(duplicated == 0), " |\n",
                  "| 0 `429`s, never above the limit | ", run.halo.rate_limited, ", peak ", run.halo.peak_window_requests,
                  " | ", Verdict(run.halo.rate_limited == 0 && run.halo.peak_window_requests <= budget), " |\n",
                  "| B/C p99 wait <= 3 budget slots | ", absl::StrFormat("%.1f", worst_quiet_slots), " | ",
                  Verdict(worst_quiet_slots <= kTargetSlots), " |\n");
  if (run.dedupe && a != run.orgs.end()) {
    const int keys = absl::GetFlag(FLAGS_storm_keys);
    absl::StrAppend(&text, "| A: one ticket per dedupe key (", keys, ") | ", a->second.tickets, " | ",
                    Verdict(a->second.tickets == keys), " |\n");
  }
  for (const auto& [org, tally] : run.orgs) {
    if (!tally.failures.empty()) {
      absl::StrAppend(&text, "\nFirst failures of ", org, ": ", absl::StrJoin(tally.failures, "; "), "\n");
    }
  }
  return text + "\n";
}

int Main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  std::string bin_dir = absl::GetFlag(FLAGS_bin_dir);
  if (bin_dir.empty()) bin_dir = std::filesystem::path(argv[0]).parent_path().string();
  const std::string log_dir = bin_dir + "/../storm-bench-logs";
  std::filesystem::create_directories(log_dir);

  std::string report = "## Storm benchmark (issue 12)\n\n";
  int failures = 0;
  for (absl::string_view run : absl::StrSplit(absl::GetFlag(FLAGS_runs), ',', absl::SkipEmpty())) {
    const bool dedupe = run == "dedupe";
    const double scale = dedupe ? absl::GetFlag(FLAGS_time_scale) : absl::GetFlag(FLAGS_no_dedupe_time_scale);
    absl::StatusOr<RunResult> result = RunOnce(bin_dir, log_dir, dedupe, scale);
    const std::string section =
        result.ok() ? Report(*result) : absl::StrCat("### Storm run ", run, " failed: ", result.status().ToString(), "\n\n");
    failures += result.ok() ? 0 : 1;
    std::cout << section << std::flush;
    report += section;
  }
  const std::string path = absl::GetFlag(FLAGS_report);
  if (!path.empty()) std::ofstream(path) << report;
  return failures == 0 ? 0 : 1;
}

}  // namespace
}  // namespace halopsa::bench

int main(int argc, char** argv) { return halopsa::bench::Main(argc, argv); }

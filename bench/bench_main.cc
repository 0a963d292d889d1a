// halopsa-bench: issue 6's benchmark. Runs halopsa-sim and halopsa-server as
// child processes on loopback and drives each action at several
// concurrencies along three paths with one closed-loop generator:
//   direct   the upstream HaloPSA request(s) the action makes, sent straight
//            to the simulator (the floor);
//   gRPC     HaloPsaService;
//   gateway  signed LimaCharlie envelopes to the webhook gateway (when this
//            halopsa-server serves it).
// Prints the figures and each target's verdict, and writes them as markdown.

#include <unistd.h>

#include <algorithm>
#include <array>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "bench/action_bench.h"
#include "bench/redis_mode.h"
#include "bench/stack.h"
#include "bench/table.h"
#include "bench/workloads.h"

ABSL_FLAG(std::string, bin_dir, "", "directory of halopsa-server and halopsa-sim (default: this binary's)");
ABSL_FLAG(std::string, certs_dir, HALOPSA_CERTS_DIR, "TLS test material (ca.pem, server.pem, server.key)");
ABSL_FLAG(std::string, report, "", "markdown report path (default: <bin_dir>/../bench-report.md)");
ABSL_FLAG(bool, quick, false, "smoke run: 0.3 s phases, 0.1 s warm-up");
ABSL_FLAG(double, phase_seconds, 1.5, "measured time per action, concurrency and path");
ABSL_FLAG(double, warmup_seconds, 0.5, "unmeasured load before each measured phase");
ABSL_FLAG(std::vector<std::string>, concurrency, std::vector<std::string>({"1", "16", "64", "256"}),
          "calls in flight per phase");
ABSL_FLAG(std::vector<std::string>, actions, {}, "actions to run (default: all six)");
ABSL_FLAG(std::vector<std::string>, paths, std::vector<std::string>({"direct", "grpc", "gateway"}),
          "paths measured (e.g. only grpc while profiling the server)");
ABSL_FLAG(bool, tls, true, "also measure create_ticket at concurrency 16 with the simulator on HTTPS");
ABSL_FLAG(int, pool_size, 16, "the server's max_connections_per_host");
ABSL_FLAG(int, sim_threads, 2, "simulator threads");
ABSL_FLAG(int, count_calls, 50, "calls per path whose upstream requests are counted one by one");
ABSL_FLAG(int, cold_burst, 256, "calls sent at once to a freshly started server");
ABSL_FLAG(bool, redis, true,
          "also measure creates, notes, links and searches at concurrency 16 with the shared state in a real "
          "redis-server beside in process");

namespace halopsa::bench {
namespace {

// ---- Formatting ----

std::string Micros(absl::Duration d) { return absl::StrFormat("%.0f", absl::ToDoubleMicroseconds(d)); }
std::string SignedMicros(absl::Duration d) { return absl::StrFormat("%+.0f", absl::ToDoubleMicroseconds(d)); }
std::string Fixed(double value, int digits) { return absl::StrFormat("%.*f", digits, value); }
std::string Mb(int64_t kb) { return absl::StrFormat("%.1f", static_cast<double>(kb) / 1024.0); }
std::string Optional(const std::optional<double>& value, int digits) {
  return value ? Fixed(*value, digits) : "-";
}

Table PhaseTable(const std::vector<ActionResult>& results) {
  Table table({"action", "conc", "path", "calls/s", "p50 µs", "p99 µs", "max µs", "+p50 µs", "+p99 µs", "errors",
               "server CPU µs/call", "upstream req/call", "sim CPU µs/call",
               "bench CPU µs/call"});
  for (const ActionResult& result : results) {
    for (const auto& [concurrency, phases] : result.phases) {
      const Phase& direct = phases[kDirect];
      for (Path path : {kDirect, kGrpc, kGateway}) {
        const Phase& phase = phases[path];
        if (!phase.ran) continue;
        const bool added = path != kDirect && direct.ran;
        table.AddRow({result.action, absl::StrCat(concurrency), kPathNames[path], Fixed(phase.throughput, 0),
                      Micros(phase.p50), Micros(phase.p99), Micros(phase.max),
                      added ? SignedMicros(phase.p50 - direct.p50) : "",
                      added ? SignedMicros(phase.p99 - direct.p99) : "",
                      absl::StrCat(phase.errors, "/", phase.completed), Optional(phase.cpu_us, 1),
                      Optional(phase.upstream, 2), Fixed(phase.sim_cpu_us, 1), Fixed(phase.client_cpu_us, 1)});
      }
    }
    for (Path path : {kGrpc, kGateway}) {
      const Phase& phase = result.refused[path];
      if (!phase.ran) continue;
      table.AddRow({absl::StrCat(result.action, " refused"), absl::StrCat(kRefusedConcurrency), kPathNames[path],
                    Fixed(phase.throughput, 0), Micros(phase.p50), Micros(phase.p99), Micros(phase.max), "", "",
                    absl::StrCat(phase.errors, "/", phase.completed), Optional(phase.cpu_us, 1),
                    Optional(phase.upstream, 2), Fixed(phase.sim_cpu_us, 1), Fixed(phase.client_cpu_us, 1)});
    }
  }
  return table;
}

Table ResourceTable(const std::vector<ActionResult>& results, int pool_size) {
  Table table({"action", "idle RSS MB", "peak RSS MB (VmHWM)", "upstream connections opened",
               "token requests: cold burst gRPC / gateway, lifetime", "upstream req/call counted"});
  for (const ActionResult& result : results) {
    std::vector<std::string> counts;
    for (const Count& count : result.counts) {
      counts.push_back(absl::StrCat(count.label, " ", kPathNames[count.path], " ", Fixed(count.per_call, 2),
                                    count.errors > 0 ? absl::StrCat(" (", count.errors, " errors)") : ""));
    }
    table.AddRow({result.action, Mb(result.idle_rss_kb), Mb(result.peak_rss_kb),
                  absl::StrCat(result.connections_opened, " (pool ", pool_size, ")"),
                  absl::StrCat(Optional(result.cold_tokens[kGrpc], 0), " / ", Optional(result.cold_tokens[kGateway], 0),
                               ", ", result.tokens_total),
                  absl::StrJoin(counts, "; ")});
  }
  return table;
}

// ---- Targets ----

enum class Verdict { kPass, kFail, kNotApplicable };

struct TargetLine {
  std::string target;
  std::string measured;
  Verdict verdict;
};

Verdict Judge(bool measured, bool pass) {
  return !measured ? Verdict::kNotApplicable : pass ? Verdict::kPass : Verdict::kFail;
}

const Phase* FindPhase(const ActionResult& result, int concurrency, Path path) {
  auto it = result.phases.find(concurrency);
  if (it == result.phases.end() || !it->second[path].ran) return nullptr;
  return &it->second[path];
}

std::vector<TargetLine> Targets(const std::vector<ActionResult>& results, const Settings& settings) {
  std::vector<TargetLine> lines;
  for (const ActionResult& result : results) {
    const Phase* direct = FindPhase(result, 16, kDirect);
    const Phase* gateway = FindPhase(result, 16, kGateway);
    const bool measured = direct != nullptr && gateway != nullptr;
    absl::Duration p50 = measured ? gateway->p50 - direct->p50 : absl::ZeroDuration();
    absl::Duration p99 = measured ? gateway->p99 - direct->p99 : absl::ZeroDuration();
    lines.push_back({absl::StrCat(result.action, ": added latency at c=16 (gateway - direct) p50 <= 150 µs, p99 <= 1 ms"),
                     measured ? absl::StrCat("p50 ", SignedMicros(p50), " µs, p99 ", SignedMicros(p99), " µs") : "-",
                     Judge(measured, p50 <= absl::Microseconds(150) && p99 <= absl::Milliseconds(1))});
  }
  for (const ActionResult& result : results) {
    if (result.action != "search_tickets" && result.action != "create_ticket") continue;
    for (Path path : {kGrpc, kGateway}) {
      const Phase* phase = FindPhase(result, 16, path);
      const bool measured = phase != nullptr && phase->cpu_us.has_value();
      const Phase& refused = result.refused[path];
      const std::string floor = refused.ran && refused.cpu_us
                                    ? absl::StrCat(" (refused with no HaloPSA work: ", Fixed(*refused.cpu_us, 1), " µs)")
                                    : "";
      lines.push_back({absl::StrCat(result.action, ": server CPU per call <= 50 µs (", kPathNames[path], ", c=16)"),
                       measured ? absl::StrCat(Fixed(*phase->cpu_us, 1), " µs", floor) : "-",
                       Judge(measured, measured && *phase->cpu_us <= 50)});
    }
  }
  for (const ActionResult& result : results) {
    const Phase* direct = FindPhase(result, 64, kDirect);
    const Phase* gateway = FindPhase(result, 64, kGateway);
    const bool measured = direct != nullptr && gateway != nullptr && direct->throughput > 0;
    const double ratio = measured ? gateway->throughput / direct->throughput : 0;
    lines.push_back(
        {absl::StrCat(result.action, ": throughput at c=64 gateway >= 40% of direct, no errors"),
         measured ? absl::StrCat(Fixed(100 * ratio, 0), "% (", Fixed(gateway->throughput, 0), " vs ",
                                 Fixed(direct->throughput, 0), "/s), ", gateway->errors + direct->errors, " errors")
                  : "-",
         Judge(measured, ratio >= 0.4 && gateway->errors == 0 && direct->errors == 0)});
  }
  for (const ActionResult& result : results) {
    std::vector<std::pair<std::string, std::vector<const Count*>>> by_label;  // in the order run
    for (const Count& count : result.counts) {
      if (by_label.empty() || by_label.back().first != count.label) by_label.push_back({count.label, {}});
      by_label.back().second.push_back(&count);
    }
    for (const auto& [label, counts] : by_label) {
      bool pass = true;
      std::vector<std::string> measured;
      for (const Count* count : counts) {
        pass = pass && count->errors == 0 &&
               (count->at_most ? count->per_call <= count->expected : count->per_call == count->expected);
        measured.push_back(absl::StrCat(kPathNames[count->path], " ", Fixed(count->per_call, 2)));
      }
      lines.push_back({absl::StrCat(result.action, " (", label, "): upstream requests per call ",
                                    counts.front()->at_most ? "<= " : "= ", counts.front()->expected),
                       absl::StrJoin(measured, ", "), Judge(true, pass)});
    }
  }
  {
    double worst = 0;
    bool measured = false;
    for (const ActionResult& result : results) {
      for (const auto& tokens : result.cold_tokens) {
        if (!tokens) continue;
        worst = std::max(worst, *tokens);
        measured = true;
      }
    }
    lines.push_back({absl::StrCat("one token request per credential for ", settings.cold_burst,
                                  " calls at once on a cold start"),
                     measured ? absl::StrCat("at most ", worst, " per credential over all actions and paths") : "-",
                     Judge(measured, worst == 1)});
  }
  {
    double worst = 0;
    for (const ActionResult& result : results) worst = std::max(worst, result.connections_opened);
    lines.push_back({absl::StrCat("upstream connections opened <= pool size (", settings.stack.pool_size, ")"),
                     absl::StrCat("at most ", worst, " per server lifetime"),
                     Judge(!results.empty(), worst <= settings.stack.pool_size)});
  }
  {
    int64_t idle = 0;
    int64_t peak = 0;
    for (const ActionResult& result : results) {
      idle = std::max(idle, result.idle_rss_kb);
      peak = std::max(peak, result.peak_rss_kb);
    }
    bool ran_256 = false;
    for (const ActionResult& result : results) ran_256 = ran_256 || FindPhase(result, 256, kGrpc) != nullptr;
    lines.push_back({"resident memory idle <= 40 MB", absl::StrCat(Mb(idle), " MB"),
                     Judge(idle > 0, idle <= 40 * 1024)});
    lines.push_back({"resident memory at c=256 <= 120 MB (peak, VmHWM)", absl::StrCat(Mb(peak), " MB"),
                     Judge(ran_256, peak <= 120 * 1024)});
  }
  return lines;
}

Table TargetTable(const std::vector<TargetLine>& lines) {
  Table table({"target", "measured", "verdict"});
  for (const TargetLine& line : lines) {
    table.AddRow({line.target, line.measured,
                  line.verdict == Verdict::kPass   ? "PASS"
                  : line.verdict == Verdict::kFail ? "FAIL"
                                                   : "N/A"});
  }
  return table;
}

std::vector<std::string> Failures(const std::vector<ActionResult>& results) {
  std::vector<std::string> failures;
  for (const ActionResult& result : results) {
    if (!result.failure.empty()) failures.push_back(absl::StrCat(result.action, ": ", result.failure));
    for (const auto& [concurrency, phases] : result.phases) {
      for (Path path : {kDirect, kGrpc, kGateway}) {
        if (phases[path].errors > 0) {
          failures.push_back(absl::StrCat(result.action, " c=", concurrency, " ", kPathNames[path],
                                          " first error: ", phases[path].first_error));
        }
      }
    }
    for (Path path : {kGrpc, kGateway}) {
      const Phase& refused = result.refused[path];
      if (refused.errors > 0) {
        failures.push_back(absl::StrCat(result.action, " refused ", kPathNames[path],
                                        " first error: ", refused.first_error));
      }
    }
  }
  return failures;
}

std::string ExecutableDir() {
  std::array<char, 4096> path{};
  ssize_t length = readlink("/proc/self/exe", path.data(), path.size() - 1);
  std::string exe(path.data(), length > 0 ? static_cast<size_t>(length) : 0);
  return exe.substr(0, exe.rfind('/'));
}

int Main() {
  Settings settings;
  const std::string bin_dir = absl::GetFlag(FLAGS_bin_dir).empty() ? ExecutableDir() : absl::GetFlag(FLAGS_bin_dir);
  const std::string report_path =
      absl::GetFlag(FLAGS_report).empty() ? bin_dir + "/../bench-report.md" : absl::GetFlag(FLAGS_report);
  const std::string log_dir = bin_dir + "/../bench-logs";
  std::error_code error;
  std::filesystem::create_directories(log_dir, error);
  if (error) {
    std::cerr << "bench: cannot create " << log_dir << ": " << error.message() << std::endl;
    return 1;
  }
  settings.stack.bin_dir = bin_dir;
  settings.stack.certs_dir = absl::GetFlag(FLAGS_certs_dir);
  settings.stack.log_dir = log_dir;
  settings.stack.sim_threads = absl::GetFlag(FLAGS_sim_threads);
  settings.stack.pool_size = absl::GetFlag(FLAGS_pool_size);
  const bool quick = absl::GetFlag(FLAGS_quick);
  settings.phase = absl::Seconds(quick ? 0.3 : absl::GetFlag(FLAGS_phase_seconds));
  settings.warmup = absl::Seconds(quick ? 0.1 : absl::GetFlag(FLAGS_warmup_seconds));
  settings.count_calls = absl::GetFlag(FLAGS_count_calls);
  settings.cold_burst = absl::GetFlag(FLAGS_cold_burst);
  for (const std::string& text : absl::GetFlag(FLAGS_concurrency)) {
    int concurrency = 0;
    if (!absl::SimpleAtoi(text, &concurrency) || concurrency < 1) {
      std::cerr << "bench: bad --concurrency value " << text << std::endl;
      return 2;
    }
    settings.concurrencies.push_back(concurrency);
  }
  // The seeded tickets the link counts use are 1001-1120, two ranges of count_calls.
  if (settings.count_calls < 1 || settings.count_calls > 60) {
    std::cerr << "bench: --count_calls must be 1-60" << std::endl;
    return 2;
  }
  const std::vector<std::string> paths = absl::GetFlag(FLAGS_paths);
  for (Path path : {kDirect, kGrpc, kGateway}) {
    settings.measured_paths[path] =
        std::find(paths.begin(), paths.end(), absl::AsciiStrToLower(kPathNames[path])) != paths.end();
  }
  settings.gateway = ServerHasGateway(bin_dir, log_dir);
  if (settings.gateway) settings.stack.gateway_secret = kGatewaySecret;

  std::vector<std::string> wanted = absl::GetFlag(FLAGS_actions);
  std::vector<ActionResult> results;
  const absl::Time started = absl::Now();
  for (const Workload& workload : Workloads()) {
    if (!wanted.empty() && std::find(wanted.begin(), wanted.end(), workload.action) == wanted.end()) continue;
    results.push_back(RunAction(settings, workload, /*with_counts=*/true, workload.action));
  }
  std::vector<ActionResult> tls_results;
  if (absl::GetFlag(FLAGS_tls)) {
    Settings tls = settings;
    tls.stack.tls = true;
    tls.concurrencies = {16};
    tls_results.push_back(RunAction(tls, Workloads().front(), /*with_counts=*/false, "create_ticket-tls"));
  }

  std::vector<ModePair> redis_pairs;
  if (absl::GetFlag(FLAGS_redis)) redis_pairs = RunBesideRedis(settings, wanted);

  const std::string setup = absl::StrFormat(
      "%d CPUs, loopback, simulator over plain HTTP (%d threads), server pool %d connections, gateway %s; "
      "%.1f s measured per phase after %.1f s warm-up; latencies in µs; +p50/+p99 = path minus direct at the same "
      "concurrency; CPU = utime+stime of each process (halopsa-server, halopsa-sim, this load generator) over the window "
      "/ calls; run took %.0f s.",
      static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN)), settings.stack.sim_threads, settings.stack.pool_size,
      settings.gateway ? "served" : "not served by this halopsa-server (N/A)", absl::ToDoubleSeconds(settings.phase),
      absl::ToDoubleSeconds(settings.warmup), absl::ToDoubleSeconds(absl::Now() - started));
  const Table phases = PhaseTable(results);
  const Table resources = ResourceTable(results, settings.stack.pool_size);
  const Table tls_phases = PhaseTable(tls_results);
  const Table targets = TargetTable(Targets(results, settings));
  std::vector<ActionResult> all_results = results;
  for (const ModePair& pair : redis_pairs) {
    all_results.push_back(pair.in_process);
    all_results.push_back(pair.redis);
  }
  const std::vector<std::string> failures = Failures(all_results);

  std::cout << "\nhalopsa benchmark: " << setup << "\n\n"
            << phases.Text() << "\n"
            << resources.Text() << "\n";
  if (!tls_results.empty()) std::cout << "Simulator over TLS:\n" << tls_phases.Text() << "\n";
  const Table redis_modes = RedisModeTable(redis_pairs);
  const Table redis_targets = RedisRoundTripTargets(redis_pairs);
  if (!redis_pairs.empty()) {
    std::cout << "Shared state in process / in Redis (concurrency 16):\n"
              << redis_modes.Text() << "\n"
              << redis_targets.Text() << "\n";
  }
  std::cout << targets.Text();
  for (const std::string& failure : failures) std::cout << "! " << failure << "\n";

  std::ofstream report(report_path);
  report << "## Benchmark\n\n" << setup << "\n\n### Throughput and latency\n\n" << phases.Markdown()
         << "\n### Resources and upstream traffic\n\n" << resources.Markdown() << "\n";
  if (!tls_results.empty()) report << "### Simulator over TLS\n\n" << tls_phases.Markdown() << "\n";
  if (!redis_pairs.empty()) {
    report << "### Shared state in process / in Redis (concurrency 16)\n\n"
           << redis_modes.Markdown() << "\n"
           << redis_targets.Markdown() << "\n";
  }
  report << "### Targets\n\n" << targets.Markdown();
  if (!failures.empty()) report << "\nErrors:\n\n";
  for (const std::string& failure : failures) report << "- " << failure << "\n";
  if (!report) {
    std::cerr << "bench: cannot write " << report_path << std::endl;
    return 1;
  }
  std::cout << "\nreport written to " << report_path << std::endl;
  return 0;
}

}  // namespace
}  // namespace halopsa::bench

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage("halopsa-bench: ext-halopsa's benchmark on loopback against halopsa-sim (run it with scripts/bench.sh).");
  absl::ParseCommandLine(argc, argv);
  return halopsa::bench::Main();
}

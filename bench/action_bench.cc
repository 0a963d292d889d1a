#include "bench/action_bench.h"

#include <unistd.h>

#include <functional>
#include <iostream>
#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "bench/load_generator.h"
#include "tests/testing/child_process.h"

namespace halopsa::bench {
namespace {

using testing::ProcessSample;
using testing::SampleProcess;

constexpr absl::Duration kCallTimeout = absl::Seconds(30);
constexpr int kCountConcurrency = 16;

// The JSON data of call `seq`, and whether it differs between calls (when
// it does not, the gRPC request is serialized once).
struct CallData {
  std::function<std::string(int64_t)> json;
  bool varies = false;
  // The service refuses it before any HaloPSA work: INVALID_ARGUMENT over
  // gRPC, HTTP 400 from the gateway.
  bool refused = false;
};

bool Is2xx(const net::HttpResponse& response) { return response.status >= 200 && response.status <= 299; }

bool Is400(const net::HttpResponse& response) { return response.status == 400; }

// A gateway success is HTTP 200 with a `data` envelope, not an `error` one.
bool IsGatewaySuccess(const net::HttpResponse& response) {
  return response.status == 200 && response.body.substr(0, 40).find("\"data\"") != std::string::npos;
}

class ActionBench {
 public:
  ActionBench(const Settings& settings, const Workload& workload, Stack& stack, ActionResult& result)
      : settings_(settings), workload_(workload), stack_(stack), result_(result) {}

  absl::Status Run(bool with_counts) {
    absl::StatusOr<ProcessSample> idle = SampleProcess(stack_.server_pid());
    if (!idle.ok()) return idle.status();
    result_.idle_rss_kb = idle->rss_kb;
    if (with_counts) {
      for (Path path : ServedPaths()) {
        if (absl::Status status = ColdBurst(path); !status.ok()) return status;
      }
      for (const CountCase& count : workload_.counts) {
        for (Path path : ServedPaths()) {
          if (absl::Status status = CountUpstream(count, path); !status.ok()) return status;
        }
      }
    }
    absl::StatusOr<std::vector<RecordedRequest>> upstream = RecordUpstream();
    if (!upstream.ok()) return upstream.status();
    direct_script_ = *std::move(upstream);
    absl::StatusOr<std::string> token = stack_.SimToken();
    if (!token.ok()) return token.status();
    direct_token_ = *token;

    for (int concurrency : settings_.concurrencies) {
      for (Path path : {kDirect, kGrpc, kGateway}) {
        if (!settings_.measured_paths[path] || (path == kGateway && !settings_.gateway)) continue;
        absl::StatusOr<Phase> phase = Measure(path, concurrency);
        if (!phase.ok()) return phase.status();
        result_.phases[concurrency][path] = *phase;
      }
    }
    if (!workload_.refused_data.empty()) {
      // The service's own cost floor: calls answered without HaloPSA.
      const CallData refused{[data = workload_.refused_data](int64_t) { return data; }, false, true};
      for (Path path : ServedPaths()) {
        if (!settings_.measured_paths[path]) continue;
        absl::StatusOr<Phase> phase = Measure(path, kRefusedConcurrency, refused);
        if (!phase.ok()) return phase.status();
        result_.refused[path] = *phase;
      }
    }
    absl::StatusOr<ProcessSample> last = SampleProcess(stack_.server_pid());
    absl::StatusOr<ServerCounters> counters = stack_.Counters();
    if (!last.ok()) return last.status();
    if (!counters.ok()) return counters.status();
    result_.peak_rss_kb = last->hwm_kb;
    result_.connections_opened = counters->connections_opened;
    result_.tokens_total = counters->token_requests;
    return absl::OkStatus();
  }

 private:
  std::vector<Path> ServedPaths() const {
    return settings_.gateway ? std::vector<Path>{kGrpc, kGateway} : std::vector<Path>{kGrpc};
  }

  CallData Steady() const { return {[data = workload_.data](int64_t) { return data; }, false}; }

  // The calls of the measured phases (and the one the direct path copies).
  CallData MeasuredData() const {
    return workload_.measured_data ? CallData{workload_.measured_data, true} : Steady();
  }

  // A target for `path`; HTTP paths use `http`, which must outlive it.
  absl::StatusOr<std::unique_ptr<Target>> MakeTarget(Path path, const CallData& data, net::HttpTransport* http) {
    switch (path) {
      case kGrpc:
        return GrpcPathTarget(data);
      case kGateway:
        return HttpTarget(*http, GatewayScript(data), data.refused ? Is400 : IsGatewaySuccess, kCallTimeout);
      case kDirect:
      case kPathCount:
        break;
    }
    return HttpTarget(*http, DirectScript(), Is2xx, kCallTimeout);
  }

  absl::StatusOr<std::unique_ptr<Target>> GrpcPathTarget(const CallData& data) {
    std::function<std::string(int64_t)> payload;
    if (data.varies) {
      // A request that does not serialize is sent empty and fails visibly.
      payload = [this, json = data.json](int64_t seq) { return SerializeRequest(workload_, json(seq)).value_or(""); };
    } else {
      absl::StatusOr<std::string> bytes = SerializeRequest(workload_, data.json(0));
      if (!bytes.ok()) return bytes.status();
      payload = [bytes = *bytes](int64_t) { return bytes; };
    }
    // Unique across phases and runs: a key used before makes a create look
    // for its earlier ticket.
    std::string key_prefix;
    if (settings_.grpc_idempotency_keys) key_prefix = absl::StrCat("bench-", absl::ToUnixNanos(absl::Now()), "-");
    return GrpcTarget(stack_.channel(), workload_.grpc_method, std::move(payload), kCallTimeout,
                      data.refused ? absl::StatusCode::kInvalidArgument : absl::StatusCode::kOk,
                      std::move(key_prefix));
  }

  std::function<std::vector<net::HttpRequest>(int64_t)> GatewayScript(const CallData& data) {
    auto signer = std::make_shared<EnvelopeSigner>(
        absl::StrCat("http://127.0.0.1:", stack_.gateway_port(), "/"), kGatewaySecret,
        std::map<std::string, std::string>{
            {"instance_url", stack_.sim_url()}, {"client_id", kSimClientId}, {"client_secret", kSimClientSecret}});
    // Idempotency keys are unique per run: a repeated key is answered from the gateway's memory.
    const std::string run = absl::StrCat(workload_.action, "-", ++gateway_runs_);
    return [signer, action = workload_.action, json = data.json, run](int64_t seq) {
      return std::vector<net::HttpRequest>{signer->Request(action, json(seq), absl::StrCat(run, "-", seq))};
    };
  }

  std::function<std::vector<net::HttpRequest>(int64_t)> DirectScript() const {
    return [this](int64_t) {
      std::vector<net::HttpRequest> requests;
      for (const RecordedRequest& recorded : direct_script_) {
        net::HttpRequest request{recorded.method,
                                 stack_.sim_url() + recorded.target,
                                 {{"Authorization", absl::StrCat("Bearer ", direct_token_)},
                                  {"Accept", "application/json"}},
                                 recorded.body};
        if (!recorded.content_type.empty()) request.headers.emplace_back("Content-Type", recorded.content_type);
        requests.push_back(std::move(request));
      }
      return requests;
    };
  }

  absl::StatusOr<std::unique_ptr<net::BeastHttpTransport>> ClientTransport(int concurrency) const {
    return net::BeastHttpTransport::Create(stack_.ClientTransportOptions(static_cast<size_t>(concurrency)));
  }

  // Exactly `calls` calls at `concurrency`, with the server's counters
  // read before and after.
  absl::StatusOr<std::pair<LoadResult, ServerCounters>> Counted(Path path, const CallData& data, int calls,
                                                                int concurrency) {
    absl::StatusOr<std::unique_ptr<net::BeastHttpTransport>> http = ClientTransport(concurrency);
    if (!http.ok()) return http.status();
    absl::StatusOr<std::unique_ptr<Target>> target = MakeTarget(path, data, http->get());
    if (!target.ok()) return target.status();
    absl::StatusOr<ServerCounters> before = stack_.Counters();
    if (!before.ok()) return before.status();
    LoadOptions options;
    options.concurrency = concurrency;
    options.total_calls = calls;
    LoadResult load = RunLoad(**target, options);
    absl::StatusOr<ServerCounters> after = stack_.Counters();
    if (!after.ok()) return after.status();
    ServerCounters delta = *after;
    delta.upstream_requests -= before->upstream_requests;
    delta.token_requests -= before->token_requests;
    return std::make_pair(std::move(load), delta);
  }

  // All calls at once on a server that has no token yet for this path's
  // credential: the token cache must ask for one token, not one per call.
  absl::Status ColdBurst(Path path) {
    auto counted = Counted(path, Steady(), settings_.cold_burst, settings_.cold_burst);
    if (!counted.ok()) return counted.status();
    result_.cold_tokens[path] = counted->second.token_requests;
    result_.cold_errors[path] = counted->first.errors;
    return absl::OkStatus();
  }

  absl::Status CountUpstream(const CountCase& count, Path path) {
    const int64_t offset = path == kGrpc ? 0 : settings_.count_calls;  // paths use different tickets
    CallData data{[json = count.data, offset](int64_t seq) { return json(seq + offset); }, true};
    auto counted = Counted(path, data, settings_.count_calls, kCountConcurrency);
    if (!counted.ok()) return counted.status();
    result_.counts.push_back({count.label, path, counted->first.errors,
                              counted->second.upstream_requests / settings_.count_calls, count.expected_upstream,
                              count.at_most});
    return absl::OkStatus();
  }

  // The upstream requests one steady-state call makes, as the simulator
  // received them: the direct path replays exactly these.
  absl::StatusOr<std::vector<RecordedRequest>> RecordUpstream() {
    if (absl::Status status = stack_.ClearSimRequests(); !status.ok()) return status;
    auto counted = Counted(kGrpc, MeasuredData(), 1, 1);
    if (!counted.ok()) return counted.status();
    if (counted->first.errors > 0) {
      return absl::InternalError(absl::StrCat(workload_.action, " failed: ", counted->first.first_error));
    }
    absl::StatusOr<std::vector<RecordedRequest>> requests = stack_.SimRequests();
    if (requests.ok() && requests->empty()) return absl::InternalError("the simulator recorded no request");
    return requests;
  }

  // CPU time of the three processes sharing the machine.
  struct CpuTimes {
    absl::Duration server, sim, client;
  };

  absl::StatusOr<CpuTimes> SampleCpu() const {
    absl::StatusOr<ProcessSample> server = SampleProcess(stack_.server_pid());
    absl::StatusOr<ProcessSample> sim = SampleProcess(stack_.sim_pid());
    absl::StatusOr<ProcessSample> client = SampleProcess(getpid());
    for (const auto* sample : {&server, &sim, &client}) {
      if (!sample->ok()) return sample->status();
    }
    return CpuTimes{server->cpu, sim->cpu, client->cpu};
  }

  absl::StatusOr<Phase> Measure(Path path, int concurrency) { return Measure(path, concurrency, MeasuredData()); }

  absl::StatusOr<Phase> Measure(Path path, int concurrency, const CallData& data) {
    absl::StatusOr<std::unique_ptr<net::BeastHttpTransport>> http = ClientTransport(concurrency);
    if (!http.ok()) return http.status();
    absl::StatusOr<std::unique_ptr<Target>> target = MakeTarget(path, data, http->get());
    if (!target.ok()) return target.status();

    // Counters are read outside the CPU window so scraping is not charged.
    absl::StatusOr<ServerCounters> counters_before, counters_after;
    absl::StatusOr<CpuTimes> cpu_before, cpu_after;
    LoadOptions options;
    options.concurrency = concurrency;
    options.warmup = settings_.warmup;
    options.duration = settings_.phase;
    options.on_window_start = [&] {
      counters_before = stack_.Counters();
      cpu_before = SampleCpu();
    };
    options.on_window_end = [&] {
      cpu_after = SampleCpu();
      counters_after = stack_.Counters();
    };
    LoadResult load = RunLoad(**target, options);
    for (const absl::Status& status : {counters_before.status(), counters_after.status(), cpu_before.status(),
                                       cpu_after.status()}) {
      if (!status.ok()) return status;
    }

    Phase phase;
    phase.ran = true;
    phase.completed = load.completed;
    phase.errors = load.errors;
    phase.first_error = load.first_error;
    phase.throughput = load.throughput();
    phase.p50 = load.Percentile(0.50);
    phase.p99 = load.Percentile(0.99);
    phase.max = load.Max();
    if (load.completed > 0) {
      const double calls = static_cast<double>(load.completed);
      auto per_call = [calls](absl::Duration before, absl::Duration after) {
        return absl::ToDoubleMicroseconds(after - before) / calls;
      };
      phase.sim_cpu_us = per_call(cpu_before->sim, cpu_after->sim);
      phase.client_cpu_us = per_call(cpu_before->client, cpu_after->client);
      if (path != kDirect) {
        phase.cpu_us = per_call(cpu_before->server, cpu_after->server);
        phase.upstream = (counters_after->upstream_requests - counters_before->upstream_requests) / calls;
        phase.redis_round_trips = (counters_after->redis_round_trips - counters_before->redis_round_trips) / calls;
        phase.redis_commands = (counters_after->redis_commands - counters_before->redis_commands) / calls;
      }
    }
    return phase;
  }

  const Settings& settings_;
  const Workload& workload_;
  Stack& stack_;
  ActionResult& result_;
  std::vector<RecordedRequest> direct_script_;
  std::string direct_token_;
  int gateway_runs_ = 0;
};

}  // namespace

ActionResult RunAction(const Settings& settings, const Workload& workload, bool with_counts,
                       const std::string& label) {
  ActionResult result;
  result.action = workload.action;
  std::cerr << "bench: " << label << " ..." << std::endl;
  absl::StatusOr<std::unique_ptr<Stack>> stack = Stack::Start(settings.stack, label);
  absl::Status status = stack.status();
  if (status.ok()) status = ActionBench(settings, workload, **stack, result).Run(with_counts);
  if (!status.ok()) {
    result.failure = status.ToString();
    std::cerr << "bench: " << label << " failed: " << result.failure << std::endl;
  }
  return result;
}

}  // namespace halopsa::bench

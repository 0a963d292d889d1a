#ifndef HALOPSA_BENCH_LOAD_GENERATOR_H_
#define HALOPSA_BENCH_LOAD_GENERATOR_H_

// A closed-loop load generator: `concurrency` calls in flight at all times,
// each slot starting its next call as soon as the previous one completes.
// One generator drives every path (direct to the simulator, gRPC, gateway),
// so the paths are measured by the same client with the same overhead.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/time/time.h"
#include "adapters/net/http_transport.h"

namespace grpc {
class Channel;
}  // namespace grpc

namespace halopsa::bench {

// One kind of call the generator can make.
class Target {
 public:
  using Done = absl::AnyInvocable<void(absl::Status)>;
  virtual ~Target() = default;
  // Starts call number `seq` (0, 1, ...); `done` runs exactly once, on any
  // thread, never inside Start().
  virtual void Start(int64_t seq, Done done) = 0;
};

// A unary HaloPsaService call with the serialized request `payload(seq)`,
// carrying x-idempotency-key `<key_prefix><seq>` when key_prefix is not
// empty. The response bytes are not parsed: only the status counts, and the
// call succeeds when its code is `expected`.
std::unique_ptr<Target> GrpcTarget(std::shared_ptr<grpc::Channel> channel, std::string method,
                                   std::function<std::string(int64_t)> payload, absl::Duration timeout,
                                   absl::StatusCode expected = absl::StatusCode::kOk, std::string key_prefix = "");

// The HTTP requests of `script(seq)`, one after another; the call succeeds
// when every answer passes `accept`.
std::unique_ptr<Target> HttpTarget(net::HttpTransport& transport,
                                   std::function<std::vector<net::HttpRequest>(int64_t)> script,
                                   std::function<bool(const net::HttpResponse&)> accept, absl::Duration timeout);

struct LoadOptions {
  int concurrency = 1;
  // Time-based runs: calls before `warmup` has passed are not measured, the
  // window [warmup, warmup + duration) is, then no new call starts.
  absl::Duration warmup = absl::ZeroDuration();
  absl::Duration duration = absl::Seconds(1);
  // When positive, exactly this many calls are made instead (every one
  // measured) and the durations are ignored.
  int64_t total_calls = 0;
  // Called on the generator's thread as the measured window opens and closes
  // (e.g. to sample the server's CPU time).
  std::function<void()> on_window_start;
  std::function<void()> on_window_end;
};

struct LoadResult {
  int64_t completed = 0;  // calls that completed inside the window
  int64_t errors = 0;     // of those, failed ones
  std::string first_error;
  absl::Duration window;
  std::vector<int64_t> latencies_ns;  // successful calls, sorted

  double throughput() const;  // successful calls per second
  // The `fraction` quantile (nearest rank) of the latencies; 0 when none.
  absl::Duration Percentile(double fraction) const;
  absl::Duration Max() const;
};

LoadResult RunLoad(Target& target, const LoadOptions& options);

}  // namespace halopsa::bench

#endif  // HALOPSA_BENCH_LOAD_GENERATOR_H_

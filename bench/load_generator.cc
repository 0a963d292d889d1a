#include "bench/load_generator.h"

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"

namespace halopsa::bench {
namespace {

// Latencies kept per run; a 2-core loopback run completes far fewer calls.
constexpr size_t kMaxSamples = size_t{2} << 20;
// How long a run waits for its last calls after the window closes.
constexpr absl::Duration kDrainGrace = absl::Seconds(30);

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

class GrpcCallTarget final : public Target {
 public:
  GrpcCallTarget(std::shared_ptr<grpc::Channel> channel, std::string method,
                 std::function<std::string(int64_t)> payload, absl::Duration timeout, absl::StatusCode expected,
                 std::string key_prefix)
      : stub_(std::move(channel)),
        method_(std::move(method)),
        payload_(std::move(payload)),
        timeout_(timeout),
        expected_(expected),
        key_prefix_(std::move(key_prefix)) {}

  void Start(int64_t seq, Done done) override {
    auto call = std::make_shared<Call>();
    call->done = std::move(done);
    std::string bytes = payload_(seq);
    grpc::Slice slice(bytes);
    call->request = grpc::ByteBuffer(&slice, 1);
    call->context.set_deadline(absl::ToChronoTime(absl::Now() + timeout_));
    if (!key_prefix_.empty()) call->context.AddMetadata("x-idempotency-key", absl::StrCat(key_prefix_, seq));
    // The callback owns the call: its context lives until the call ends.
    stub_.UnaryCall(&call->context, method_, grpc::StubOptions(), &call->request, &call->response,
                    [call, expected = expected_](grpc::Status status) {
                      Done done = std::move(call->done);
                      const auto code = static_cast<absl::StatusCode>(status.error_code());
                      if (code == expected) return done(absl::OkStatus());
                      done(status.ok() ? absl::UnknownError("the call succeeded")
                                       : absl::Status(code, status.error_message()));
                    });
  }

 private:
  struct Call {
    grpc::ClientContext context;
    grpc::ByteBuffer request;
    grpc::ByteBuffer response;
    Done done;
  };

  grpc::GenericStub stub_;
  const std::string method_;
  const std::function<std::string(int64_t)> payload_;
  const absl::Duration timeout_;
  const absl::StatusCode expected_;
  const std::string key_prefix_;
};

class HttpScriptTarget final : public Target {
 public:
  HttpScriptTarget(net::HttpTransport& transport, std::function<std::vector<net::HttpRequest>(int64_t)> script,
                   std::function<bool(const net::HttpResponse&)> accept, absl::Duration timeout)
      : transport_(transport), script_(std::move(script)), accept_(std::move(accept)), timeout_(timeout) {}

  void Start(int64_t seq, Done done) override {
    auto call = std::make_shared<Call>();
    call->requests = script_(seq);
    call->deadline = absl::Now() + timeout_;
    call->done = std::move(done);
    Step(std::move(call));
  }

 private:
  struct Call {
    std::vector<net::HttpRequest> requests;
    size_t next = 0;
    absl::Time deadline;
    Done done;
  };

  void Step(std::shared_ptr<Call> call) {
    net::HttpRequest request = std::move(call->requests[call->next++]);
    const absl::Time deadline = call->deadline;  // read before `call` moves into the callback
    transport_.Send(std::move(request), deadline,
                    [this, call = std::move(call)](absl::StatusOr<net::HttpResponse> response) mutable {
                      if (!response.ok()) return call->done(response.status());
                      if (!accept_(*response)) {
                        return call->done(absl::UnknownError(
                            absl::StrCat("HTTP ", response->status, ": ", response->body.substr(0, 200))));
                      }
                      if (call->next == call->requests.size()) return call->done(absl::OkStatus());
                      Step(std::move(call));
                    });
  }

  net::HttpTransport& transport_;
  const std::function<std::vector<net::HttpRequest>(int64_t)> script_;
  const std::function<bool(const net::HttpResponse&)> accept_;
  const absl::Duration timeout_;
};

// One run's shared state; every call's callback holds a reference, so a
// call that outlives the drain grace cannot touch freed memory.
class Run : public std::enable_shared_from_this<Run> {
 public:
  Run(Target& target, const LoadOptions& options) : target_(target), options_(options), samples_(kMaxSamples) {}

  LoadResult Execute() {
    const bool counted = options_.total_calls > 0;
    const int64_t slots = counted ? std::min<int64_t>(options_.concurrency, options_.total_calls)
                                  : options_.concurrency;
    in_flight_.store(slots);
    if (counted) window_start_ns_.store(0);
    const int64_t begin = NowNs();
    for (int64_t i = 0; i < slots; ++i) Launch();
    int64_t window_begin = begin;
    if (!counted) {
      absl::SleepFor(options_.warmup);  // the load runs meanwhile; this thread only keeps time
      if (options_.on_window_start) options_.on_window_start();
      window_begin = NowNs();
      window_start_ns_.store(window_begin);
      absl::SleepFor(options_.duration);
      stopping_.store(true);
    }
    const int64_t window_end = counted ? 0 : NowNs();
    if (!counted && options_.on_window_end) options_.on_window_end();
    drained_.WaitForNotificationWithTimeout(counted ? absl::InfiniteDuration() : kDrainGrace);
    stopping_.store(true);

    LoadResult result;
    result.window = absl::Nanoseconds((counted ? NowNs() : window_end) - window_begin);
    result.completed = completed_.load();
    result.errors = errors_.load();
    size_t kept = std::min(next_sample_.load(), samples_.size());
    result.latencies_ns.assign(samples_.begin(), samples_.begin() + static_cast<std::ptrdiff_t>(kept));
    std::sort(result.latencies_ns.begin(), result.latencies_ns.end());
    absl::MutexLock lock(&mu_);
    result.first_error = first_error_;
    return result;
  }

 private:
  void Launch() {
    const int64_t seq = next_seq_.fetch_add(1);
    if (stopping_.load() || (options_.total_calls > 0 && seq >= options_.total_calls)) {
      if (in_flight_.fetch_sub(1) == 1) drained_.Notify();
      return;
    }
    const int64_t start = NowNs();
    target_.Start(seq, [self = shared_from_this(), start](absl::Status status) {
      self->Complete(start, status);
      self->Launch();
    });
  }

  void Complete(int64_t start, const absl::Status& status) {
    const int64_t end = NowNs();
    if (stopping_.load() || end < window_start_ns_.load()) return;
    completed_.fetch_add(1);
    if (!status.ok()) {
      if (errors_.fetch_add(1) == 0) {
        absl::MutexLock lock(&mu_);
        first_error_ = status.ToString();
      }
      return;
    }
    const size_t index = next_sample_.fetch_add(1);
    if (index < samples_.size()) samples_[index] = end - start;
  }

  Target& target_;
  const LoadOptions options_;
  std::vector<int64_t> samples_;  // preallocated: recording never allocates
  std::atomic<size_t> next_sample_{0};
  std::atomic<int64_t> next_seq_{0};
  std::atomic<int64_t> in_flight_{0};
  std::atomic<int64_t> completed_{0};
  std::atomic<int64_t> errors_{0};
  std::atomic<int64_t> window_start_ns_{INT64_MAX};
  std::atomic<bool> stopping_{false};
  absl::Notification drained_;
  absl::Mutex mu_;
  std::string first_error_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

std::unique_ptr<Target> GrpcTarget(std::shared_ptr<grpc::Channel> channel, std::string method,
                                   std::function<std::string(int64_t)> payload, absl::Duration timeout,
                                   absl::StatusCode expected, std::string key_prefix) {
  return std::make_unique<GrpcCallTarget>(std::move(channel), std::move(method), std::move(payload), timeout,
                                          expected, std::move(key_prefix));
}

std::unique_ptr<Target> HttpTarget(net::HttpTransport& transport,
                                   std::function<std::vector<net::HttpRequest>(int64_t)> script,
                                   std::function<bool(const net::HttpResponse&)> accept, absl::Duration timeout) {
  return std::make_unique<HttpScriptTarget>(transport, std::move(script), std::move(accept), timeout);
}

double LoadResult::throughput() const {
  double seconds = absl::ToDoubleSeconds(window);
  return seconds > 0 ? static_cast<double>(completed - errors) / seconds : 0;
}

absl::Duration LoadResult::Percentile(double fraction) const {
  if (latencies_ns.empty()) return absl::ZeroDuration();
  size_t rank = static_cast<size_t>(std::ceil(fraction * static_cast<double>(latencies_ns.size())));
  return absl::Nanoseconds(latencies_ns[std::clamp<size_t>(rank, 1, latencies_ns.size()) - 1]);
}

absl::Duration LoadResult::Max() const {
  return latencies_ns.empty() ? absl::ZeroDuration() : absl::Nanoseconds(latencies_ns.back());
}

LoadResult RunLoad(Target& target, const LoadOptions& options) {
  return std::make_shared<Run>(target, options)->Execute();
}

}  // namespace halopsa::bench

#ifndef HALOPSA_TESTS_ADAPTERS_NET_TRANSPORT_TEST_SUPPORT_H_
#define HALOPSA_TESTS_ADAPTERS_NET_TRANSPORT_TEST_SUPPORT_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "adapters/net/beast_http_transport.h"
#include "adapters/net/http_transport.h"

// What the transport tests share: a controllable loopback server, a
// collector of callback results, and request and option helpers.
namespace halopsa::net::transport_test {

// How long a test waits for something that should happen promptly; only
// reached when the behaviour under test is broken.
inline constexpr absl::Duration kWaitLimit = absl::Seconds(10);

std::string CertPath(absl::string_view name);

// A controllable HTTP(S) server on 127.0.0.1, one io thread.

enum class Behavior {
  kRespond,             // answer and keep the connection
  kRespondAndClose,     // answer with "Connection: close", then close
  kRespondThenDrop,     // answer as keep-alive, then close anyway (an idle cutoff)
  kStall,               // hold the answer until ReleaseStalled()
  kCloseWithoutAnswer,  // close as soon as the request has arrived
};

struct SeenRequest {
  std::string method;
  std::string target;
  std::string body;
  std::map<std::string, std::string> headers;  // lower-case names
};

struct ServerCounts {
  int accepted = 0;       // connections accepted
  int stalled = 0;        // answers held back right now
  int dropped = 0;        // connections closed after kRespondThenDrop
  int client_closed = 0;  // connections the client closed between requests
};

class TestServer {
 public:
  // Plain HTTP when `cert` is empty, else TLS with that certificate and key.
  explicit TestServer(const std::string& cert = "", const std::string& key = "");

  ~TestServer() {
    io_.stop();
    thread_.join();
  }

  std::string Url(absl::string_view host, absl::string_view target = "/") const {
    return absl::StrCat(tls_ ? "https" : "http", "://", host, ":", port_, target);
  }
  uint16_t port() const { return port_; }

  void set_behavior(Behavior behavior) {
    absl::MutexLock lock(&mu_);
    behavior_ = behavior;
  }
  void set_response_body(std::string body) {
    absl::MutexLock lock(&mu_);
    response_body_ = std::move(body);
  }

  // Answers every held request and stops holding new ones.
  void ReleaseStalled();

  ServerCounts counts() const {
    absl::MutexLock lock(&mu_);
    return counts_;
  }
  std::vector<SeenRequest> requests() const {
    absl::MutexLock lock(&mu_);
    return requests_;
  }

  bool WaitFor(const std::function<bool(const ServerCounts&)>& done) {
    absl::MutexLock lock(&mu_);
    const auto reached = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return done(counts_); };
    return mu_.AwaitWithTimeout(absl::Condition(&reached), kWaitLimit);
  }

  // Session side, on the server thread. Records the request and says how to
  // treat it; a stalled request's `answer` runs on ReleaseStalled().
  Behavior Admit(SeenRequest request, std::function<void()> answer) {
    absl::MutexLock lock(&mu_);
    requests_.push_back(std::move(request));
    if (behavior_ == Behavior::kStall) {
      stalled_.push_back(std::move(answer));
      ++counts_.stalled;
    }
    return behavior_;
  }
  std::string response_body() const {
    absl::MutexLock lock(&mu_);
    return response_body_;
  }
  void Count(int ServerCounts::*counter) {
    absl::MutexLock lock(&mu_);
    ++(counts_.*counter);
  }

 private:
  template <typename Stream>
  class Session;

  void Accept();

  std::optional<boost::asio::ssl::context> tls_;  // outlives the sessions destroyed with io_
  boost::asio::io_context io_;
  boost::asio::ip::tcp::acceptor acceptor_{io_};
  uint16_t port_ = 0;
  std::thread thread_;

  mutable absl::Mutex mu_;
  Behavior behavior_ ABSL_GUARDED_BY(mu_) = Behavior::kRespond;
  std::string response_body_ ABSL_GUARDED_BY(mu_) = "hello";
  ServerCounts counts_ ABSL_GUARDED_BY(mu_);
  std::vector<SeenRequest> requests_ ABSL_GUARDED_BY(mu_);
  std::vector<std::function<void()>> stalled_ ABSL_GUARDED_BY(mu_);
};

// Collects callback results. Shared state, so a callback arriving after a
// failed test's wait gave up stays harmless.
class Results {
 public:
  HttpTransport::Callback Callback() {
    return [state = state_](absl::StatusOr<HttpResponse> result) {
      absl::MutexLock lock(&state->mu);
      state->results.push_back(std::move(result));
      state->threads.push_back(std::this_thread::get_id());
    };
  }

  // Waits (bounded) until `n` callbacks have run; returns all results so far.
  std::vector<absl::StatusOr<HttpResponse>> Wait(size_t n) {
    absl::MutexLock lock(&state_->mu);
    const auto enough = [&]() { return state_->results.size() >= n; };
    state_->mu.AwaitWithTimeout(absl::Condition(&enough), kWaitLimit);
    return state_->results;
  }

  std::vector<absl::StatusOr<HttpResponse>> results() const {
    absl::MutexLock lock(&state_->mu);
    return state_->results;
  }
  std::vector<std::thread::id> threads() const {
    absl::MutexLock lock(&state_->mu);
    return state_->threads;
  }

 private:
  struct State {
    mutable absl::Mutex mu;
    std::vector<absl::StatusOr<HttpResponse>> results ABSL_GUARDED_BY(mu);
    std::vector<std::thread::id> threads ABSL_GUARDED_BY(mu);
  };
  std::shared_ptr<State> state_ = std::make_shared<State>();
};

HttpRequest Get(std::string url, HeaderList headers = {});

inline absl::Time Soon() { return absl::Now() + kWaitLimit; }

absl::StatusOr<HttpResponse> SendAndWait(HttpTransport& transport, HttpRequest request,
                                         absl::Time deadline = Soon());

// Plain HTTP to 127.0.0.1 is what every non-policy test needs.
BeastTransportOptions LoopbackOptions();

std::unique_ptr<BeastHttpTransport> MakeTransport(BeastTransportOptions options);

size_t CountCode(const std::vector<absl::StatusOr<HttpResponse>>& results, absl::StatusCode code);

// A port that was just free: nothing listens there now.
uint16_t ClosedLoopbackPort();

}  // namespace halopsa::net::transport_test

#endif  // HALOPSA_TESTS_ADAPTERS_NET_TRANSPORT_TEST_SUPPORT_H_

#include "adapters/net/beast_http_transport.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <exception>
#include <list>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/ssl/verify_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "adapters/net/url.h"

namespace halopsa::net {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using SteadyTime = std::chrono::steady_clock::time_point;

// Response headers beyond this fail the request like an oversized body.
constexpr uint32_t kMaxResponseHeaderBytes = 64 << 10;

// The steady-clock time `d` from now, saturating instead of overflowing for
// infinite deadlines.
SteadyTime SteadyAfter(absl::Duration d) {
  const SteadyTime now = std::chrono::steady_clock::now();
  const std::chrono::nanoseconds delta =
      absl::ToChronoNanoseconds(std::max(d, absl::ZeroDuration()));
  if (delta >= SteadyTime::max() - now) return SteadyTime::max();
  return now + std::chrono::duration_cast<SteadyTime::duration>(delta);
}

// When a step must be over: its own timeout, or the request deadline if sooner.
SteadyTime StepExpiry(absl::Duration step_timeout, absl::Time deadline) {
  return SteadyAfter(std::min(step_timeout, deadline - absl::Now()));
}

absl::Status StepError(const beast::error_code& ec, absl::string_view step) {
  if (ec == beast::error::timeout) {
    return absl::DeadlineExceededError(absl::StrCat(step, " timed out"));
  }
  return absl::UnavailableError(absl::StrCat(step, " failed: ", ec.message()));
}

absl::Status Cancelled() { return absl::CancelledError("HTTP transport shut down"); }

absl::Status QueueTimeout(absl::string_view host_port) {
  return absl::DeadlineExceededError(
      absl::StrCat("waiting for a free connection to ", host_port, " timed out"));
}

// RFC 9110 token characters, the only ones allowed in a header name.
bool IsToken(absl::string_view s) {
  static constexpr absl::string_view kSpecials = "!#$%&'*+-.^_`|~";
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return absl::ascii_isalnum(static_cast<unsigned char>(c)) ||
           kSpecials.find(c) != absl::string_view::npos;
  });
}

// CR, LF or NUL in a value would let it inject headers.
bool IsFieldValue(absl::string_view s) {
  return s.find_first_of(absl::string_view("\r\n\0", 3)) == absl::string_view::npos;
}

// How a peer closing a kept-alive connection surfaces on the next exchange.
bool IsPeerClose(const beast::error_code& ec) {
  return ec == http::error::end_of_stream || ec == asio::error::eof ||
         ec == asio::error::connection_reset || ec == asio::error::broken_pipe ||
         ec == ssl::error::stream_truncated;
}

// The port only when it is not the scheme's default.
std::string HostHeader(const Url& url) {
  if (url.port != (url.scheme == "https" ? 443 : 80)) return HostPort(url.host, url.port);
  return url.host.find(':') == std::string::npos ? url.host : absl::StrCat("[", url.host, "]");
}

// Methods whose framing Beast's prepare_payload() handles without throwing.
bool IsSupportedMethod(http::verb verb) {
  switch (verb) {
    case http::verb::get:
    case http::verb::head:
    case http::verb::post:
    case http::verb::put:
    case http::verb::patch:
    case http::verb::delete_:
      return true;
    default:
      return false;
  }
}

// One Send(): built in the caller's thread, then owned by a queue or a
// connection until `done` runs.
struct Call {
  std::string pool_key;
  std::string host_port;  // for messages
  http::request<http::string_body> request;
  bool idempotent = false;  // may be written twice
  absl::Time deadline;
  HttpTransport::Callback done;
  // While waiting for a connection; guarded by Engine::mu_.
  bool queued = false;
  std::list<std::shared_ptr<Call>>::iterator queue_pos;
  std::optional<asio::steady_timer> queue_timer;

  void Complete(absl::StatusOr<HttpResponse> result) {
    HttpTransport::Callback callback = std::move(done);
    callback(std::move(result));
  }
};

class Connection;

// Connections of one scheme+host+port.
struct HostPool {
  std::unordered_set<std::shared_ptr<Connection>> connections;  // busy and idle
  std::vector<std::shared_ptr<Connection>> idle;                // most recently used last
  std::list<std::shared_ptr<Call>> queue;                       // oldest first
};

// What a connection does after its call: take the next queued call, wait in
// the pool, or go away.
struct Handoff {
  std::shared_ptr<Call> next;
  bool idle = false;
};

class Engine {
 public:
  explicit Engine(BeastTransportOptions options)
      : options_(std::move(options)),
        io_(options_.threads),
        tls_(ssl::context::tls_client),
        work_(asio::make_work_guard(io_)) {}

  ~Engine() { Shutdown(); }

  absl::Status Init();
  void Send(HttpRequest request, absl::Time deadline, HttpTransport::Callback done);

  size_t open_connections() const { return open_.load(); }
  size_t connections_opened() const { return opened_.load(); }

  // For connections.
  const BeastTransportOptions& options() const { return options_; }
  asio::io_context& io() { return io_; }
  ssl::context& tls() { return tls_; }
  void CountOpened() {
    ++open_;
    ++opened_;
  }
  void CountClosed() { --open_; }
  Handoff Release(const std::shared_ptr<Connection>& connection, bool keep);
  // True if `connection` was idle in its pool and now is not in it any more.
  bool RemoveIfIdle(const std::shared_ptr<Connection>& connection);

 private:
  absl::StatusOr<Url> Prepare(HttpRequest& request, Call& call) const;
  void Dispatch(std::shared_ptr<Call> call, const Url& url);
  void Enqueue(HostPool& pool, const std::shared_ptr<Call>& call)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  std::shared_ptr<Call> PopQueued(HostPool& pool) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void OnQueueTimeout(const std::shared_ptr<Call>& call);
  void RemoveConnection(std::unordered_map<std::string, HostPool>::iterator pool,
                        const std::shared_ptr<Connection>& connection)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Fails `call`, which never reached a connection, on an io thread, never
  // in the caller's.
  void CompleteLater(std::shared_ptr<Call> call, absl::Status status);
  void Shutdown();

  const BeastTransportOptions options_;
  asio::io_context io_;
  ssl::context tls_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_;
  std::vector<std::thread> threads_;
  std::atomic<size_t> open_{0};
  std::atomic<size_t> opened_{0};

  absl::Mutex mu_;
  bool shutting_down_ ABSL_GUARDED_BY(mu_) = false;
  std::unordered_map<std::string, HostPool> pools_ ABSL_GUARDED_BY(mu_);
};

// One pool slot: at most one upstream connection at a time, one call at a
// time. Everything after construction runs on `strand_`.
class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(Engine& engine, std::string pool_key, const Url& url)
      : engine_(engine),
        pool_key_(std::move(pool_key)),
        host_(url.host),
        service_(std::to_string(url.port)),
        host_port_(HostPort(url.host, url.port)),
        use_tls_(url.scheme == "https"),
        strand_(asio::make_strand(engine.io())),
        resolver_(strand_),
        resolve_timer_(strand_),
        idle_timer_(strand_) {}

  const std::string& pool_key() const { return pool_key_; }

  // Callable from any thread.
  void Assign(std::shared_ptr<Call> call) {
    asio::post(strand_, [self = shared_from_this(), call = std::move(call)]() mutable {
      self->Start(std::move(call));
    });
  }
  void Cancel() {
    asio::post(strand_, [self = shared_from_this()] { self->OnCancel(); });
  }

 private:
  void Start(std::shared_ptr<Call> call);
  void Connect();
  bool ClaimResolve(uint64_t attempt);
  void OnResolved(const beast::error_code& ec, const tcp::resolver::results_type& results);
  void OnConnected(const beast::error_code& ec);
  void OnHandshake(const beast::error_code& ec);
  void Write();
  void OnWritten(const beast::error_code& ec);
  void Read();
  void OnHeader(const beast::error_code& ec);
  void OnRead(const beast::error_code& ec);
  void Retry();
  void Finish(absl::StatusOr<HttpResponse> result, bool keep);
  void WatchIdle();
  void OnCancel();
  void Close();

  bool HasStream() const { return plain_ != nullptr || tls_ != nullptr; }
  bool IsOpen() { return HasStream() && Tcp().socket().is_open(); }
  beast::tcp_stream& Tcp() { return tls_ ? beast::get_lowest_layer(*tls_) : *plain_; }
  template <typename F>
  void WithStream(F&& f) {
    if (tls_) {
      f(*tls_);
    } else {
      f(*plain_);
    }
  }

  Engine& engine_;
  const std::string pool_key_;
  const std::string host_;
  const std::string service_;
  const std::string host_port_;
  const bool use_tls_;
  asio::strand<asio::io_context::executor_type> strand_;
  tcp::resolver resolver_;
  asio::steady_timer resolve_timer_;  // the resolver has no timeout of its own
  asio::steady_timer idle_timer_;
  std::unique_ptr<beast::tcp_stream> plain_;
  std::unique_ptr<beast::ssl_stream<beast::tcp_stream>> tls_;
  beast::flat_buffer buffer_;
  std::optional<http::response_parser<http::string_body>> parser_;
  std::shared_ptr<Call> call_;
  SteadyTime connect_expiry_;
  // A resolution cannot be interrupted; whichever of its result, its timeout
  // or a cancellation claims attempt `resolve_attempt_` first wins.
  uint64_t resolve_attempt_ = 0;
  bool resolving_ = false;
  bool counted_open_ = false;
  bool reused_ = false;  // the current call went to a connection kept from an earlier one
  bool write_started_ = false;  // some of the current call's request may have left
  bool retried_ = false;
  bool cancelled_ = false;
};

void Connection::Start(std::shared_ptr<Call> call) {
  idle_timer_.cancel();
  call_ = std::move(call);
  retried_ = false;
  write_started_ = false;
  if (cancelled_) return Finish(Cancelled(), false);
  if (call_->deadline <= absl::Now()) return Finish(QueueTimeout(host_port_), IsOpen());
  reused_ = IsOpen();
  if (reused_) {
    Write();
  } else {
    Connect();
  }
}

void Connection::Connect() {
  connect_expiry_ = StepExpiry(engine_.options().connect_timeout, call_->deadline);
  const uint64_t attempt = ++resolve_attempt_;
  resolving_ = true;
  resolve_timer_.expires_at(connect_expiry_);
  resolve_timer_.async_wait([self = shared_from_this(), attempt](const beast::error_code& ec) {
    if (ec || !self->ClaimResolve(attempt)) return;
    self->Finish(
        absl::DeadlineExceededError(absl::StrCat("resolve ", self->host_port_, " timed out")),
        false);
  });
  resolver_.async_resolve(
      host_, service_, tcp::resolver::numeric_service,
      [self = shared_from_this(), attempt](const beast::error_code& ec,
                                           const tcp::resolver::results_type& results) {
        if (!self->ClaimResolve(attempt)) return;
        self->resolve_timer_.cancel();
        self->OnResolved(ec, results);
      });
}

bool Connection::ClaimResolve(uint64_t attempt) {
  if (!resolving_ || attempt != resolve_attempt_) return false;
  resolving_ = false;
  return true;
}

void Connection::OnResolved(const beast::error_code& ec,
                            const tcp::resolver::results_type& results) {
  if (ec) {
    return Finish(
        absl::UnavailableError(absl::StrCat("resolve ", host_port_, " failed: ", ec.message())),
        false);
  }
  const BeastTransportOptions& options = engine_.options();
  if (!options.allow_private_addresses && !options.allowed_upstreams.AllowsHost(host_)) {
    for (const auto& entry : results) {
      const std::string address = entry.endpoint().address().to_string();
      if (IsPrivateAddress(address) && !options.allowed_upstreams.AllowsAddress(address)) {
        return Finish(absl::PermissionDeniedError(absl::StrCat(
                          host_port_, " resolves to a loopback, private or link-local address")),
                      false);
      }
    }
  }
  // A fresh stream per connection: an SSL stream cannot be reused.
  buffer_.clear();
  if (use_tls_) {
    tls_ = std::make_unique<beast::ssl_stream<beast::tcp_stream>>(strand_, engine_.tls());
  } else {
    plain_ = std::make_unique<beast::tcp_stream>(strand_);
  }
  Tcp().expires_at(connect_expiry_);
  Tcp().async_connect(
      results, [self = shared_from_this()](const beast::error_code& ec, const tcp::endpoint&) {
        self->OnConnected(ec);
      });
}

void Connection::OnConnected(const beast::error_code& ec) {
  if (cancelled_) return Finish(Cancelled(), false);
  if (ec) return Finish(StepError(ec, absl::StrCat("connect to ", host_port_)), false);
  counted_open_ = true;
  engine_.CountOpened();
  if (!tls_) return Write();

  beast::error_code not_ip;
  asio::ip::make_address(host_, not_ip);
  // SNI carries names only, never IP literals (RFC 6066).
  if (not_ip && SSL_set_tlsext_host_name(tls_->native_handle(), host_.c_str()) != 1) {
    return Finish(absl::UnavailableError(absl::StrCat("TLS handshake with ", host_port_,
                                                      " failed: cannot set the server name")),
                  false);
  }
  beast::error_code verify_ec;
  tls_->set_verify_callback(
      [matches_host = ssl::host_name_verification(host_)](bool preverified,
                                                          ssl::verify_context& ctx) {
        if (matches_host(preverified, ctx)) return true;
        // The chain was fine, so the name is wrong: say so instead of
        // OpenSSL's "unspecified certificate verification error".
        if (preverified) {
          X509_STORE_CTX_set_error(ctx.native_handle(), X509_V_ERR_HOSTNAME_MISMATCH);
        }
        return false;
      },
      verify_ec);
  if (verify_ec) {
    return Finish(StepError(verify_ec, absl::StrCat("TLS setup for ", host_port_)), false);
  }
  tls_->async_handshake(
      ssl::stream_base::client,
      [self = shared_from_this()](const beast::error_code& ec) { self->OnHandshake(ec); });
}

void Connection::OnHandshake(const beast::error_code& ec) {
  if (cancelled_) return Finish(Cancelled(), false);
  if (ec) {
    const long verify_result = SSL_get_verify_result(tls_->native_handle());
    const bool verify_failed =
        verify_result != X509_V_OK ||
        (ec.category() == asio::error::get_ssl_category() &&
         ERR_GET_REASON(static_cast<unsigned long>(ec.value())) == SSL_R_CERTIFICATE_VERIFY_FAILED);
    if (verify_failed) {
      return Finish(absl::FailedPreconditionError(
                        absl::StrCat("TLS certificate verification failed for ", host_, ": ",
                                     X509_verify_cert_error_string(verify_result))),
                    false);
    }
    return Finish(StepError(ec, absl::StrCat("TLS handshake with ", host_port_)), false);
  }
  Write();
}

void Connection::Write() {
  write_started_ = true;
  Tcp().expires_at(StepExpiry(engine_.options().io_timeout, call_->deadline));
  WithStream([this](auto& stream) {
    http::async_write(
        stream, call_->request,
        [self = shared_from_this()](const beast::error_code& ec, size_t) { self->OnWritten(ec); });
  });
}

void Connection::OnWritten(const beast::error_code& ec) {
  if (cancelled_) return Finish(Cancelled(), false);
  // A kept-alive connection the server has since closed; nothing was answered.
  if (ec && reused_ && !retried_ && ec != beast::error::timeout) return Retry();
  if (ec) return Finish(StepError(ec, absl::StrCat("send request to ", host_port_)), false);
  Read();
}

void Connection::Read() {
  parser_.emplace();
  parser_->header_limit(kMaxResponseHeaderBytes);
  parser_->body_limit(engine_.options().max_response_bytes);
  if (call_->request.method() == http::verb::head) parser_->skip(true);
  Tcp().expires_at(StepExpiry(engine_.options().io_timeout, call_->deadline));
  WithStream([this](auto& stream) {
    http::async_read_header(
        stream, buffer_, *parser_,
        [self = shared_from_this()](const beast::error_code& ec, size_t) { self->OnHeader(ec); });
  });
}

// Beast 1.74 drops the body_limit error for a Content-Length above the limit
// when it parses header and body in one go, so the header is checked first.
void Connection::OnHeader(const beast::error_code& ec) {
  if (ec || cancelled_) return OnRead(ec);
  const auto length = parser_->content_length();
  if (length && *length > engine_.options().max_response_bytes) {
    return OnRead(http::error::body_limit);
  }
  if (parser_->is_done()) return OnRead(ec);
  WithStream([this](auto& stream) {
    http::async_read(
        stream, buffer_, *parser_,
        [self = shared_from_this()](const beast::error_code& ec, size_t) { self->OnRead(ec); });
  });
}

void Connection::OnRead(const beast::error_code& ec) {
  if (cancelled_) return Finish(Cancelled(), false);
  if (ec == http::error::body_limit) {
    return Finish(
        absl::ResourceExhaustedError(absl::StrCat("response body from ", host_port_, " exceeds ",
                                                  engine_.options().max_response_bytes, " bytes")),
        false);
  }
  if (ec == http::error::header_limit) {
    return Finish(
        absl::ResourceExhaustedError(absl::StrCat("response headers from ", host_port_, " exceed ",
                                                  kMaxResponseHeaderBytes, " bytes")),
        false);
  }
  // The server may have processed a request it did not answer: only an
  // idempotent one is sent again.
  if (ec && reused_ && !retried_ && call_->idempotent && !parser_->got_some() && IsPeerClose(ec)) {
    return Retry();
  }
  if (ec) {
    return Finish(StepError(ec, absl::StrCat("waiting for response from ", host_port_)), false);
  }

  auto& message = parser_->get();
  HttpResponse response;
  response.status = static_cast<int>(message.result_int());
  response.content_type = std::string(message[http::field::content_type]);
  response.body = std::move(message.body());
  // Bytes beyond the response mean the connection is out of step: drop it.
  const bool keep = parser_->keep_alive() && buffer_.size() == 0;
  Finish(std::move(response), keep);
}

void Connection::Retry() {
  retried_ = true;
  reused_ = false;
  Close();
  Connect();
}

void Connection::Finish(absl::StatusOr<HttpResponse> result, bool keep) {
  std::shared_ptr<Call> call = std::move(call_);
  if (!result.ok() && !write_started_) result = MarkNotSent(std::move(result).status());
  if (keep) {
    Tcp().expires_never();
  } else {
    Close();
  }
  Handoff handoff = engine_.Release(shared_from_this(), keep);
  if (handoff.next) {
    Assign(std::move(handoff.next));
  } else if (handoff.idle) {
    WatchIdle();
  }
  call->Complete(std::move(result));
}

void Connection::WatchIdle() {
  idle_timer_.expires_at(SteadyAfter(engine_.options().idle_timeout));
  idle_timer_.async_wait([self = shared_from_this()](const beast::error_code& ec) {
    if (!ec && self->engine_.RemoveIfIdle(self)) self->Close();
  });
}

void Connection::OnCancel() {
  cancelled_ = true;
  idle_timer_.cancel();
  resolver_.cancel();
  Close();  // pending socket operations complete with an error and see cancelled_
  if (resolving_) {
    resolving_ = false;
    resolve_timer_.cancel();
    Finish(Cancelled(), false);
  }
}

void Connection::Close() {
  if (!HasStream()) return;
  // Counted first, so nobody who sees the peer notice the close finds it open.
  if (counted_open_) {
    counted_open_ = false;
    engine_.CountClosed();
  }
  beast::error_code ignored;
  Tcp().socket().shutdown(tcp::socket::shutdown_both, ignored);
  Tcp().close();
}

absl::Status Engine::Init() {
  const auto bad_duration = [](absl::Duration d) {
    return d <= absl::ZeroDuration() || d == absl::InfiniteDuration();
  };
  if (options_.threads < 1 || options_.max_connections_per_host < 1 ||
      options_.max_response_bytes < 1) {
    return absl::InvalidArgumentError(
        "threads, max_connections_per_host and max_response_bytes must be positive");
  }
  if (bad_duration(options_.connect_timeout) || bad_duration(options_.io_timeout) ||
      bad_duration(options_.idle_timeout)) {
    return absl::InvalidArgumentError("transport timeouts must be positive and finite");
  }
  if (!IsFieldValue(options_.user_agent)) {
    return absl::InvalidArgumentError("user_agent must not contain CR, LF or NUL");
  }
  if (SSL_CTX_set_min_proto_version(tls_.native_handle(), TLS1_2_VERSION) != 1) {
    return absl::InternalError("cannot require TLS 1.2 or later");
  }
  beast::error_code ec;
  tls_.set_default_verify_paths(ec);
  if (ec) {
    return absl::InternalError(absl::StrCat("cannot load the system CA store: ", ec.message()));
  }
  if (!options_.extra_ca_file.empty()) {
    tls_.load_verify_file(options_.extra_ca_file, ec);
    if (ec) {
      return absl::InvalidArgumentError(
          absl::StrCat("cannot load CA file ", options_.extra_ca_file, ": ", ec.message()));
    }
  }
  tls_.set_verify_mode(ssl::verify_peer, ec);
  if (ec) {
    return absl::InternalError(absl::StrCat("cannot enable peer verification: ", ec.message()));
  }

  for (int i = 0; i < options_.threads; ++i) {
    threads_.emplace_back([this] { io_.run(); });
  }
  return absl::OkStatus();
}

absl::StatusOr<Url> Engine::Prepare(HttpRequest& request, Call& call) const {
  absl::StatusOr<Url> url = ParseUrl(request.url);
  if (!url.ok()) return url.status();
  if (url->scheme == "http" && !options_.allow_insecure_http) {
    return absl::InvalidArgumentError("plain http:// URLs are not allowed; use https://");
  }
  const http::verb verb = http::string_to_verb(request.method);
  if (!IsSupportedMethod(verb)) return absl::InvalidArgumentError("unsupported HTTP method");
  for (const auto& [name, value] : request.headers) {
    if (!IsToken(name) || !IsFieldValue(value)) {
      // Neither name nor value is quoted: headers carry credentials.
      return absl::InvalidArgumentError(
          "request header names must be tokens and values must not contain CR, LF or NUL");
    }
  }

  call.host_port = HostPort(url->host, url->port);
  call.pool_key = absl::StrCat(url->scheme, "://", call.host_port);
  auto& req = call.request;
  req.method(verb);
  req.target(url->target);
  req.version(11);
  for (const auto& [name, value] : request.headers) req.insert(name, value);
  req.set(http::field::host, HostHeader(*url));
  req.set(http::field::user_agent, options_.user_agent);
  // The transport frames the body; caller-supplied framing would contradict it.
  req.erase(http::field::content_length);
  req.erase(http::field::transfer_encoding);
  req.body() = std::move(request.body);
  req.prepare_payload();
  call.idempotent = request.idempotent || verb == http::verb::get || verb == http::verb::head;
  return url;
}

void Engine::Send(HttpRequest request, absl::Time deadline, HttpTransport::Callback done) {
  auto call = std::make_shared<Call>();
  call->deadline = deadline;
  call->done = std::move(done);
  absl::StatusOr<Url> url = Prepare(request, *call);
  if (!url.ok()) return CompleteLater(std::move(call), url.status());
  if (deadline <= absl::Now()) {
    absl::Status late = absl::DeadlineExceededError(
        absl::StrCat("deadline passed before the request to ", call->host_port, " was sent"));
    return CompleteLater(std::move(call), std::move(late));
  }
  Dispatch(std::move(call), *url);
}

void Engine::Dispatch(std::shared_ptr<Call> call, const Url& url) {
  std::shared_ptr<Connection> connection;
  absl::Status refused;
  {
    absl::MutexLock lock(&mu_);
    if (shutting_down_) {
      refused = Cancelled();
    } else {
      HostPool& pool = pools_[call->pool_key];
      if (!pool.idle.empty()) {
        connection = std::move(pool.idle.back());
        pool.idle.pop_back();
      } else if (pool.connections.size() < options_.max_connections_per_host) {
        connection = std::make_shared<Connection>(*this, call->pool_key, url);
        pool.connections.insert(connection);
      } else if (pool.queue.size() < options_.max_queued_requests_per_host) {
        Enqueue(pool, call);
        return;
      } else {
        refused = absl::ResourceExhaustedError(
            absl::StrCat("too many requests waiting for a connection to ", call->host_port));
      }
    }
  }
  if (connection) {
    connection->Assign(std::move(call));
  } else {
    CompleteLater(std::move(call), std::move(refused));
  }
}

void Engine::Enqueue(HostPool& pool, const std::shared_ptr<Call>& call) {
  call->queue_pos = pool.queue.insert(pool.queue.end(), call);
  call->queued = true;
  call->queue_timer.emplace(io_, SteadyAfter(call->deadline - absl::Now()));
  call->queue_timer->async_wait([this, call](const beast::error_code& ec) {
    if (!ec) OnQueueTimeout(call);
  });
}

std::shared_ptr<Call> Engine::PopQueued(HostPool& pool) {
  std::shared_ptr<Call> call = std::move(pool.queue.front());
  pool.queue.pop_front();
  call->queued = false;
  call->queue_timer->cancel();
  return call;
}

void Engine::OnQueueTimeout(const std::shared_ptr<Call>& call) {
  {
    absl::MutexLock lock(&mu_);
    if (!call->queued) return;  // a connection or Shutdown() took it first
    // A queue is only non-empty while its pool has connections, so the pool exists.
    pools_.at(call->pool_key).queue.erase(call->queue_pos);
    call->queued = false;
  }
  call->Complete(MarkNotSent(QueueTimeout(call->host_port)));
}

Handoff Engine::Release(const std::shared_ptr<Connection>& connection, bool keep) {
  absl::MutexLock lock(&mu_);
  Handoff handoff;
  if (shutting_down_) return handoff;  // Shutdown() has taken every connection
  auto pool = pools_.find(connection->pool_key());
  if (!pool->second.queue.empty()) {
    handoff.next = PopQueued(pool->second);
  } else if (keep) {
    pool->second.idle.push_back(connection);
    handoff.idle = true;
  } else {
    RemoveConnection(pool, connection);
  }
  return handoff;
}

bool Engine::RemoveIfIdle(const std::shared_ptr<Connection>& connection) {
  absl::MutexLock lock(&mu_);
  if (shutting_down_) return false;
  auto pool = pools_.find(connection->pool_key());
  if (pool == pools_.end()) return false;
  auto& idle = pool->second.idle;
  auto it = std::find(idle.begin(), idle.end(), connection);
  if (it == idle.end()) return false;
  idle.erase(it);
  RemoveConnection(pool, connection);
  return true;
}

void Engine::RemoveConnection(std::unordered_map<std::string, HostPool>::iterator pool,
                              const std::shared_ptr<Connection>& connection) {
  pool->second.connections.erase(connection);
  // Without connections there is nothing idle or queued: forget the host.
  if (pool->second.connections.empty()) pools_.erase(pool);
}

void Engine::CompleteLater(std::shared_ptr<Call> call, absl::Status status) {
  asio::post(io_, [call = std::move(call), status = MarkNotSent(std::move(status))]() mutable {
    call->Complete(std::move(status));
  });
}

void Engine::Shutdown() {
  std::vector<std::shared_ptr<Call>> queued;
  std::vector<std::shared_ptr<Connection>> connections;
  {
    absl::MutexLock lock(&mu_);
    shutting_down_ = true;
    for (auto& [key, pool] : pools_) {
      while (!pool.queue.empty()) queued.push_back(PopQueued(pool));
      connections.insert(connections.end(), pool.connections.begin(), pool.connections.end());
    }
    pools_.clear();
  }
  for (auto& call : queued) CompleteLater(std::move(call), Cancelled());
  for (const auto& connection : connections) connection->Cancel();
  // The io threads return once every cancelled operation has completed.
  work_.reset();
  for (auto& thread : threads_) {
    if (thread.joinable()) thread.join();
  }
}

}  // namespace

class BeastHttpTransport::Impl : public Engine {
 public:
  using Engine::Engine;
};

absl::StatusOr<std::unique_ptr<BeastHttpTransport>> BeastHttpTransport::Create(
    BeastTransportOptions options) {
  try {
    auto impl = std::make_unique<Impl>(std::move(options));
    absl::Status status = impl->Init();
    if (!status.ok()) return status;
    return std::unique_ptr<BeastHttpTransport>(new BeastHttpTransport(std::move(impl)));
  } catch (const std::exception& e) {
    // Asio reports resource exhaustion (threads, SSL contexts) by throwing.
    return absl::InternalError(absl::StrCat("cannot start the HTTP transport: ", e.what()));
  }
}

BeastHttpTransport::BeastHttpTransport(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

BeastHttpTransport::~BeastHttpTransport() = default;

void BeastHttpTransport::Send(HttpRequest request, absl::Time deadline, Callback done) {
  impl_->Send(std::move(request), deadline, std::move(done));
}

asio::io_context& BeastHttpTransport::io_context() { return impl_->io(); }

size_t BeastHttpTransport::open_connections() const { return impl_->open_connections(); }

size_t BeastHttpTransport::connections_opened() const { return impl_->connections_opened(); }

}  // namespace halopsa::net

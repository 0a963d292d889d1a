#include "adapters/net/http_server.h"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/stream_traits.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include "absl/base/call_once.h"
#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"

namespace halopsa::net {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

constexpr size_t kMaxHeaderBytes = 16 * 1024;
// Bytes asked for while waiting for the start of the next request.
constexpr size_t kFirstReadBytes = 4 * 1024;
// Bounds the TLS close_notify exchange when a connection ends.
constexpr absl::Duration kTlsCloseTimeout = absl::Seconds(1);
// How long Shutdown() waits for responses in flight.
constexpr absl::Duration kShutdownGrace = absl::Seconds(5);
// Pause before accepting again after an accept error (e.g. out of fds).
constexpr absl::Duration kAcceptRetryDelay = absl::Milliseconds(100);

std::chrono::nanoseconds ToChrono(absl::Duration d) { return absl::ToChronoNanoseconds(d); }

// Outlives the server (Responders share it) so a late Responder can tell the
// server is gone instead of touching a destroyed io_context.
struct Liveness {
  absl::Mutex mu;
  bool stopped ABSL_GUARDED_BY(mu) = false;
};

class Session {
 public:
  virtual ~Session() = default;
  virtual void Run() = 0;
  // Both thread-safe: they hop onto the session's strand.
  virtual void Stop() = 0;
  virtual void Deliver(ServerResponse response) = 0;
};

class SessionHost {
 public:
  virtual const HttpServerOptions& options() const = 0;
  virtual void Handle(ServerRequest request, Responder responder) = 0;
  virtual std::shared_ptr<Liveness> liveness() const = 0;
  // Called once by a session when its connection is closed.
  virtual void Release(Session* session) = 0;

 protected:
  ~SessionHost() = default;
};

// Move-only callable behind Responder: forwards the answer to the session if
// both it and the server still exist, and answers 500 if dropped uncalled.
class ResponderImpl {
 public:
  ResponderImpl(std::shared_ptr<Liveness> liveness, std::weak_ptr<Session> session)
      : liveness_(std::move(liveness)), session_(std::move(session)) {}
  ResponderImpl(ResponderImpl&& other) noexcept
      : liveness_(std::move(other.liveness_)), session_(std::move(other.session_)) {}
  ResponderImpl& operator=(ResponderImpl&&) = delete;
  ~ResponderImpl() {
    if (liveness_ != nullptr) {
      Send(ServerResponse{.status = 500, .content_type = "", .headers = {}, .body = ""});
    }
  }

  void operator()(ServerResponse response) { Send(std::move(response)); }

 private:
  void Send(ServerResponse response) {
    std::shared_ptr<Liveness> liveness = std::move(liveness_);
    if (liveness == nullptr) return;  // already answered
    absl::MutexLock lock(&liveness->mu);
    if (liveness->stopped) return;
    if (std::shared_ptr<Session> session = session_.lock()) {
      session->Deliver(std::move(response));
    }
  }

  std::shared_ptr<Liveness> liveness_;
  std::weak_ptr<Session> session_;
};

template <bool kTls>
class HttpSession final : public Session, public std::enable_shared_from_this<HttpSession<kTls>> {
 public:
  HttpSession(SessionHost& host, tcp::socket socket)
    requires(!kTls)
      : host_(host), stream_(std::move(socket)) {}
  HttpSession(SessionHost& host, tcp::socket socket, ssl::context& tls)
    requires(kTls)
      : host_(host), stream_(std::move(socket), tls) {}

  void Run() override {
    asio::dispatch(stream_.get_executor(), [self = this->shared_from_this()] { self->Begin(); });
  }

  void Stop() override {
    asio::post(stream_.get_executor(), [self = this->shared_from_this()] {
      self->stopping_ = true;
      // A response in flight is finished first; anything else is cut short.
      if (self->state_ == State::kHandshake || self->state_ == State::kIdle ||
          self->state_ == State::kReading) {
        self->lowest().cancel();
      }
    });
  }

  void Deliver(ServerResponse response) override {
    asio::post(stream_.get_executor(),
               [self = this->shared_from_this(), response = std::move(response)]() mutable {
                 self->Write(std::move(response));
               });
  }

 private:
  using Stream = std::conditional_t<kTls, beast::ssl_stream<beast::tcp_stream>, beast::tcp_stream>;
  enum class State { kHandshake, kIdle, kReading, kHandling, kWriting, kClosing, kDone };

  beast::tcp_stream& lowest() { return beast::get_lowest_layer(stream_); }
  const HttpServerOptions& options() const { return host_.options(); }

  void Begin() {
    if constexpr (kTls) {
      state_ = State::kHandshake;
      lowest().expires_after(ToChrono(options().read_timeout));
      stream_.async_handshake(ssl::stream_base::server,
                              [self = this->shared_from_this()](beast::error_code ec) {
                                if (ec) return self->Finish();
                                self->handshake_done_ = true;
                                self->WaitForRequest();
                              });
    } else {
      WaitForRequest();
    }
  }

  // The idle timeout runs until the first byte of a request arrives; from
  // then on the read timeout bounds the whole request.
  void WaitForRequest() {
    if (stopping_) return Close();
    state_ = State::kIdle;
    if (buffer_.size() > 0) return ReadRequest();  // pipelined bytes already here
    lowest().expires_after(ToChrono(options().idle_timeout));
    stream_.async_read_some(buffer_.prepare(kFirstReadBytes),
                            [self = this->shared_from_this()](beast::error_code ec, size_t n) {
                              if (ec) return self->Close();
                              self->buffer_.commit(n);
                              self->ReadRequest();
                            });
  }

  void ReadRequest() {
    state_ = State::kReading;
    parser_.emplace();
    parser_->header_limit(kMaxHeaderBytes);
    parser_->body_limit(options().max_body_bytes);
    // One deadline for the whole request, including any 100 Continue.
    lowest().expires_after(ToChrono(options().read_timeout));
    http::async_read_header(stream_, buffer_, *parser_,
                            [self = this->shared_from_this()](beast::error_code ec, size_t) {
                              self->OnHeader(ec);
                            });
  }

  // Clients that sent "Expect: 100-continue" (curl does for larger bodies)
  // wait for the interim answer before sending the body.
  void OnHeader(beast::error_code ec) {
    if (ec || parser_->is_done()) return OnRequest(ec);
    const auto expect = parser_->get()[http::field::expect];
    if (!absl::EqualsIgnoreCase(absl::string_view(expect.data(), expect.size()), "100-continue")) {
      return ReadBody();
    }
    continue_.version(parser_->get().version());
    http::async_write(stream_, continue_,
                      [self = this->shared_from_this()](beast::error_code write_ec, size_t) {
                        if (write_ec) return self->Close();
                        self->ReadBody();
                      });
  }

  void ReadBody() {
    http::async_read(stream_, buffer_, *parser_,
                     [self = this->shared_from_this()](beast::error_code ec, size_t) {
                       self->OnRequest(ec);
                     });
  }

  void OnRequest(beast::error_code ec) {
    if (ec == http::error::body_limit) return Reject(413);
    if (ec == http::error::header_limit) return Reject(431);
    // A peer that went away mid-message gets no answer; malformed HTTP does.
    if (ec && ec != http::error::end_of_stream && ec != http::error::partial_message &&
        &ec.category() == &http::make_error_code(http::error::bad_target).category()) {
      return Reject(400);
    }
    if (ec) return Close();

    state_ = State::kHandling;
    http::request<http::string_body> message = parser_->release();
    parser_.reset();
    keep_alive_ = message.keep_alive();
    version_ = message.version();
    ServerRequest request;
    request.method = std::string(message.method_string());
    request.target = std::string(message.target());
    for (const auto& field : message) {
      request.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
    }
    request.body = std::move(message.body());
    host_.Handle(std::move(request),
                 ResponderImpl(host_.liveness(), std::weak_ptr<Session>(this->weak_from_this())));
  }

  void Reject(int status) {
    state_ = State::kHandling;
    keep_alive_ = false;
    Write(ServerResponse{.status = status,
                         .content_type = "text/plain",
                         .headers = {},
                         .body = std::string(http::obsolete_reason(http::int_to_status(status)))});
  }

  void Write(ServerResponse answer) {
    if (state_ != State::kHandling) return;
    if (answer.drop_connection) return Close();
    state_ = State::kWriting;
    const bool valid_status = answer.status >= 100 && answer.status <= 999;
    response_ = http::response<http::string_body>();
    response_.version(version_);
    response_.result(static_cast<unsigned>(valid_status ? answer.status : 500));
    if (!answer.content_type.empty()) {
      response_.set(http::field::content_type, answer.content_type);
    }
    for (auto& [name, value] : answer.headers) response_.insert(name, value);
    response_.body() = std::move(answer.body);
    response_.keep_alive(keep_alive_ && !stopping_);
    response_.prepare_payload();
    lowest().expires_after(ToChrono(options().read_timeout));
    http::async_write(stream_, response_,
                      [self = this->shared_from_this()](beast::error_code ec, size_t) {
                        if (ec || !self->response_.keep_alive()) return self->Close();
                        self->WaitForRequest();
                      });
  }

  void Close() {
    if (state_ == State::kClosing || state_ == State::kDone) return;
    state_ = State::kClosing;
    if constexpr (kTls) {
      if (handshake_done_ && lowest().socket().is_open()) {
        lowest().expires_after(ToChrono(kTlsCloseTimeout));
        stream_.async_shutdown(
            [self = this->shared_from_this()](beast::error_code) { self->Finish(); });
        return;
      }
    }
    Finish();
  }

  void Finish() {
    state_ = State::kDone;
    beast::error_code ignored;
    lowest().socket().shutdown(tcp::socket::shutdown_both, ignored);
    lowest().close();
    host_.Release(this);  // may drop the registry's reference: keep last
  }

  SessionHost& host_;
  Stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  http::response<http::string_body> response_;
  http::response<http::empty_body> continue_{http::status::continue_, 11};
  State state_ = State::kIdle;
  bool handshake_done_ = false;
  bool stopping_ = false;
  bool keep_alive_ = false;
  unsigned version_ = 11;
};

// Splits "host:port" or "[v6]:port".
absl::StatusOr<std::pair<std::string, std::string>> SplitListen(absl::string_view listen) {
  absl::string_view host;
  absl::string_view rest;
  if (absl::StartsWith(listen, "[")) {
    const size_t close = listen.find(']');
    if (close == absl::string_view::npos) {
      return absl::InvalidArgumentError(absl::StrCat("bad listen address: ", listen));
    }
    host = listen.substr(1, close - 1);
    rest = listen.substr(close + 1);
  } else {
    const size_t colon = listen.rfind(':');
    if (colon == absl::string_view::npos) {
      return absl::InvalidArgumentError(absl::StrCat("listen address needs a port: ", listen));
    }
    host = listen.substr(0, colon);
    rest = listen.substr(colon);
  }
  int port = 0;
  if (!absl::ConsumePrefix(&rest, ":") || !absl::SimpleAtoi(rest, &port) || port < 0 ||
      port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat("bad listen port: ", listen));
  }
  return std::make_pair(std::string(host), std::string(rest));
}

}  // namespace

class HttpServer::Impl final : public SessionHost {
 public:
  Impl(HttpServerOptions options, RequestHandler handler)
      : options_(std::move(options)),
        handler_(std::move(handler)),
        ioc_(options_.threads),
        acceptor_(asio::make_strand(ioc_)),
        accept_retry_(acceptor_.get_executor()) {}

  absl::Status Listen() {
    if (options_.threads < 1 || options_.max_connections < 1) {
      return absl::InvalidArgumentError("threads and max_connections must be positive");
    }
    if (absl::Status status = SetUpTls(); !status.ok()) return status;
    absl::StatusOr<std::pair<std::string, std::string>> host_port = SplitListen(options_.listen);
    if (!host_port.ok()) return host_port.status();

    beast::error_code ec;
    tcp::resolver resolver(ioc_);
    const tcp::resolver::results_type endpoints = resolver.resolve(
        host_port->first, host_port->second,
        tcp::resolver::passive | tcp::resolver::numeric_service, ec);
    if (ec || endpoints.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("cannot resolve listen address ", options_.listen, ": ", ec.message()));
    }
    const tcp::endpoint endpoint = endpoints.begin()->endpoint();
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(endpoint, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
      return absl::UnavailableError(
          absl::StrCat("cannot listen on ", options_.listen, ": ", ec.message()));
    }
    port_ = acceptor_.local_endpoint(ec).port();
    if (ec) return absl::UnavailableError(absl::StrCat("listen socket: ", ec.message()));
    return absl::OkStatus();
  }

  void StartThreads() {
    Accept();
    for (int i = 0; i < options_.threads; ++i) {
      threads_.emplace_back([this] { ioc_.run(); });
    }
  }

  int port() const { return port_; }

  void Shutdown() {
    absl::call_once(shutdown_once_, [this] {
      std::vector<std::shared_ptr<Session>> live;
      {
        absl::MutexLock lock(&mu_);
        accepting_ = false;
        for (const auto& [unused, session] : sessions_) live.push_back(session);
      }
      asio::post(acceptor_.get_executor(), [this] {
        beast::error_code ignored;
        acceptor_.close(ignored);
        accept_retry_.cancel();
      });
      for (const auto& session : live) session->Stop();
      live.clear();
      {
        absl::MutexLock lock(&mu_);
        const auto drained = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return sessions_.empty(); };
        mu_.AwaitWithTimeout(absl::Condition(&drained), kShutdownGrace);
      }
      {
        absl::MutexLock lock(&liveness_->mu);
        liveness_->stopped = true;
      }
      work_.reset();
      ioc_.stop();
      for (std::thread& thread : threads_) thread.join();
      threads_.clear();
      std::unordered_map<Session*, std::shared_ptr<Session>> stragglers;
      {
        absl::MutexLock lock(&mu_);
        stragglers.swap(sessions_);
      }
    });
  }

  // SessionHost:
  const HttpServerOptions& options() const override { return options_; }
  void Handle(ServerRequest request, Responder responder) override {
    handler_(std::move(request), std::move(responder));
  }
  std::shared_ptr<Liveness> liveness() const override { return liveness_; }
  void Release(Session* session) override {
    std::shared_ptr<Session> released;  // destroyed after the lock is dropped
    absl::MutexLock lock(&mu_);
    if (auto it = sessions_.find(session); it != sessions_.end()) {
      released = std::move(it->second);
      sessions_.erase(it);
    }
  }

 private:
  absl::Status SetUpTls() {
    if (options_.tls_cert_file.empty() && options_.tls_key_file.empty()) return absl::OkStatus();
    if (options_.tls_cert_file.empty() || options_.tls_key_file.empty()) {
      return absl::InvalidArgumentError("HTTPS needs both tls_cert_file and tls_key_file");
    }
    tls_.emplace(ssl::context::tls_server);
    beast::error_code ec;
    tls_->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                          ssl::context::no_sslv3 | ssl::context::no_tlsv1 |
                          ssl::context::no_tlsv1_1,
                      ec);
    if (!ec) tls_->use_certificate_chain_file(options_.tls_cert_file, ec);
    if (!ec) tls_->use_private_key_file(options_.tls_key_file, ssl::context::pem, ec);
    if (ec) {
      return absl::InvalidArgumentError(absl::StrCat("TLS setup (", options_.tls_cert_file, ", ",
                                                     options_.tls_key_file, "): ", ec.message()));
    }
    return absl::OkStatus();
  }

  void Accept() {
    acceptor_.async_accept(asio::make_strand(ioc_),
                           [this](beast::error_code ec, tcp::socket socket) {
                             OnAccept(ec, std::move(socket));
                           });
  }

  void OnAccept(beast::error_code ec, tcp::socket socket) {
    if (!acceptor_.is_open()) return;
    if (ec) {
      accept_retry_.expires_after(ToChrono(kAcceptRetryDelay));
      accept_retry_.async_wait([this](beast::error_code wait_ec) {
        if (!wait_ec) Accept();
      });
      return;
    }
    std::shared_ptr<Session> session;
    {
      absl::MutexLock lock(&mu_);
      if (accepting_ && sessions_.size() < options_.max_connections) {
        if (tls_.has_value()) {
          session = std::make_shared<HttpSession<true>>(*this, std::move(socket), *tls_);
        } else {
          session = std::make_shared<HttpSession<false>>(*this, std::move(socket));
        }
        sessions_.emplace(session.get(), session);
      }
    }
    if (session != nullptr) {
      session->Run();
    } else {
      beast::error_code ignored;
      socket.close(ignored);
    }
    Accept();
  }

  const HttpServerOptions options_;
  const RequestHandler handler_;
  const std::shared_ptr<Liveness> liveness_ = std::make_shared<Liveness>();
  std::optional<ssl::context> tls_;  // declared before ioc_: streams use it until the end
  asio::io_context ioc_;
  tcp::acceptor acceptor_;  // with accept_retry_, used only on the acceptor's strand
  asio::steady_timer accept_retry_;
  asio::executor_work_guard<asio::io_context::executor_type> work_ = asio::make_work_guard(ioc_);
  std::vector<std::thread> threads_;
  int port_ = 0;
  absl::once_flag shutdown_once_;

  absl::Mutex mu_;
  bool accepting_ ABSL_GUARDED_BY(mu_) = true;
  // Owns every open connection, so a session waiting for its handler stays
  // alive while Responders hold only weak references.
  std::unordered_map<Session*, std::shared_ptr<Session>> sessions_ ABSL_GUARDED_BY(mu_);
};

std::string_view ServerRequest::Header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (absl::EqualsIgnoreCase(key, absl::string_view(name.data(), name.size()))) return value;
  }
  return {};
}

absl::StatusOr<std::unique_ptr<HttpServer>> HttpServer::Start(HttpServerOptions options,
                                                               RequestHandler handler) {
  auto impl = std::make_unique<Impl>(std::move(options), std::move(handler));
  if (absl::Status status = impl->Listen(); !status.ok()) return status;
  impl->StartThreads();
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
}

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

HttpServer::~HttpServer() { Shutdown(); }

int HttpServer::port() const { return impl_->port(); }

void HttpServer::Shutdown() { impl_->Shutdown(); }

}  // namespace halopsa::net

#ifndef HALOPSA_ADAPTERS_NET_HTTP_SESSION_H_
#define HALOPSA_ADAPTERS_NET_HTTP_SESSION_H_

// One connection of HttpServer (internal to http_server.cc; a header only
// to keep that file short).

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
#include "absl/strings/ascii.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"

namespace halopsa::net::internal {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

inline constexpr size_t kMaxHeaderBytes = 16 * 1024;
// Bytes asked for while waiting for the start of the next request.
inline constexpr size_t kFirstReadBytes = 4 * 1024;
// Bounds the TLS close_notify exchange when a connection ends.
inline constexpr absl::Duration kTlsCloseTimeout = absl::Seconds(1);
inline std::chrono::nanoseconds ToChrono(absl::Duration d) { return absl::ToChronoNanoseconds(d); }

// RFC 9112 6.1: a server that does not understand a transfer coding answers
// 400 and closes. This server decodes only chunked, so anything else
// ("gzip", "xchunked", "chunked, identity", a repeated header) is refused
// instead of being read by Content-Length.
inline bool HasAcceptableTransferEncoding(const http::request_header<>& header) {
  const auto [first, last] = header.equal_range(http::field::transfer_encoding);
  if (first == last) return true;
  if (std::next(first) != last) return false;
  const absl::string_view value(first->value().data(), first->value().size());
  return absl::EqualsIgnoreCase(absl::StripAsciiWhitespace(value), "chunked");
}

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
  // A session waits for a request (true) or works on one (false).
  virtual void SetIdle(Session* session, bool idle) = 0;
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
  HttpSession(SessionHost& host, tcp::socket socket, std::string remote_address)
    requires(!kTls)
      : host_(host), stream_(std::move(socket)), remote_address_(std::move(remote_address)) {}
  HttpSession(SessionHost& host, tcp::socket socket, std::string remote_address, ssl::context& tls)
    requires(kTls)
      : host_(host), stream_(std::move(socket), tls), remote_address_(std::move(remote_address)) {}

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
    host_.SetIdle(this, true);
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
    host_.SetIdle(this, false);
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
    if (!ec && !HasAcceptableTransferEncoding(parser_->get())) return Reject(400);
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
    request.remote_address = remote_address_;
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
  const std::string remote_address_;
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

}  // namespace halopsa::net::internal

#endif  // HALOPSA_ADAPTERS_NET_HTTP_SESSION_H_

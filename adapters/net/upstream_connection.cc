#include "adapters/net/upstream_connection.h"

#include <boost/beast/core/error.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/asio/ssl/error.hpp>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "adapters/net/connection_pool.h"
#include "adapters/net/transport_security.h"

namespace halopsa::net::internal {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

// Response headers beyond this fail the request like an oversized body.
constexpr uint32_t kMaxResponseHeaderBytes = 64 << 10;

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

// How a peer closing a kept-alive connection surfaces on the next exchange.
bool IsPeerClose(const beast::error_code& ec) {
  return ec == http::error::end_of_stream || ec == asio::error::eof ||
         ec == asio::error::connection_reset || ec == asio::error::broken_pipe ||
         ec == ssl::error::stream_truncated;
}


}  // namespace

absl::Status Cancelled() { return absl::CancelledError("HTTP transport shut down"); }

absl::Status QueueTimeout(absl::string_view host_port) {
  return absl::DeadlineExceededError(
      absl::StrCat("waiting for a free connection to ", host_port, " timed out"));
}

UpstreamConnection::UpstreamConnection(ConnectionPool& pool, std::string pool_key, const Url& url)
    : pool_(pool),
      pool_key_(std::move(pool_key)),
      host_(url.host),
      service_(std::to_string(url.port)),
      host_port_(HostPort(url.host, url.port)),
      use_tls_(url.scheme == "https"),
      strand_(asio::make_strand(pool.io())),
      resolver_(strand_),
      resolve_timer_(strand_),
      idle_timer_(strand_) {}

void UpstreamConnection::Start(std::shared_ptr<UpstreamCall> call) {
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

void UpstreamConnection::Connect() {
  connect_expiry_ = StepExpiry(pool_.options().connect_timeout, call_->deadline);
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

bool UpstreamConnection::ClaimResolve(uint64_t attempt) {
  if (!resolving_ || attempt != resolve_attempt_) return false;
  resolving_ = false;
  return true;
}

void UpstreamConnection::OnResolved(const beast::error_code& ec,
                                    const tcp::resolver::results_type& results) {
  if (ec) {
    return Finish(
        absl::UnavailableError(absl::StrCat("resolve ", host_port_, " failed: ", ec.message())),
        false);
  }
  if (absl::Status refused = CheckDestination(results, host_, host_port_, pool_.options());
      !refused.ok()) {
    return Finish(std::move(refused), false);
  }
  // A fresh stream per connection: an SSL stream cannot be reused.
  buffer_.clear();
  if (use_tls_) {
    tls_ = std::make_unique<beast::ssl_stream<beast::tcp_stream>>(strand_, pool_.tls());
  } else {
    plain_ = std::make_unique<beast::tcp_stream>(strand_);
  }
  Tcp().expires_at(connect_expiry_);
  Tcp().async_connect(
      results, [self = shared_from_this()](const beast::error_code& ec, const tcp::endpoint&) {
        self->OnConnected(ec);
      });
}

void UpstreamConnection::OnConnected(const beast::error_code& ec) {
  if (cancelled_) return Finish(Cancelled(), false);
  if (ec) return Finish(StepError(ec, absl::StrCat("connect to ", host_port_)), false);
  counted_open_ = true;
  pool_.CountOpened();
  if (!tls_) return Write();

  if (absl::Status unusable = PrepareTlsStream(*tls_, host_, host_port_); !unusable.ok()) {
    return Finish(std::move(unusable), false);
  }
  tls_->async_handshake(
      ssl::stream_base::client,
      [self = shared_from_this()](const beast::error_code& ec) { self->OnHandshake(ec); });
}

void UpstreamConnection::OnHandshake(const beast::error_code& ec) {
  if (cancelled_) return Finish(Cancelled(), false);
  if (ec) {
    if (std::optional<absl::Status> untrusted = VerificationFailure(ec, *tls_, host_)) {
      return Finish(*std::move(untrusted), false);
    }
    return Finish(StepError(ec, absl::StrCat("TLS handshake with ", host_port_)), false);
  }
  Write();
}

void UpstreamConnection::Write() {
  write_started_ = true;
  Tcp().expires_at(StepExpiry(pool_.options().io_timeout, call_->deadline));
  WithStream([this](auto& stream) {
    http::async_write(
        stream, call_->request,
        [self = shared_from_this()](const beast::error_code& ec, size_t) { self->OnWritten(ec); });
  });
}

void UpstreamConnection::OnWritten(const beast::error_code& ec) {
  if (cancelled_) return Finish(Cancelled(), false);
  // A kept-alive connection the server has since closed; nothing was answered.
  if (ec && reused_ && !retried_ && ec != beast::error::timeout) return Retry();
  if (ec) return Finish(StepError(ec, absl::StrCat("send request to ", host_port_)), false);
  Read();
}

void UpstreamConnection::Read() {
  parser_.emplace();
  parser_->header_limit(kMaxResponseHeaderBytes);
  parser_->body_limit(pool_.options().max_response_bytes);
  if (call_->request.method() == http::verb::head) parser_->skip(true);
  Tcp().expires_at(StepExpiry(pool_.options().io_timeout, call_->deadline));
  WithStream([this](auto& stream) {
    http::async_read_header(
        stream, buffer_, *parser_,
        [self = shared_from_this()](const beast::error_code& ec, size_t) { self->OnHeader(ec); });
  });
}

// Beast 1.74 drops the body_limit error for a Content-Length above the limit
// when it parses header and body in one go, so the header is checked first.
void UpstreamConnection::OnHeader(const beast::error_code& ec) {
  if (ec || cancelled_) return OnRead(ec);
  const auto length = parser_->content_length();
  if (length && *length > pool_.options().max_response_bytes) {
    return OnRead(http::error::body_limit);
  }
  if (parser_->is_done()) return OnRead(ec);
  WithStream([this](auto& stream) {
    http::async_read(
        stream, buffer_, *parser_,
        [self = shared_from_this()](const beast::error_code& ec, size_t) { self->OnRead(ec); });
  });
}

void UpstreamConnection::OnRead(const beast::error_code& ec) {
  if (cancelled_) return Finish(Cancelled(), false);
  if (ec == http::error::body_limit) {
    return Finish(
        absl::ResourceExhaustedError(absl::StrCat("response body from ", host_port_, " exceeds ",
                                                  pool_.options().max_response_bytes, " bytes")),
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

void UpstreamConnection::Retry() {
  retried_ = true;
  reused_ = false;
  Close();
  Connect();
}

void UpstreamConnection::Finish(absl::StatusOr<HttpResponse> result, bool keep) {
  std::shared_ptr<UpstreamCall> call = std::move(call_);
  if (!result.ok() && !write_started_) result = MarkNotSent(std::move(result).status());
  if (keep) {
    Tcp().expires_never();
  } else {
    Close();
  }
  Handoff handoff = pool_.Release(shared_from_this(), keep);
  if (handoff.next) {
    Assign(std::move(handoff.next));
  } else if (handoff.idle) {
    WatchIdle();
  }
  call->Complete(std::move(result));
}

void UpstreamConnection::WatchIdle() {
  idle_timer_.expires_at(SteadyAfter(pool_.options().idle_timeout));
  idle_timer_.async_wait([self = shared_from_this()](const beast::error_code& ec) {
    if (!ec && self->pool_.RemoveIfIdle(self)) self->Close();
  });
}

void UpstreamConnection::OnCancel() {
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

void UpstreamConnection::Close() {
  if (!HasStream()) return;
  // Counted first, so nobody who sees the peer notice the close finds it open.
  if (counted_open_) {
    counted_open_ = false;
    pool_.CountClosed();
  }
  beast::error_code ignored;
  Tcp().socket().shutdown(tcp::socket::shutdown_both, ignored);
  Tcp().close();
}

}  // namespace halopsa::net::internal

#ifndef HALOPSA_ADAPTERS_NET_UPSTREAM_CONNECTION_H_
#define HALOPSA_ADAPTERS_NET_UPSTREAM_CONNECTION_H_

#include <cstdint>
#include <list>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "adapters/net/http_transport.h"
#include "adapters/net/steady_time.h"
#include "adapters/net/url.h"

// One request's exchange on one pooled connection: resolve, connect, TLS
// handshake, write, read, each step under Beast's timeout (the step's own,
// or the request's deadline if sooner).
namespace halopsa::net::internal {

// One Send(): built in the caller's thread, then owned by a queue or a
// connection until `done` runs.
struct UpstreamCall {
  std::string pool_key;
  std::string host_port;  // for messages
  boost::beast::http::request<boost::beast::http::string_body> request;
  bool idempotent = false;  // may be written twice
  absl::Time deadline;
  HttpTransport::Callback done;
  // While waiting for a connection; guarded by ConnectionPool's mutex.
  bool queued = false;
  std::list<std::shared_ptr<UpstreamCall>>::iterator queue_pos;
  std::optional<boost::asio::steady_timer> queue_timer;

  void Complete(absl::StatusOr<HttpResponse> result) {
    HttpTransport::Callback callback = std::move(done);
    callback(std::move(result));
  }
};

absl::Status Cancelled();
absl::Status QueueTimeout(absl::string_view host_port);

class ConnectionPool;

// One pool slot: at most one upstream connection at a time, one call at a
// time. Everything after construction runs on `strand_`.
class UpstreamConnection : public std::enable_shared_from_this<UpstreamConnection> {
 public:
  UpstreamConnection(ConnectionPool& pool, std::string pool_key, const Url& url);

  const std::string& pool_key() const { return pool_key_; }

  // Callable from any thread.
  void Assign(std::shared_ptr<UpstreamCall> call) {
    boost::asio::post(strand_, [self = shared_from_this(), call = std::move(call)]() mutable {
      self->Start(std::move(call));
    });
  }
  void Cancel() {
    boost::asio::post(strand_, [self = shared_from_this()] { self->OnCancel(); });
  }

 private:
  using ErrorCode = boost::beast::error_code;

  void Start(std::shared_ptr<UpstreamCall> call);
  void Connect();
  bool ClaimResolve(uint64_t attempt);
  void OnResolved(const ErrorCode& ec, const boost::asio::ip::tcp::resolver::results_type& results);
  void OnConnected(const ErrorCode& ec);
  void OnHandshake(const ErrorCode& ec);
  void Write();
  void OnWritten(const ErrorCode& ec);
  void Read();
  void OnHeader(const ErrorCode& ec);
  void OnRead(const ErrorCode& ec);
  void Retry();
  void Finish(absl::StatusOr<HttpResponse> result, bool keep);
  void WatchIdle();
  void OnCancel();
  void Close();

  bool HasStream() const { return plain_ != nullptr || tls_ != nullptr; }
  bool IsOpen() { return HasStream() && Tcp().socket().is_open(); }
  boost::beast::tcp_stream& Tcp() { return tls_ ? boost::beast::get_lowest_layer(*tls_) : *plain_; }
  template <typename F>
  void WithStream(F&& f) {
    if (tls_) {
      f(*tls_);
    } else {
      f(*plain_);
    }
  }

  ConnectionPool& pool_;
  const std::string pool_key_;
  const std::string host_;
  const std::string service_;
  const std::string host_port_;
  const bool use_tls_;
  boost::asio::strand<boost::asio::io_context::executor_type> strand_;
  boost::asio::ip::tcp::resolver resolver_;
  boost::asio::steady_timer resolve_timer_;  // the resolver has no timeout of its own
  boost::asio::steady_timer idle_timer_;
  std::unique_ptr<boost::beast::tcp_stream> plain_;
  std::unique_ptr<boost::beast::ssl_stream<boost::beast::tcp_stream>> tls_;
  boost::beast::flat_buffer buffer_;
  std::optional<boost::beast::http::response_parser<boost::beast::http::string_body>> parser_;
  std::shared_ptr<UpstreamCall> call_;
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

}  // namespace halopsa::net::internal

#endif  // HALOPSA_ADAPTERS_NET_UPSTREAM_CONNECTION_H_

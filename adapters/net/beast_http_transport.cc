#include "adapters/net/beast_http_transport.h"

#include <algorithm>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/verb.hpp>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "adapters/net/connection_pool.h"
#include "adapters/net/transport_security.h"
#include "adapters/net/upstream_connection.h"
#include "adapters/net/url.h"

// The transport facade: checks and frames each request, then hands it to
// the connection pool (connection_pool.h), whose connections run the
// exchange (upstream_connection.h) under the checks of transport_security.h.
namespace halopsa::net {
namespace {

namespace asio = boost::asio;
namespace http = boost::beast::http;
namespace ssl = asio::ssl;
using internal::ConnectionPool;
using internal::UpstreamCall;

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

}  // namespace

class BeastHttpTransport::Impl {
 public:
  explicit Impl(BeastTransportOptions options)
      : options_(std::move(options)),
        io_(options_.threads),
        tls_(ssl::context::tls_client),
        work_(asio::make_work_guard(io_)),
        pool_(options_, io_, tls_) {}

  ~Impl() { Shutdown(); }

  absl::Status Init();
  void Send(HttpRequest request, absl::Time deadline, HttpTransport::Callback done);

  asio::io_context& io() { return io_; }
  const ConnectionPool& pool() const { return pool_; }

 private:
  absl::StatusOr<Url> Prepare(HttpRequest& request, UpstreamCall& call) const;
  void Shutdown();

  const BeastTransportOptions options_;
  asio::io_context io_;
  ssl::context tls_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_;
  std::vector<std::thread> threads_;
  ConnectionPool pool_;
};

absl::Status BeastHttpTransport::Impl::Init() {
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
  if (absl::Status tls = internal::ConfigureTlsClient(tls_, options_.extra_ca_file); !tls.ok()) {
    return tls;
  }

  for (int i = 0; i < options_.threads; ++i) {
    threads_.emplace_back([this] { io_.run(); });
  }
  return absl::OkStatus();
}

absl::StatusOr<Url> BeastHttpTransport::Impl::Prepare(HttpRequest& request, UpstreamCall& call) const {
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

void BeastHttpTransport::Impl::Send(HttpRequest request, absl::Time deadline, HttpTransport::Callback done) {
  auto call = std::make_shared<UpstreamCall>();
  call->deadline = deadline;
  call->done = std::move(done);
  absl::StatusOr<Url> url = Prepare(request, *call);
  if (!url.ok()) return pool_.CompleteLater(std::move(call), url.status());
  if (deadline <= absl::Now()) {
    absl::Status late = absl::DeadlineExceededError(
        absl::StrCat("deadline passed before the request to ", call->host_port, " was sent"));
    return pool_.CompleteLater(std::move(call), std::move(late));
  }
  pool_.Dispatch(std::move(call), *url);
}

void BeastHttpTransport::Impl::Shutdown() {
  pool_.Shutdown();
  // The io threads return once every cancelled operation has completed.
  work_.reset();
  for (auto& thread : threads_) {
    if (thread.joinable()) thread.join();
  }
}

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

size_t BeastHttpTransport::open_connections() const { return impl_->pool().open_connections(); }

size_t BeastHttpTransport::connections_opened() const { return impl_->pool().connections_opened(); }

}  // namespace halopsa::net

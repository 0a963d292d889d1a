#include "adapters/net/http_server.h"

#include <memory>
#include <optional>
#include <string>
#include <thread>
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
#include "absl/synchronization/notification.h"
#include "adapters/net/connection_slots.h"
#include "adapters/net/http_session.h"

namespace halopsa::net {
namespace {

using internal::asio::ip::tcp;
namespace asio = internal::asio;
namespace beast = internal::beast;
namespace ssl = internal::ssl;
using internal::HttpSession;
using internal::Liveness;
using internal::ResponderImpl;
using internal::Session;
using internal::SessionHost;
using internal::ToChrono;

// Pause before accepting again after an accept error (e.g. out of fds).
constexpr absl::Duration kAcceptRetryDelay = absl::Milliseconds(100);

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
    if (options_.threads < 1 || options_.max_connections < 1 || options_.max_connections_per_source < 1) {
      return absl::InvalidArgumentError("threads, max_connections and max_connections_per_source must be positive");
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

  size_t open_connections() {
    absl::MutexLock lock(&mu_);
    return sessions_.size();
  }

  void StopAccepting() {
    absl::call_once(stop_accepting_once_, [this] {
      std::vector<std::shared_ptr<Session>> live;
      {
        absl::MutexLock lock(&mu_);
        accepting_ = false;
        for (const auto& [unused, session] : sessions_) live.push_back(session);
      }
      // The listening socket is closed when this returns, so a connection
      // attempt after it is refused rather than left in the backlog. The
      // acceptor belongs to its strand; the bounded wait keeps a call from
      // a handler of a one-thread server from hanging.
      absl::Notification closed;
      asio::dispatch(acceptor_.get_executor(), [this, &closed] {
        beast::error_code ignored;
        acceptor_.close(ignored);
        accept_retry_.cancel();
        closed.Notify();
      });
      closed.WaitForNotificationWithTimeout(absl::Seconds(1));
      for (const auto& session : live) session->Stop();
    });
  }

  bool WaitUntilClosed(absl::Time deadline) {
    absl::MutexLock lock(&mu_);
    const auto drained = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return sessions_.empty(); };
    return mu_.AwaitWithDeadline(absl::Condition(&drained), deadline);
  }

  void Shutdown(absl::Time deadline) {
    absl::call_once(shutdown_once_, [this, deadline] {
      StopAccepting();
      WaitUntilClosed(deadline);
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
  void SetIdle(Session* session, bool idle) override {
    absl::MutexLock lock(&mu_);
    slots_.SetIdle(session, idle);
  }
  void Release(Session* session) override {
    std::shared_ptr<Session> released;  // destroyed after the lock is dropped
    absl::MutexLock lock(&mu_);
    slots_.Release(session);
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

  std::shared_ptr<Session> NewSession(tcp::socket socket, std::string source) {
    if (tls_.has_value()) {
      return std::make_shared<HttpSession<true>>(*this, std::move(socket), std::move(source), *tls_);
    }
    return std::make_shared<HttpSession<false>>(*this, std::move(socket), std::move(source));
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
    beast::error_code peer_ec;
    const tcp::endpoint peer = socket.remote_endpoint(peer_ec);
    std::string source = peer_ec ? std::string() : peer.address().to_string();
    std::shared_ptr<Session> session = NewSession(std::move(socket), source);
    std::shared_ptr<Session> shed;
    bool admitted = false;
    {
      absl::MutexLock lock(&mu_);
      if (accepting_) {
        const ConnectionSlots::Admission admission = slots_.Admit(session.get(), source);
        admitted = admission.admitted;
        if (admission.shed != nullptr) shed = sessions_.at(static_cast<Session*>(const_cast<void*>(admission.shed)));
        if (admitted) sessions_.emplace(session.get(), session);
      }
    }
    if (shed != nullptr) shed->Stop();
    if (admitted) session->Run();
    // Not admitted: the session is dropped unstarted, which closes its socket.
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
  absl::once_flag stop_accepting_once_;
  absl::once_flag shutdown_once_;

  absl::Mutex mu_;
  bool accepting_ ABSL_GUARDED_BY(mu_) = true;
  ConnectionSlots slots_ ABSL_GUARDED_BY(mu_){options_.max_connections, options_.max_connections_per_source};
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
  const absl::Duration grace = impl->options().shutdown_grace;
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl), grace));
}

HttpServer::HttpServer(std::unique_ptr<Impl> impl, absl::Duration shutdown_grace)
    : impl_(std::move(impl)), shutdown_grace_(shutdown_grace) {}

HttpServer::~HttpServer() { Shutdown(); }

int HttpServer::port() const { return impl_->port(); }

size_t HttpServer::open_connections() const { return impl_->open_connections(); }

void HttpServer::StopAccepting() { impl_->StopAccepting(); }

bool HttpServer::WaitUntilClosed(absl::Time deadline) { return impl_->WaitUntilClosed(deadline); }

void HttpServer::Shutdown(absl::Time deadline) { impl_->Shutdown(deadline); }

}  // namespace halopsa::net

#ifndef HALOPSA_ADAPTERS_NET_HTTP_SERVER_H_
#define HALOPSA_ADAPTERS_NET_HTTP_SERVER_H_

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "adapters/net/http_transport.h"

namespace halopsa::net {

struct ServerRequest {
  std::string method;  // "GET", "POST", ...
  std::string target;  // path + query as received, e.g. "/api/Tickets?page_no=1"
  HeaderList headers;
  std::string body;  // exact received bytes
  std::string remote_address;  // the peer's IP address, e.g. "10.0.0.7"

  // First header with this name (case-insensitive), "" if absent.
  std::string_view Header(std::string_view name) const;
};

struct ServerResponse {
  int status = 200;
  std::string content_type = "application/json";  // empty: no Content-Type header
  HeaderList headers;
  std::string body;
  // Exists for fault injection (the HaloPSA simulator's dropped connections):
  // close the connection without writing anything; the fields above are
  // ignored.
  bool drop_connection = false;
};

// Call exactly once, from any thread, possibly after the handler returned.
// Dropping it uncalled answers 500; calling it after Shutdown() is a no-op.
using Responder = absl::AnyInvocable<void(ServerResponse)>;
// Runs on a server thread; concurrently with itself when threads > 1.
using RequestHandler = std::function<void(ServerRequest, Responder)>;

struct HttpServerOptions {
  std::string listen = "127.0.0.1:0";  // "host:port", "[::]:port"; port 0 = any free port
  std::string tls_cert_file;           // PEM chain; both set = HTTPS, neither = HTTP
  std::string tls_key_file;            // PEM
  size_t max_body_bytes = 1 << 20;     // larger bodies get 413 without reaching the handler
  // Bounds reading one request (headers and body) once its first byte has
  // arrived; also bounds the TLS handshake and writing one response.
  absl::Duration read_timeout = absl::Seconds(30);
  // How long a connection may wait for the first byte of a request, its
  // first or the next. Servers facing untrusted clients keep it short, so
  // idle connections cannot hold slots.
  absl::Duration idle_timeout = absl::Seconds(60);
  int threads = 1;
  // Open connections at most. When full, the connection idle the longest is
  // closed to make room for a new one; with none idle, the new one is
  // accepted and closed at once.
  size_t max_connections = 1024;
  // Open connections from one peer address at most; more are closed at once.
  size_t max_connections_per_source = 1024;
  // What the destructor's Shutdown() gives responses in flight.
  absl::Duration shutdown_grace = absl::Seconds(5);
};

// Asynchronous HTTP/1.1 (optionally TLS) server: keep-alive, one request at a
// time per connection, malformed requests answered 400 and closed.
class HttpServer {
 public:
  static absl::StatusOr<std::unique_ptr<HttpServer>> Start(HttpServerOptions options,
                                                           RequestHandler handler);

  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;
  ~HttpServer();  // Shutdown()

  int port() const;
  size_t open_connections() const;  // right now

  // Closes the listening socket (new connections are refused) and the
  // connections waiting for a request; requests in flight are still
  // answered, each connection closing after its answer. Idempotent.
  void StopAccepting();

  // True once every connection has closed; false when `deadline` came first.
  bool WaitUntilClosed(absl::Time deadline);

  // StopAccepting(), waits until `deadline` at most for answers in flight,
  // then closes everything and joins the threads; Responders called later
  // do nothing. Idempotent.
  void Shutdown(absl::Time deadline);
  void Shutdown() { Shutdown(absl::Now() + shutdown_grace_); }

 private:
  class Impl;

  HttpServer(std::unique_ptr<Impl> impl, absl::Duration shutdown_grace);

  std::unique_ptr<Impl> impl_;
  const absl::Duration shutdown_grace_;
};

}  // namespace halopsa::net

#endif  // HALOPSA_ADAPTERS_NET_HTTP_SERVER_H_

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
  // How long a connection may wait for the first byte of its next request.
  absl::Duration idle_timeout = absl::Seconds(60);
  int threads = 1;
  size_t max_connections = 1024;  // connections beyond are accepted and closed at once
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

  // Stops accepting, closes idle connections, waits a few seconds at most for
  // responses in flight, then joins the threads. Idempotent.
  void Shutdown();

 private:
  class Impl;

  explicit HttpServer(std::unique_ptr<Impl> impl);

  std::unique_ptr<Impl> impl_;
};

}  // namespace halopsa::net

#endif  // HALOPSA_ADAPTERS_NET_HTTP_SERVER_H_

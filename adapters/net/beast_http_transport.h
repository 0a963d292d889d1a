#ifndef HALOPSA_ADAPTERS_NET_BEAST_HTTP_TRANSPORT_H_
#define HALOPSA_ADAPTERS_NET_BEAST_HTTP_TRANSPORT_H_

#include <cstddef>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "adapters/net/http_transport.h"
#include "adapters/net/url.h"

namespace boost::asio {
class io_context;
}  // namespace boost::asio

namespace halopsa::net {

struct BeastTransportOptions {
  int threads = 2;  // io threads
  // PEM bundle trusted in addition to the system roots.
  std::string extra_ca_file;
  // Plain http:// URLs are refused (INVALID_ARGUMENT) unless true.
  bool allow_insecure_http = false;
  // Destinations resolving to loopback, private, link-local or unspecified
  // addresses (see IsPrivateAddress) are refused with PERMISSION_DENIED unless
  // true. The resolved addresses are checked, not the name.
  bool allow_private_addresses = false;
  // Scoped instead: these hosts, and addresses in these ranges, may be
  // private (HALOPSA_ALLOWED_UPSTREAMS).
  UpstreamAllowance allowed_upstreams;
  // The pool never opens more than this per scheme+host+port.
  size_t max_connections_per_host = 16;
  // Requests waiting for a connection; beyond this, RESOURCE_EXHAUSTED.
  size_t max_queued_requests_per_host = 1024;
  absl::Duration connect_timeout = absl::Seconds(5);  // resolve + connect + TLS handshake
  absl::Duration io_timeout = absl::Seconds(30);      // each write and each response read
  // Pooled idle connections older than this are closed, not reused.
  absl::Duration idle_timeout = absl::Seconds(30);
  // Larger responses fail with RESOURCE_EXHAUSTED.
  size_t max_response_bytes = 8 << 20;
  std::string user_agent = "ext-halopsa/1.0";
};

// HttpTransport over Boost.Beast with a connection pool per scheme+host+port.
// Thread-safe. Must not be destroyed from inside one of its callbacks.
class BeastHttpTransport final : public HttpTransport {
 public:
  // Fails with INVALID_ARGUMENT for unusable options (non-positive limits or
  // timeouts) or an extra_ca_file that cannot be loaded.
  static absl::StatusOr<std::unique_ptr<BeastHttpTransport>> Create(BeastTransportOptions options);

  // Cancels everything; every pending callback still runs exactly once
  // (CANCELLED unless its response was already complete); joins the threads.
  ~BeastHttpTransport() override;

  BeastHttpTransport(const BeastHttpTransport&) = delete;
  BeastHttpTransport& operator=(const BeastHttpTransport&) = delete;

  void Send(HttpRequest request, absl::Time deadline, Callback done) override;

  // The event loop the transport's threads run: other clients of the
  // service's own (Redis) run on it too. Valid while the transport lives;
  // their work must end before it is destroyed.
  boost::asio::io_context& io_context();

  size_t open_connections() const;    // upstream connections open right now
  size_t connections_opened() const;  // upstream connections ever opened

 private:
  class Impl;
  explicit BeastHttpTransport(std::unique_ptr<Impl> impl);

  std::unique_ptr<Impl> impl_;
};

}  // namespace halopsa::net

#endif  // HALOPSA_ADAPTERS_NET_BEAST_HTTP_TRANSPORT_H_

#ifndef HALOPSA_ADAPTERS_NET_TRANSPORT_SECURITY_H_
#define HALOPSA_ADAPTERS_NET_TRANSPORT_SECURITY_H_

#include <optional>
#include <string>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include "absl/status/status.h"
#include "adapters/net/beast_http_transport.h"

// What the transport checks before it talks to an upstream: TLS 1.2+ with
// verified certificates and host names, and no private destinations unless
// allowed.
namespace halopsa::net::internal {

using TlsStream = boost::beast::ssl_stream<boost::beast::tcp_stream>;

// Requires TLS 1.2 or later and verifies peers against the system roots
// plus `extra_ca_file` (INVALID_ARGUMENT if it cannot be loaded).
absl::Status ConfigureTlsClient(boost::asio::ssl::context& tls, const std::string& extra_ca_file);

// The address guard: PERMISSION_DENIED when `host` resolved to a loopback,
// private or link-local address that `options` do not allow. The resolved
// addresses are checked, not the name.
absl::Status CheckDestination(const boost::asio::ip::tcp::resolver::results_type& resolved,
                              const std::string& host, const std::string& host_port,
                              const BeastTransportOptions& options);

// Sets the server name (SNI, names only) and checks the certificate is for
// `host`, before the handshake on a fresh `stream`.
absl::Status PrepareTlsStream(TlsStream& stream, const std::string& host, const std::string& host_port);

// FAILED_PRECONDITION naming the reason when the handshake failed because
// the certificate was not trusted or not for `host`; nothing for other
// failures.
std::optional<absl::Status> VerificationFailure(const boost::beast::error_code& ec, TlsStream& stream,
                                                const std::string& host);

}  // namespace halopsa::net::internal

#endif  // HALOPSA_ADAPTERS_NET_TRANSPORT_SECURITY_H_

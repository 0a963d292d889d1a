#include "adapters/net/transport_security.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/ssl/verify_context.hpp>

#include "absl/strings/str_cat.h"
#include "adapters/net/url.h"

namespace halopsa::net::internal {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace ssl = asio::ssl;

absl::Status ConfigureTlsClient(ssl::context& tls, const std::string& extra_ca_file) {
  if (SSL_CTX_set_min_proto_version(tls.native_handle(), TLS1_2_VERSION) != 1) {
    return absl::InternalError("cannot require TLS 1.2 or later");
  }
  beast::error_code ec;
  tls.set_default_verify_paths(ec);
  if (ec) {
    return absl::InternalError(absl::StrCat("cannot load the system CA store: ", ec.message()));
  }
  if (!extra_ca_file.empty()) {
    tls.load_verify_file(extra_ca_file, ec);
    if (ec) {
      return absl::InvalidArgumentError(
          absl::StrCat("cannot load CA file ", extra_ca_file, ": ", ec.message()));
    }
  }
  tls.set_verify_mode(ssl::verify_peer, ec);
  if (ec) {
    return absl::InternalError(absl::StrCat("cannot enable peer verification: ", ec.message()));
  }
  return absl::OkStatus();
}

absl::Status CheckDestination(const asio::ip::tcp::resolver::results_type& resolved,
                              const std::string& host, const std::string& host_port,
                              const BeastTransportOptions& options) {
  if (options.allow_private_addresses || options.allowed_upstreams.AllowsHost(host)) {
    return absl::OkStatus();
  }
  for (const auto& entry : resolved) {
    const std::string address = entry.endpoint().address().to_string();
    if (IsPrivateAddress(address) && !options.allowed_upstreams.AllowsAddress(address)) {
      return absl::PermissionDeniedError(
          absl::StrCat(host_port, " resolves to a loopback, private or link-local address"));
    }
  }
  return absl::OkStatus();
}

absl::Status PrepareTlsStream(TlsStream& stream, const std::string& host, const std::string& host_port) {
  beast::error_code not_ip;
  asio::ip::make_address(host, not_ip);
  // SNI carries names only, never IP literals (RFC 6066).
  if (not_ip && SSL_set_tlsext_host_name(stream.native_handle(), host.c_str()) != 1) {
    return absl::UnavailableError(
        absl::StrCat("TLS handshake with ", host_port, " failed: cannot set the server name"));
  }
  beast::error_code verify_ec;
  stream.set_verify_callback(
      [matches_host = ssl::host_name_verification(host)](bool preverified, ssl::verify_context& ctx) {
        if (matches_host(preverified, ctx)) return true;
        // The chain was fine, so the name is wrong: say so instead of
        // OpenSSL's "unspecified certificate verification error".
        if (preverified) {
          X509_STORE_CTX_set_error(ctx.native_handle(), X509_V_ERR_HOSTNAME_MISMATCH);
        }
        return false;
      },
      verify_ec);
  if (verify_ec) {
    return absl::UnavailableError(
        absl::StrCat("TLS setup for ", host_port, " failed: ", verify_ec.message()));
  }
  return absl::OkStatus();
}

std::optional<absl::Status> VerificationFailure(const beast::error_code& ec, TlsStream& stream,
                                                const std::string& host) {
  const long verify_result = SSL_get_verify_result(stream.native_handle());
  const bool verify_failed =
      verify_result != X509_V_OK ||
      (ec.category() == asio::error::get_ssl_category() &&
       ERR_GET_REASON(static_cast<unsigned long>(ec.value())) == SSL_R_CERTIFICATE_VERIFY_FAILED);
  if (!verify_failed) return std::nullopt;
  return absl::FailedPreconditionError(absl::StrCat("TLS certificate verification failed for ",
                                                    host, ": ",
                                                    X509_verify_cert_error_string(verify_result)));
}

}  // namespace halopsa::net::internal

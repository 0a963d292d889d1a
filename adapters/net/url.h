#ifndef HALOPSA_ADAPTERS_NET_URL_H_
#define HALOPSA_ADAPTERS_NET_URL_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "adapters/net/http_transport.h"

namespace halopsa::net {

// An absolute http(s) URL split into what a client needs to connect.
struct Url {
  std::string scheme;  // "http" or "https", lower case
  std::string host;    // lower case; IPv6 literals without brackets
  uint16_t port = 0;   // explicit or the scheme default
  std::string target;  // path and query, "/" when the path is empty; no fragment
};

// Parses "http[s]://host[:port][/path][?query][#fragment]". Errors are
// INVALID_ARGUMENT and never quote the URL (it may carry credentials or
// tokens); URLs with userinfo ("user:pass@") are rejected.
absl::StatusOr<Url> ParseUrl(absl::string_view url);

// "host:port", with IPv6 literals in brackets: for Host headers and messages.
std::string HostPort(absl::string_view host, uint16_t port);

// Keeps RFC 3986 unreserved characters, encodes every other byte as %XX.
std::string PercentEncode(absl::string_view s);

// application/x-www-form-urlencoded body: "k=v&k2=v2", both sides encoded.
std::string FormEncode(const HeaderList& fields);

// Appends `params` (form-encoded) to the query of a URL or request target,
// before any fragment; returns the input unchanged when `params` is empty.
std::string AppendQuery(absl::string_view url_or_target, const HeaderList& params);

// True for addresses a server-side client must not be steered to: loopback,
// private (10/8, 172.16/12, 192.168/16, 100.64/10, fc00::/7), link-local
// (169.254/16, fe80::/10), unspecified / "this network" (0/8, ::), and the
// IPv4-mapped IPv6 forms of these. Input that is not an IP literal counts as
// private, so a caller checking resolved addresses fails closed.
bool IsPrivateAddress(absl::string_view ip_literal);

}  // namespace halopsa::net

#endif  // HALOPSA_ADAPTERS_NET_URL_H_

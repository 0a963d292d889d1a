#ifndef HALOPSA_ADAPTERS_NET_URL_H_
#define HALOPSA_ADAPTERS_NET_URL_H_

#include <array>
#include <cstdint>
#include <string>
#include <vector>

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
// (169.254/16, fe80::/10), unspecified / "this network" (0/8, ::),
// multicast and reserved (224/3, ff00::/8), NAT64 local use
// (64:ff9b:1::/48) and Teredo (2001::/32, whose IPv4 is hidden). IPv6
// forms carrying an IPv4 address (::a.b.c.d, ::ffff:a.b.c.d,
// ::ffff:0:a.b.c.d, 64:ff9b::/96, 2002::/16) are judged by that IPv4
// address. Input that is not an IP literal counts as private, so a caller
// checking resolved addresses fails closed.
bool IsPrivateAddress(absl::string_view ip_literal);

// The operator's scoped exception to IsPrivateAddress
// (HALOPSA_ALLOWED_UPSTREAMS): host names, and address ranges in CIDR
// form, that may be private. Empty allows nothing.
class UpstreamAllowance {
 public:
  // `list`: comma-separated, e.g. "halo.corp.example, 10.20.0.0/16, fd00:1::/64".
  // INVALID_ARGUMENT names the entry that is neither.
  static absl::StatusOr<UpstreamAllowance> Parse(absl::string_view list);

  // `host` (lower case, as in Url) is listed by name.
  bool AllowsHost(absl::string_view host) const;
  // `ip_literal` (or the IPv4 address it carries) is inside a listed range.
  bool AllowsAddress(absl::string_view ip_literal) const;
  bool empty() const { return hosts_.empty() && ranges_.empty(); }

 private:
  struct Range {
    std::array<uint8_t, 16> prefix;  // IPv4 in the first 4 bytes
    int bits;
    bool v4;
  };
  std::vector<std::string> hosts_;
  std::vector<Range> ranges_;
};

}  // namespace halopsa::net

#endif  // HALOPSA_ADAPTERS_NET_URL_H_

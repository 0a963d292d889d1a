#include "adapters/net/url.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace halopsa::net {
namespace {

bool IsUnreserved(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_' ||
         c == '~';
}

// Registered names as DNS uses them; anything else (spaces, CR/LF,
// percent-encoding) would end up in the Host header, so it is refused.
bool IsHostNameChar(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_';
}

// Bytes that cannot appear raw in a request line.
bool IsForbiddenInTarget(char c) {
  const auto u = static_cast<unsigned char>(c);
  return u <= 0x20 || u == 0x7f;
}

absl::StatusOr<uint16_t> ParsePort(absl::string_view text, uint16_t default_port) {
  // RFC 3986 allows an empty port ("host:"), meaning the default.
  if (text.empty()) return default_port;
  uint32_t port = 0;
  if (text.size() > 5 || !std::all_of(text.begin(), text.end(), absl::ascii_isdigit) ||
      !absl::SimpleAtoi(text, &port) || port == 0 || port > 65535) {
    return absl::InvalidArgumentError("URL port must be a number from 1 to 65535");
  }
  return static_cast<uint16_t>(port);
}

bool IsPrivateV4(const uint8_t* a) {
  return a[0] == 0 ||                             // "this network", incl. 0.0.0.0
         a[0] == 10 ||                            // 10/8
         a[0] == 127 ||                           // loopback
         (a[0] == 100 && (a[1] & 0xc0) == 64) ||  // 100.64/10 carrier-grade NAT
         (a[0] == 169 && a[1] == 254) ||          // link-local, cloud metadata
         (a[0] == 172 && (a[1] & 0xf0) == 16) ||  // 172.16/12
         (a[0] == 192 && a[1] == 168);            // 192.168/16
}

}  // namespace

absl::StatusOr<Url> ParseUrl(absl::string_view url) {
  const size_t scheme_end = url.find("://");
  if (scheme_end == absl::string_view::npos) {
    return absl::InvalidArgumentError("URL must start with http:// or https://");
  }
  Url out;
  out.scheme = absl::AsciiStrToLower(url.substr(0, scheme_end));
  uint16_t default_port = 0;
  if (out.scheme == "https") {
    default_port = 443;
  } else if (out.scheme == "http") {
    default_port = 80;
  } else {
    return absl::InvalidArgumentError("URL scheme must be http or https");
  }

  absl::string_view rest = url.substr(scheme_end + 3);
  rest = rest.substr(0, rest.find('#'));  // fragments are never sent
  const size_t authority_end = rest.find_first_of("/?");
  const absl::string_view authority = rest.substr(0, authority_end);
  const absl::string_view target =
      authority_end == absl::string_view::npos ? absl::string_view() : rest.substr(authority_end);
  if (authority.find('@') != absl::string_view::npos) {
    return absl::InvalidArgumentError("URL must not contain user credentials");
  }

  absl::string_view host;
  absl::string_view port_text;
  if (!authority.empty() && authority.front() == '[') {
    const size_t close = authority.find(']');
    if (close == absl::string_view::npos) {
      return absl::InvalidArgumentError("URL has an unterminated IPv6 address");
    }
    host = authority.substr(1, close - 1);
    const absl::string_view after = authority.substr(close + 1);
    if (!after.empty() && after.front() != ':') {
      return absl::InvalidArgumentError("URL has unexpected characters after the IPv6 address");
    }
    if (!after.empty()) port_text = after.substr(1);
    in6_addr unused;
    if (inet_pton(AF_INET6, std::string(host).c_str(), &unused) != 1) {
      return absl::InvalidArgumentError("URL has an invalid IPv6 address");
    }
  } else {
    const size_t colon = authority.find(':');
    host = authority.substr(0, colon);
    if (colon != absl::string_view::npos) port_text = authority.substr(colon + 1);
    if (!std::all_of(host.begin(), host.end(), IsHostNameChar)) {
      return absl::InvalidArgumentError("URL host contains invalid characters");
    }
  }
  if (host.empty()) return absl::InvalidArgumentError("URL has no host");
  absl::StatusOr<uint16_t> port = ParsePort(port_text, default_port);
  if (!port.ok()) return port.status();

  if (std::any_of(target.begin(), target.end(), IsForbiddenInTarget)) {
    return absl::InvalidArgumentError("URL path or query contains spaces or control characters");
  }
  out.host = absl::AsciiStrToLower(host);
  out.port = *port;
  out.target =
      (target.empty() || target.front() == '?') ? absl::StrCat("/", target) : std::string(target);
  return out;
}

std::string HostPort(absl::string_view host, uint16_t port) {
  if (host.find(':') != absl::string_view::npos) return absl::StrCat("[", host, "]:", port);
  return absl::StrCat(host, ":", port);
}

std::string PercentEncode(absl::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (const char c : s) {
    if (IsUnreserved(c)) {
      out.push_back(c);
    } else {
      const auto u = static_cast<unsigned char>(c);
      out.push_back('%');
      out.push_back(kHex[u >> 4]);
      out.push_back(kHex[u & 0x0f]);
    }
  }
  return out;
}

std::string FormEncode(const HeaderList& fields) {
  std::string out;
  for (const auto& [key, value] : fields) {
    if (!out.empty()) out.push_back('&');
    absl::StrAppend(&out, PercentEncode(key), "=", PercentEncode(value));
  }
  return out;
}

std::string AppendQuery(absl::string_view url_or_target, const HeaderList& params) {
  if (params.empty()) return std::string(url_or_target);
  const size_t hash = url_or_target.find('#');
  const absl::string_view base = url_or_target.substr(0, hash);
  const absl::string_view fragment =
      hash == absl::string_view::npos ? absl::string_view() : url_or_target.substr(hash);
  absl::string_view separator = "?";
  if (base.find('?') != absl::string_view::npos) {
    separator = (base.back() == '?' || base.back() == '&') ? "" : "&";
  }
  return absl::StrCat(base, separator, FormEncode(params), fragment);
}

bool IsPrivateAddress(absl::string_view ip_literal) {
  // Resolved IPv6 link-local addresses carry a zone ("fe80::1%eth0").
  const std::string text(ip_literal.substr(0, ip_literal.find('%')));
  in_addr v4;
  if (inet_pton(AF_INET, text.c_str(), &v4) == 1) {
    return IsPrivateV4(reinterpret_cast<const uint8_t*>(&v4.s_addr));
  }
  in6_addr v6;
  if (inet_pton(AF_INET6, text.c_str(), &v6) != 1) return true;
  const uint8_t* b = v6.s6_addr;
  const bool first_ten_zero = std::all_of(b, b + 10, [](uint8_t x) { return x == 0; });
  if (first_ten_zero && b[10] == 0xff && b[11] == 0xff) {
    return IsPrivateV4(b + 12);  // ::ffff:a.b.c.d
  }
  const bool first_fifteen_zero = std::all_of(b, b + 15, [](uint8_t x) { return x == 0; });
  if (first_fifteen_zero && b[15] <= 1) return true;  // :: and ::1
  if ((b[0] & 0xfe) == 0xfc) return true;             // fc00::/7 unique local
  return b[0] == 0xfe && (b[1] & 0xc0) == 0x80;       // fe80::/10 link-local
}

}  // namespace halopsa::net

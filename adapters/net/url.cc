#include "adapters/net/url.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
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

absl::StatusOr<uint16_t> DefaultPort(absl::string_view scheme) {
  if (scheme == "https") return 443;
  if (scheme == "http") return 80;
  return absl::InvalidArgumentError("URL scheme must be http or https");
}

// Host (an IPv6 literal without its brackets) and port text of a URL's
// authority; credentials ("user:pass@") are refused.
absl::StatusOr<std::pair<absl::string_view, absl::string_view>> SplitAuthority(absl::string_view authority) {
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
  return std::make_pair(host, port_text);
}

bool IsPrivateV4(const uint8_t* a) {
  return a[0] == 0 ||                             // "this network", incl. 0.0.0.0
         a[0] == 10 ||                            // 10/8
         a[0] == 127 ||                           // loopback
         (a[0] == 100 && (a[1] & 0xc0) == 64) ||  // 100.64/10 carrier-grade NAT
         (a[0] == 169 && a[1] == 254) ||          // link-local, cloud metadata
         (a[0] == 172 && (a[1] & 0xf0) == 16) ||  // 172.16/12
         (a[0] == 192 && a[1] == 168) ||          // 192.168/16
         a[0] >= 224;                             // multicast, reserved, broadcast
}

bool AllZero(const uint8_t* begin, const uint8_t* end) {
  return std::all_of(begin, end, [](uint8_t x) { return x == 0; });
}

// Where an IPv6 address carries an IPv4 address that decides where packets
// go, that address's 4 bytes; nullptr otherwise.
const uint8_t* EmbeddedIpv4(const uint8_t* b) {
  if (AllZero(b, b + 10) && ((b[10] == 0xff && b[11] == 0xff) || (b[10] == 0 && b[11] == 0))) {
    return b + 12;  // ::ffff:a.b.c.d (mapped), ::a.b.c.d (compatible; also :: and ::1)
  }
  if (AllZero(b, b + 8) && b[8] == 0xff && b[9] == 0xff && b[10] == 0 && b[11] == 0) {
    return b + 12;  // ::ffff:0:a.b.c.d (SIIT translated)
  }
  if (b[0] == 0 && b[1] == 0x64 && b[2] == 0xff && b[3] == 0x9b && AllZero(b + 4, b + 12)) {
    return b + 12;  // 64:ff9b::/96, NAT64 well-known prefix
  }
  if (b[0] == 0x20 && b[1] == 0x02) return b + 2;  // 2002:a.b.c.d::/48, 6to4
  return nullptr;
}

// The 16 bytes of an IP literal (IPv4 in the first 4) and whether it is
// IPv4; nullopt when it is not one. A zone ("fe80::1%eth0") is ignored.
std::optional<std::pair<std::array<uint8_t, 16>, bool>> ParseIp(absl::string_view ip_literal) {
  const std::string text(ip_literal.substr(0, ip_literal.find('%')));
  std::array<uint8_t, 16> bytes{};
  if (inet_pton(AF_INET, text.c_str(), bytes.data()) == 1) return std::make_pair(bytes, true);
  if (inet_pton(AF_INET6, text.c_str(), bytes.data()) == 1) return std::make_pair(bytes, false);
  return std::nullopt;
}

bool InRange(const uint8_t* address, const std::array<uint8_t, 16>& prefix, int bits) {
  for (int i = 0; bits > 0; ++i, bits -= 8) {
    const uint8_t mask = bits >= 8 ? 0xff : static_cast<uint8_t>(0xff << (8 - bits));
    if ((address[i] & mask) != (prefix[i] & mask)) return false;
  }
  return true;
}

}  // namespace

absl::StatusOr<Url> ParseUrl(absl::string_view url) {
  const size_t scheme_end = url.find("://");
  if (scheme_end == absl::string_view::npos) {
    return absl::InvalidArgumentError("URL must start with http:// or https://");
  }
  Url out;
  out.scheme = absl::AsciiStrToLower(url.substr(0, scheme_end));
  absl::StatusOr<uint16_t> default_port = DefaultPort(out.scheme);
  if (!default_port.ok()) return default_port.status();

  absl::string_view rest = url.substr(scheme_end + 3);
  rest = rest.substr(0, rest.find('#'));  // fragments are never sent
  const size_t authority_end = rest.find_first_of("/?");
  const absl::string_view authority = rest.substr(0, authority_end);
  const absl::string_view target =
      authority_end == absl::string_view::npos ? absl::string_view() : rest.substr(authority_end);
  absl::StatusOr<std::pair<absl::string_view, absl::string_view>> host_and_port = SplitAuthority(authority);
  if (!host_and_port.ok()) return host_and_port.status();
  const auto [host, port_text] = *host_and_port;
  absl::StatusOr<uint16_t> port = ParsePort(port_text, *default_port);
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
  const auto ip = ParseIp(ip_literal);
  if (!ip) return true;
  const uint8_t* b = ip->first.data();
  if (ip->second) return IsPrivateV4(b);
  if (const uint8_t* v4 = EmbeddedIpv4(b)) return IsPrivateV4(v4);
  if (b[0] == 0 && b[1] == 0x64 && b[2] == 0xff && b[3] == 0x9b && b[4] == 0 && b[5] == 1) return true;  // 64:ff9b:1::/48
  if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0 && b[3] == 0) return true;  // 2001::/32 Teredo
  if ((b[0] & 0xfe) == 0xfc) return true;                                   // fc00::/7 unique local
  if (b[0] == 0xff) return true;                                            // ff00::/8 multicast
  return b[0] == 0xfe && (b[1] & 0xc0) == 0x80;                            // fe80::/10 link-local
}

absl::StatusOr<UpstreamAllowance> UpstreamAllowance::Parse(absl::string_view list) {
  UpstreamAllowance allowance;
  for (absl::string_view entry : absl::StrSplit(list, ',', absl::SkipWhitespace())) {
    entry = absl::StripAsciiWhitespace(entry);
    const size_t slash = entry.find('/');
    const auto ip = ParseIp(entry.substr(0, slash));
    if (!ip) {
      if (slash != absl::string_view::npos || !std::all_of(entry.begin(), entry.end(), IsHostNameChar)) {
        return absl::InvalidArgumentError(absl::StrCat("allowed upstream '", entry, "' is neither a host nor a CIDR"));
      }
      allowance.hosts_.push_back(absl::AsciiStrToLower(entry));
      continue;
    }
    const int max_bits = ip->second ? 32 : 128;
    int bits = max_bits;
    if (slash != absl::string_view::npos &&
        (!absl::SimpleAtoi(entry.substr(slash + 1), &bits) || bits < 0 || bits > max_bits)) {
      return absl::InvalidArgumentError(absl::StrCat("allowed upstream '", entry, "' has a bad prefix length"));
    }
    allowance.ranges_.push_back(Range{ip->first, bits, ip->second});
  }
  return allowance;
}

bool UpstreamAllowance::AllowsHost(absl::string_view host) const {
  return std::find(hosts_.begin(), hosts_.end(), host) != hosts_.end();
}

bool UpstreamAllowance::AllowsAddress(absl::string_view ip_literal) const {
  const auto ip = ParseIp(ip_literal);
  if (!ip) return false;
  const uint8_t* v4 = ip->second ? ip->first.data() : EmbeddedIpv4(ip->first.data());
  for (const Range& range : ranges_) {
    if (range.v4 && v4 != nullptr && InRange(v4, range.prefix, range.bits)) return true;
    if (!range.v4 && !ip->second && InRange(ip->first.data(), range.prefix, range.bits)) return true;
  }
  return false;
}

}  // namespace halopsa::net

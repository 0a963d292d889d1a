#include "adapters/redis/redis_url.h"

#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace halopsa::redis {
namespace {

constexpr absl::string_view kRedisScheme = "redis://";
constexpr absl::string_view kUnixScheme = "unix://";

absl::Status Invalid(absl::string_view setting, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(setting, ": ", what));
}

std::optional<int> HexDigit(char c) {
  if (absl::ascii_isdigit(static_cast<unsigned char>(c))) return c - '0';
  c = absl::ascii_tolower(static_cast<unsigned char>(c));
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return std::nullopt;
}

std::optional<std::string> PercentDecode(absl::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out.push_back(text[i]);
      continue;
    }
    if (i + 2 >= text.size()) return std::nullopt;
    std::optional<int> high = HexDigit(text[i + 1]);
    std::optional<int> low = HexDigit(text[i + 2]);
    if (!high || !low) return std::nullopt;
    out.push_back(static_cast<char>(*high * 16 + *low));
    i += 2;
  }
  return out;
}

std::optional<int> Database(absl::string_view text) {
  int database = 0;
  if (!absl::SimpleAtoi(text, &database) || database < 0 || database > 65535) return std::nullopt;
  return database;
}

absl::Status ParseUserInfo(absl::string_view userinfo, absl::string_view setting, RedisEndpoint& endpoint) {
  size_t colon = userinfo.find(':');
  if (colon == absl::string_view::npos) return Invalid(setting, "credentials must read [user]:password@");
  std::optional<std::string> user = PercentDecode(userinfo.substr(0, colon));
  std::optional<std::string> password = PercentDecode(userinfo.substr(colon + 1));
  if (!user || !password) return Invalid(setting, "bad percent-encoding in the credentials");
  endpoint.username = *std::move(user);
  endpoint.password = *std::move(password);
  return absl::OkStatus();
}

absl::Status ParseHostPort(absl::string_view authority, absl::string_view setting, RedisEndpoint& endpoint) {
  absl::string_view port;
  if (absl::ConsumePrefix(&authority, "[")) {
    size_t close = authority.find(']');
    if (close == absl::string_view::npos) return Invalid(setting, "unclosed '[' in the host");
    endpoint.host = std::string(authority.substr(0, close));
    absl::string_view rest = authority.substr(close + 1);
    if (!rest.empty() && !absl::ConsumePrefix(&rest, ":")) return Invalid(setting, "junk after the host");
    port = rest;
  } else {
    size_t colon = authority.rfind(':');
    endpoint.host = std::string(authority.substr(0, colon));
    if (colon != absl::string_view::npos) port = authority.substr(colon + 1);
  }
  if (endpoint.host.empty()) return Invalid(setting, "no host");
  if (!port.empty() && (!absl::SimpleAtoi(port, &endpoint.port) || endpoint.port < 1 || endpoint.port > 65535)) {
    return Invalid(setting, "port must be 1-65535");
  }
  return absl::OkStatus();
}

absl::StatusOr<RedisEndpoint> ParseTcp(absl::string_view rest, absl::string_view setting) {
  RedisEndpoint endpoint;
  size_t slash = rest.find('/');
  absl::string_view authority = rest.substr(0, slash);
  absl::string_view path = slash == absl::string_view::npos ? "" : rest.substr(slash + 1);
  size_t at = authority.rfind('@');
  if (at != absl::string_view::npos) {
    if (absl::Status status = ParseUserInfo(authority.substr(0, at), setting, endpoint); !status.ok()) return status;
    authority = authority.substr(at + 1);
  }
  if (absl::Status status = ParseHostPort(authority, setting, endpoint); !status.ok()) return status;
  if (!path.empty()) {
    std::optional<int> database = Database(path);
    if (!database) return Invalid(setting, "the path must be a database number (0-65535)");
    endpoint.database = *database;
  }
  return endpoint;
}

absl::StatusOr<RedisEndpoint> ParseUnix(absl::string_view rest, absl::string_view setting) {
  RedisEndpoint endpoint;
  if (size_t at = rest.find("@/"); !absl::StartsWith(rest, "/") && at != absl::string_view::npos) {
    if (absl::Status status = ParseUserInfo(rest.substr(0, at), setting, endpoint); !status.ok()) return status;
    rest = rest.substr(at + 1);
  }
  size_t query = rest.find('?');
  endpoint.socket_path = std::string(rest.substr(0, query));
  if (!absl::StartsWith(endpoint.socket_path, "/")) return Invalid(setting, "unix:// needs an absolute socket path");
  if (query != absl::string_view::npos) {
    absl::string_view parameter = rest.substr(query + 1);
    std::optional<int> database;
    if (absl::ConsumePrefix(&parameter, "db=")) database = Database(parameter);
    if (!database) return Invalid(setting, "the only unix:// parameter is db=N (0-65535)");
    endpoint.database = *database;
  }
  return endpoint;
}

}  // namespace

std::string RedisEndpoint::Describe() const {
  if (!socket_path.empty()) return socket_path;
  return absl::StrContains(host, ':') ? absl::StrCat("[", host, "]:", port) : absl::StrCat(host, ":", port);
}

absl::StatusOr<RedisEndpoint> ParseRedisUrl(absl::string_view url, absl::string_view setting) {
  if (absl::ConsumePrefix(&url, kRedisScheme)) return ParseTcp(url, setting);
  if (absl::ConsumePrefix(&url, kUnixScheme)) return ParseUnix(url, setting);
  return Invalid(setting, "must start with redis:// or unix://");
}

}  // namespace halopsa::redis

#ifndef HALOPSA_ADAPTERS_REDIS_REDIS_URL_H_
#define HALOPSA_ADAPTERS_REDIS_REDIS_URL_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace halopsa::redis {

// Where the shared state lives and how to log in.
struct RedisEndpoint {
  std::string host;         // empty with a unix socket; IPv6 literals without brackets
  int port = 6379;
  std::string socket_path;  // unix socket; empty with a host
  std::string username;     // Redis 6 ACL user; empty = the default user
  std::string password;     // never logged, never in an error text
  int database = 0;

  // "host:port" or the socket path: for logs (no credentials).
  std::string Describe() const;
};

// Parses "redis://[[user]:password@]host[:port][/db]" (user and password
// percent-decoded) or "unix://[[user]:password@]/path/to/socket[?db=N]". Errors are
// INVALID_ARGUMENT naming `setting` and never quote the URL, which may carry
// the password.
absl::StatusOr<RedisEndpoint> ParseRedisUrl(absl::string_view url, absl::string_view setting = "redis_url");

}  // namespace halopsa::redis

#endif  // HALOPSA_ADAPTERS_REDIS_REDIS_URL_H_

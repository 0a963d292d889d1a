#ifndef HALOPSA_ADAPTERS_REDIS_REDIS_CLIENT_H_
#define HALOPSA_ADAPTERS_REDIS_REDIS_CLIENT_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "adapters/redis/redis_url.h"

namespace boost::asio {
class io_context;
}  // namespace boost::asio

namespace halopsa::redis {

// One reply, copied out of the reply hiredis parsed.
struct RedisReply {
  enum class Type { kNil, kString, kStatus, kInteger, kArray, kError };
  Type type = Type::kNil;
  std::string text;  // string, status and error replies
  long long integer = 0;
  std::vector<RedisReply> elements;
};

struct RedisOptions {
  RedisEndpoint endpoint;
  // Bound of one command when the call's deadline is later; a command that
  // takes longer resets the connection (Redis is stuck or unreachable).
  absl::Duration command_timeout = absl::Seconds(1);
  absl::Duration connect_timeout = absl::Seconds(2);  // connect, AUTH, SELECT, PING
  absl::Duration min_reconnect_delay = absl::Milliseconds(50);
  absl::Duration max_reconnect_delay = absl::Seconds(2);
  size_t max_pending_commands = 10000;  // beyond: refused, not queued
  // Called on the client's strand when the connection comes up (why empty)
  // or goes down; `why` is hiredis' or Redis' text, never a credential.
  std::function<void(bool up, absl::string_view why)> on_state_change;
};

// A Lua script run with EVALSHA; when Redis does not have it (NOSCRIPT:
// restarted, flushed), the same call sends it with EVAL, which loads it.
class RedisScript {
 public:
  explicit RedisScript(std::string source);
  const std::string& source() const { return source_; }
  const std::string& sha1() const { return sha1_; }

 private:
  std::string source_;
  std::string sha1_;  // lower-case hex
};

// An asynchronous Redis client over one hiredis connection, driven by the
// caller's Asio io_context: hiredis' event hooks are bound to a stream
// descriptor on a strand, so there is no thread of its own and none per
// call. Commands issued together are pipelined on the connection. Each is
// bounded by command_timeout and its caller's deadline. Failures are
// UNAVAILABLE with reason SHARED_STATE_UNAVAILABLE (DEADLINE_EXCEEDED, same
// reason, when the deadline ran out); Redis error replies are failures too.
// The client reconnects with exponential backoff; while it has no
// connection, commands fail at once. Thread-safe.
class RedisClient {
 public:
  using Callback = absl::AnyInvocable<void(absl::StatusOr<RedisReply>)>;
  using Task = absl::AnyInvocable<void()>;

  // Starts connecting; never fails (an unreachable Redis is retried).
  static std::unique_ptr<RedisClient> Start(boost::asio::io_context& io, RedisOptions options);
  // Close()s.
  ~RedisClient();

  // Closes the connection for good: commands in flight fail (their
  // callbacks have run when it returns), later ones fail at once. Waits
  // for the strand, so not from one of the client's callbacks, and only
  // while `io` runs. Idempotent.
  void Close();

  RedisClient(const RedisClient&) = delete;
  RedisClient& operator=(const RedisClient&) = delete;

  // Runs one command (`args`: the command and its arguments, binary-safe).
  // `done` runs exactly once, on the client's strand, never inside Command().
  void Command(std::vector<std::string> args, absl::Time deadline, Callback done);

  // EVALSHA `script` with these keys and arguments (EVAL after NOSCRIPT).
  void Eval(const RedisScript& script, std::vector<std::string> keys, std::vector<std::string> args,
            absl::Time deadline, Callback done);

  // Runs `task` on the client's strand after `delay`: how waits for a lock
  // or a reply poll Redis without holding a thread. Tasks still waiting
  // when the client is destroyed run then.
  void RunAfter(absl::Duration delay, Task task);

  bool up() const;
  // How long the connection has been down (since start when it never came
  // up); zero while up.
  absl::Duration down_for() const;
  uint64_t errors() const;          // failed commands and connection attempts
  uint64_t commands_sent() const;   // commands written to Redis
  uint64_t round_trips() const;     // writes that sent commands (pipelined ones share one)

 private:
  class Impl;
  explicit RedisClient(std::shared_ptr<Impl> impl);
  std::shared_ptr<Impl> impl_;
};

// The Redis key of `kind` for `id` ("halopsa:<kind>:{<digest>}"): bounded in
// length whatever `id` holds, and in braces so that keys made from one id
// share a Redis Cluster slot (a script may touch them together).
std::string SharedKey(absl::string_view kind, absl::string_view id);

// A random token naming one owner of a claim or a lock.
std::string NewOwnerToken();

// UNAVAILABLE, reason SHARED_STATE_UNAVAILABLE: the call needs the shared
// state and must not go ahead without it.
absl::Status SharedStateUnavailable(absl::string_view what);

// The error of a reply of an unexpected shape.
absl::Status UnexpectedReply(absl::string_view command);

}  // namespace halopsa::redis

#endif  // HALOPSA_ADAPTERS_REDIS_REDIS_CLIENT_H_

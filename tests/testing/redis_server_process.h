#ifndef HALOPSA_TESTS_TESTING_REDIS_SERVER_PROCESS_H_
#define HALOPSA_TESTS_TESTING_REDIS_SERVER_PROCESS_H_

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "tests/testing/child_process.h"

namespace halopsa::testing {

// A real redis-server (Debian's, from PATH or $HALOPSA_REDIS_SERVER) for
// tests: listens only on a unix socket in a fresh temporary directory,
// keeps nothing on disk, and is killed with its directory on destruction.
// It dies with the test process too (ChildProcess), so a crashed test
// leaves no redis-server behind.
class RedisServerProcess {
 public:
  struct Options {
    std::string password;  // requirepass; empty = none
  };

  // Starts it and waits (bounded) until it accepts connections.
  static absl::StatusOr<std::unique_ptr<RedisServerProcess>> Start(Options options);
  static absl::StatusOr<std::unique_ptr<RedisServerProcess>> Start() { return Start(Options()); }
  ~RedisServerProcess();

  RedisServerProcess(const RedisServerProcess&) = delete;
  RedisServerProcess& operator=(const RedisServerProcess&) = delete;

  // unix://[:password@]<socket>: what HALOPSA_REDIS_URL takes.
  std::string url() const;
  const std::string& socket_path() const { return socket_path_; }
  bool running() const { return process_ != nullptr; }

  // SIGKILL, as a crash would; waits until the process is gone.
  void Kill();
  // SIGSTOP / SIGCONT: a Redis that accepts nothing and answers nothing.
  void Freeze();
  void Thaw();

  // Starts again on the same socket, with no data (as after a crash without
  // persistence); waits until it accepts connections.
  absl::Status Restart();

 private:
  RedisServerProcess(Options options, std::string binary, std::string directory);
  absl::Status Launch();

  const Options options_;
  const std::string binary_;
  const std::string directory_;
  const std::string socket_path_;
  std::unique_ptr<ChildProcess> process_;
};

}  // namespace halopsa::testing

#endif  // HALOPSA_TESTS_TESTING_REDIS_SERVER_PROCESS_H_

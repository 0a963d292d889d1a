#ifndef HALOPSA_BENCH_PROCESS_H_
#define HALOPSA_BENCH_PROCESS_H_

// The benchmark runs halopsa-sim and halopsa-server as real child processes
// so the CPU time and memory it reports are theirs alone.

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace halopsa::bench {

// A child process whose stdout and stderr go to a log file.
class ChildProcess {
 public:
  // `env` entries ("NAME=value") are added to this process's environment.
  static absl::StatusOr<std::unique_ptr<ChildProcess>> Spawn(const std::string& binary,
                                                             const std::vector<std::string>& args,
                                                             const std::vector<std::string>& env,
                                                             const std::string& log_path);
  ~ChildProcess();  // Stop()

  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }
  const std::string& log_path() const { return log_path_; }

  // The rest of the first log line that starts with `prefix`, once written.
  // Fails when the process exits first or `timeout` passes.
  absl::StatusOr<std::string> WaitForLine(absl::string_view prefix, absl::Duration timeout);
  // The exit code once the process has exited; DEADLINE_EXCEEDED after `timeout`.
  absl::StatusOr<int> WaitForExit(absl::Duration timeout);
  // SIGTERM, then SIGKILL when it is still running after `grace`; reaps it.
  void Stop(absl::Duration grace = absl::Seconds(5));

 private:
  ChildProcess(pid_t pid, std::string log_path) : pid_(pid), log_path_(std::move(log_path)) {}
  bool Reap(bool block);

  pid_t pid_;
  std::string log_path_;
  bool exited_ = false;
  int exit_code_ = -1;
};

struct ProcessSample {
  absl::Duration cpu;  // user + system, all threads
  int64_t rss_kb = 0;  // VmRSS
  int64_t hwm_kb = 0;  // VmHWM: peak resident set since start
};

absl::StatusOr<ProcessSample> SampleProcess(pid_t pid);

// A port nothing listens on right now (bound to 127.0.0.1:0 and released),
// for the child processes' listeners whose ports they do not print.
absl::StatusOr<int> FreeLoopbackPort();

absl::StatusOr<std::string> ReadFile(const std::string& path);

}  // namespace halopsa::bench

#endif  // HALOPSA_BENCH_PROCESS_H_

#ifndef HALOPSA_TESTS_TESTING_CHILD_PROCESS_H_
#define HALOPSA_TESTS_TESTING_CHILD_PROCESS_H_

// Real child processes (halopsa-server, halopsa-sim) for the benchmark, which
// measures their CPU time and memory alone, and for the multi-replica tests,
// which kill them mid-call.

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace halopsa::testing {

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
  // The first whole log line `matches` accepts, under the same bounds.
  absl::StatusOr<std::string> WaitForMatchingLine(const std::function<bool(absl::string_view)>& matches,
                                                  absl::Duration timeout);
  // The exit code once the process has exited; DEADLINE_EXCEEDED after `timeout`.
  absl::StatusOr<int> WaitForExit(absl::Duration timeout);
  // SIGTERM, then SIGKILL when it is still running after `grace`; reaps it.
  void Stop(absl::Duration grace = absl::Seconds(5));
  // SIGKILL, as a crash would (no drain); reaps it.
  void Kill();

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

absl::StatusOr<std::string> ReadFile(const std::string& path);

}  // namespace halopsa::testing

#endif  // HALOPSA_TESTS_TESTING_CHILD_PROCESS_H_

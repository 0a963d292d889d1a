#include "tests/testing/child_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

extern char** environ;

namespace halopsa::testing {
namespace {

constexpr absl::Duration kPollInterval = absl::Milliseconds(20);

absl::Status ErrnoError(absl::string_view what, int error) {
  return absl::InternalError(absl::StrCat(what, ": ", std::strerror(error)));
}

// This process's environment with `extra` added; an extra entry replaces
// an inherited one of the same name.
std::vector<std::string> Environment(const std::vector<std::string>& extra) {
  std::vector<std::string> result;
  for (char** entry = environ; *entry != nullptr; ++entry) {
    absl::string_view name = absl::string_view(*entry).substr(0, absl::string_view(*entry).find('='));
    bool replaced = false;
    for (const std::string& added : extra) {
      if (absl::StartsWith(added, absl::StrCat(name, "="))) replaced = true;
    }
    if (!replaced) result.emplace_back(*entry);
  }
  result.insert(result.end(), extra.begin(), extra.end());
  return result;
}

std::vector<char*> Pointers(std::vector<std::string>& strings) {
  std::vector<char*> pointers;
  for (std::string& s : strings) pointers.push_back(s.data());
  pointers.push_back(nullptr);
  return pointers;
}

}  // namespace

absl::StatusOr<std::unique_ptr<ChildProcess>> ChildProcess::Spawn(const std::string& binary,
                                                                   const std::vector<std::string>& args,
                                                                   const std::vector<std::string>& env,
                                                                   const std::string& log_path) {
  int log = open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (log < 0) return ErrnoError(absl::StrCat("cannot open ", log_path), errno);
  std::vector<std::string> argv_strings = {binary};
  argv_strings.insert(argv_strings.end(), args.begin(), args.end());
  std::vector<std::string> env_strings = Environment(env);
  std::vector<char*> argv = Pointers(argv_strings);
  std::vector<char*> envp = Pointers(env_strings);
  const pid_t parent = getpid();

  pid_t pid = fork();
  if (pid == 0) {
    // Only async-signal-safe calls until exec. The child dies with the
    // parent, so a crashed run leaves no server behind.
    if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0 || getppid() != parent) _exit(127);
    int null = open("/dev/null", O_RDONLY);
    if (null < 0 || dup2(null, STDIN_FILENO) < 0 || dup2(log, STDOUT_FILENO) < 0 || dup2(log, STDERR_FILENO) < 0) {
      _exit(127);
    }
    execve(binary.c_str(), argv.data(), envp.data());
    _exit(127);
  }
  const int error = errno;
  close(log);
  if (pid < 0) return ErrnoError("fork", error);
  return std::unique_ptr<ChildProcess>(new ChildProcess(pid, log_path));
}

ChildProcess::~ChildProcess() { Stop(); }

bool ChildProcess::Reap(bool block) {
  if (exited_) return true;
  int status = 0;
  pid_t result = waitpid(pid_, &status, block ? 0 : WNOHANG);
  if (result != pid_) return false;
  exited_ = true;
  exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return true;
}

absl::StatusOr<std::string> ChildProcess::WaitForLine(absl::string_view prefix, absl::Duration timeout) {
  absl::StatusOr<std::string> line =
      WaitForMatchingLine([prefix](absl::string_view text) { return absl::StartsWith(text, prefix); }, timeout);
  if (!line.ok()) return line.status();
  return std::string(absl::StripAsciiWhitespace(absl::string_view(*line).substr(prefix.size())));
}

absl::StatusOr<std::string> ChildProcess::WaitForMatchingLine(const std::function<bool(absl::string_view)>& matches,
                                                              absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (true) {
    absl::StatusOr<std::string> log = ReadFile(log_path_);
    if (log.ok()) {
      for (absl::string_view line : absl::StrSplit(*log, '\n')) {
        if (matches(line)) return std::string(line);
      }
    }
    if (Reap(false)) return absl::FailedPreconditionError(absl::StrCat("exited with ", exit_code_, ", see ", log_path_));
    if (absl::Now() > deadline) return absl::DeadlineExceededError(absl::StrCat("awaited line not in ", log_path_));
    absl::SleepFor(kPollInterval);  // polling another process's output
  }
}

absl::StatusOr<int> ChildProcess::WaitForExit(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (!Reap(false)) {
    if (absl::Now() > deadline) return absl::DeadlineExceededError(absl::StrCat("pid ", pid_, " still running"));
    absl::SleepFor(kPollInterval);
  }
  return exit_code_;
}

void ChildProcess::Stop(absl::Duration grace) {
  if (Reap(false)) return;
  kill(pid_, SIGTERM);
  if (WaitForExit(grace).ok()) return;
  Kill();
}

void ChildProcess::Kill() {
  if (Reap(false)) return;
  kill(pid_, SIGKILL);
  Reap(true);
}

absl::StatusOr<ProcessSample> SampleProcess(pid_t pid) {
  absl::StatusOr<std::string> stat = ReadFile(absl::StrCat("/proc/", pid, "/stat"));
  if (!stat.ok()) return stat.status();
  // Fields after the parenthesised command name (which may hold spaces);
  // utime and stime are fields 14 and 15 of the whole line.
  size_t close = stat->rfind(')');
  if (close == std::string::npos) return absl::InternalError("unreadable /proc stat");
  std::vector<absl::string_view> fields = absl::StrSplit(absl::string_view(*stat).substr(close + 2), ' ');
  int64_t utime = 0;
  int64_t stime = 0;
  if (fields.size() < 13 || !absl::SimpleAtoi(fields[11], &utime) || !absl::SimpleAtoi(fields[12], &stime)) {
    return absl::InternalError("unreadable /proc stat");
  }
  ProcessSample sample;
  sample.cpu = absl::Seconds(static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK)));

  absl::StatusOr<std::string> status = ReadFile(absl::StrCat("/proc/", pid, "/status"));
  if (!status.ok()) return status.status();
  for (absl::string_view line : absl::StrSplit(*status, '\n')) {
    int64_t* target = absl::ConsumePrefix(&line, "VmRSS:")   ? &sample.rss_kb
                      : absl::ConsumePrefix(&line, "VmHWM:") ? &sample.hwm_kb
                                                             : nullptr;
    if (target == nullptr) continue;
    line = absl::StripAsciiWhitespace(line);
    absl::ConsumeSuffix(&line, " kB");
    if (!absl::SimpleAtoi(line, target)) return absl::InternalError("unreadable /proc status");
  }
  return sample;
}

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  std::stringstream content;
  content << file.rdbuf();
  return content.str();
}

}  // namespace halopsa::testing

#include "tests/testing/redis_server_process.h"

#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace halopsa::testing {
namespace {

constexpr absl::Duration kStartBound = absl::Seconds(15);

// $HALOPSA_REDIS_SERVER, else redis-server found on PATH: ChildProcess
// executes a path, not a name.
absl::StatusOr<std::string> ServerBinary() {
  if (const char* binary = std::getenv("HALOPSA_REDIS_SERVER"); binary != nullptr) return std::string(binary);
  const char* path = std::getenv("PATH");
  for (absl::string_view directory : absl::StrSplit(path != nullptr ? path : "/usr/bin", ':', absl::SkipEmpty())) {
    std::string candidate = absl::StrCat(directory, "/redis-server");
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return absl::FailedPreconditionError("redis-server is not on PATH (install it: scripts/install-deps.sh)");
}

}  // namespace

absl::StatusOr<std::unique_ptr<RedisServerProcess>> RedisServerProcess::Start(Options options) {
  absl::StatusOr<std::string> binary = ServerBinary();
  if (!binary.ok()) return binary.status();
  std::string pattern = (std::filesystem::temp_directory_path() / "halopsa-redis-XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr) return absl::InternalError("cannot create a temporary directory");
  std::unique_ptr<RedisServerProcess> server(
      new RedisServerProcess(std::move(options), *std::move(binary), std::move(pattern)));
  if (absl::Status started = server->Launch(); !started.ok()) return started;
  return server;
}

RedisServerProcess::RedisServerProcess(Options options, std::string binary, std::string directory)
    : options_(std::move(options)),
      binary_(std::move(binary)),
      directory_(std::move(directory)),
      socket_path_(directory_ + "/redis.sock") {}

RedisServerProcess::~RedisServerProcess() {
  Kill();
  std::error_code ignored;
  std::filesystem::remove_all(directory_, ignored);
}

std::string RedisServerProcess::url() const {
  return options_.password.empty() ? absl::StrCat("unix://", socket_path_)
                                   : absl::StrCat("unix://:", options_.password, "@", socket_path_);
}

absl::Status RedisServerProcess::Launch() {
  // Logs go to stdout (--logfile ""), which ChildProcess keeps in redis.log.
  std::vector<std::string> args = {"--port",       "0",  "--unixsocket", socket_path_, "--unixsocketperm",
                                   "700",          "--save", "",         "--appendonly", "no",
                                   "--dir",        directory_, "--logfile", "",        "--daemonize",
                                   "no"};
  if (!options_.password.empty()) {
    args.push_back("--requirepass");
    args.push_back(options_.password);
  }
  absl::StatusOr<std::unique_ptr<ChildProcess>> process =
      ChildProcess::Spawn(binary_, args, /*env=*/{}, directory_ + "/redis.log");
  if (!process.ok()) return process.status();
  process_ = *std::move(process);
  // Redis listens before it logs "Ready to accept connections" (7.0 adds
  // "The server is now ready to accept connections at <socket>").
  absl::StatusOr<std::string> ready = process_->WaitForMatchingLine(
      [](absl::string_view line) { return absl::StrContains(absl::AsciiStrToLower(line), "ready to accept connections"); }, kStartBound);
  if (!ready.ok()) {
    Kill();
    return absl::Status(ready.status().code(), absl::StrCat("redis-server did not start: ", ready.status().message()));
  }
  return absl::OkStatus();
}

void RedisServerProcess::Kill() {
  if (process_ == nullptr) return;
  process_->Kill();  // a stopped process dies too
  process_.reset();
}

void RedisServerProcess::Freeze() {
  if (process_ != nullptr) kill(process_->pid(), SIGSTOP);
}

void RedisServerProcess::Thaw() {
  if (process_ != nullptr) kill(process_->pid(), SIGCONT);
}

absl::Status RedisServerProcess::Restart() {
  Kill();
  return Launch();
}

}  // namespace halopsa::testing

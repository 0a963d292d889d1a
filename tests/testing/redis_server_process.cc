#include "tests/testing/redis_server_process.h"

#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

extern char** environ;

namespace halopsa::testing {
namespace {

constexpr absl::Duration kStartBound = absl::Seconds(15);

bool Accepts(const std::string& socket_path) {
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  if (fd < 0) return false;
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::strncpy(address.sun_path, socket_path.c_str(), sizeof(address.sun_path) - 1);
  bool connected = connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0;
  close(fd);
  return connected;
}

std::string ServerBinary() {
  const char* binary = std::getenv("HALOPSA_REDIS_SERVER");
  return binary != nullptr ? binary : "redis-server";
}

}  // namespace

absl::StatusOr<std::unique_ptr<RedisServerProcess>> RedisServerProcess::Start(Options options) {
  std::string pattern = (std::filesystem::temp_directory_path() / "halopsa-redis-XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr) return absl::InternalError("cannot create a temporary directory");
  std::unique_ptr<RedisServerProcess> server(new RedisServerProcess(std::move(options), pattern));
  if (absl::Status started = server->Launch(); !started.ok()) return started;
  return server;
}

RedisServerProcess::RedisServerProcess(Options options, std::string directory)
    : options_(std::move(options)), directory_(std::move(directory)), socket_path_(directory_ + "/redis.sock") {}

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
  std::vector<std::string> args = {ServerBinary(), "--port",  "0",          "--unixsocket", socket_path_,
                                   "--unixsocketperm", "700", "--save",     "",             "--appendonly",
                                   "no",               "--dir", directory_, "--logfile",    directory_ + "/redis.log",
                                   "--daemonize",      "no"};
  if (!options_.password.empty()) {
    args.push_back("--requirepass");
    args.push_back(options_.password);
  }
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  if (int error = posix_spawnp(&pid_, argv[0], nullptr, nullptr, argv.data(), environ); error != 0) {
    pid_ = 0;
    return absl::FailedPreconditionError(
        absl::StrCat("cannot start ", args[0], " (install redis-server: scripts/install-deps.sh): ", strerror(error)));
  }
  const absl::Time bound = absl::Now() + kStartBound;
  while (!Accepts(socket_path_)) {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = 0;
      return absl::InternalError(absl::StrCat("redis-server exited at start; see ", directory_, "/redis.log"));
    }
    if (absl::Now() > bound) return absl::DeadlineExceededError("redis-server did not accept connections in time");
    absl::SleepFor(absl::Milliseconds(5));  // polling a condition with a bound
  }
  return absl::OkStatus();
}

void RedisServerProcess::Kill() {
  if (pid_ <= 0) return;
  kill(pid_, SIGKILL);  // a stopped process dies too
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = 0;
}

void RedisServerProcess::Freeze() {
  if (pid_ > 0) kill(pid_, SIGSTOP);
}

void RedisServerProcess::Thaw() {
  if (pid_ > 0) kill(pid_, SIGCONT);
}

absl::Status RedisServerProcess::Restart() {
  Kill();
  return Launch();
}

}  // namespace halopsa::testing

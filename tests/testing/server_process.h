#ifndef HALOPSA_TESTS_TESTING_SERVER_PROCESS_H_
#define HALOPSA_TESTS_TESTING_SERVER_PROCESS_H_

// halopsa-server as a real child process on loopback, as a Kubernetes pod
// runs it: for the benchmark and for tests that run several replicas and
// kill one mid-call. Its listeners bind port 0; the ports are read from its
// "started" log line.

#include <sys/types.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "tests/testing/child_process.h"

namespace halopsa::testing {

struct ServerProcessOptions {
  std::string binary;  // halopsa-server
  // Flags beyond the listeners, which Start() sets to 127.0.0.1:0 (gRPC in
  // plaintext).
  std::vector<std::string> args;
  // "NAME=value" entries added to the environment (secrets go here: flags
  // show in ps).
  std::vector<std::string> env;
  std::string log_path;
  bool gateway = false;  // also serve the LimaCharlie gateway
  absl::Duration start_timeout = absl::Seconds(30);
};

class ServerProcess {
 public:
  // Spawns it and waits (bounded) until /readyz answers 200.
  static absl::StatusOr<std::unique_ptr<ServerProcess>> Start(ServerProcessOptions options);
  ~ServerProcess() = default;  // the child is stopped (SIGTERM, then SIGKILL)

  pid_t pid() const { return process_->pid(); }
  int grpc_port() const { return grpc_port_; }
  int gateway_port() const { return gateway_port_; }  // 0 without a gateway
  int admin_port() const { return admin_port_; }
  const std::string& log_path() const { return process_->log_path(); }

  // GET on the admin listener: the status of /readyz, the text of /metrics.
  absl::StatusOr<int> ReadyzStatus() const;
  absl::StatusOr<std::string> Metrics() const;
  // Sum of every series of the metric `name` (all label sets).
  absl::StatusOr<double> MetricSum(absl::string_view name) const;

  // The exit code (128 + signal when a signal ended it) once it has exited.
  std::optional<int> ExitCode() const;

  // SIGKILL: no drain, calls in flight lose their answers.
  void Kill() { process_->Kill(); }
  void Stop() { process_->Stop(); }

 private:
  explicit ServerProcess(std::unique_ptr<ChildProcess> process) : process_(std::move(process)) {}
  absl::Status ReadPorts(absl::Duration timeout);
  absl::Status WaitUntilReady(absl::Time deadline) const;

  std::unique_ptr<ChildProcess> process_;
  int grpc_port_ = 0;
  int gateway_port_ = 0;
  int admin_port_ = 0;
};

// Sum of every series of the metric `name` in Prometheus text.
double SumOfMetric(absl::string_view metrics_text, absl::string_view name);

}  // namespace halopsa::testing

#endif  // HALOPSA_TESTS_TESTING_SERVER_PROCESS_H_

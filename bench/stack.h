#ifndef HALOPSA_BENCH_STACK_H_
#define HALOPSA_BENCH_STACK_H_

// The system under test as the benchmark runs it: halopsa-sim and
// halopsa-server as child processes on loopback, plus the control calls the
// benchmark makes on them (metrics, simulator records, a direct token).

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "adapters/net/beast_http_transport.h"
#include "tests/testing/child_process.h"
#include "tests/testing/server_process.h"

namespace grpc {
class Channel;
}  // namespace grpc

namespace halopsa::bench {

inline constexpr char kSimClientId[] = "bench-client";
inline constexpr char kSimClientSecret[] = "bench-secret";

struct StackOptions {
  std::string bin_dir;    // holds halopsa-sim and halopsa-server
  std::string certs_dir;  // tests/testdata/certs
  std::string log_dir;    // the children's logs
  bool tls = false;       // simulator over HTTPS, trusted through ca.pem
  int sim_threads = 2;
  int pool_size = 16;  // the server's max_connections_per_host
  // Non-empty: serve the LimaCharlie gateway with this signing secret.
  std::string gateway_secret;
  // Non-empty: keep the shared state in this Redis (HALOPSA_REDIS_URL).
  std::string redis_url;
  // The server's budget per HaloPSA tenant; 0 = none (the benchmark
  // measures the service, not a tenant's rate limit).
  int rate_limit_requests = 0;
  std::string rate_limit_window = "5m";
  // Added to halopsa-server's environment ("NAME=value"), e.g. LD_PRELOAD.
  std::vector<std::string> server_env;
  // More halopsa-server flags ("--name=value").
  std::vector<std::string> server_args;
};

// Counters from the server's /metrics.
struct ServerCounters {
  double upstream_requests = 0;  // halopsa_upstream_requests_total, all endpoints and statuses
  double token_requests = 0;
  double connections_opened = 0;
  double open_connections = 0;
  double redis_commands = 0;     // halopsa_shared_state_commands_total
  double redis_round_trips = 0;  // halopsa_shared_state_round_trips_total
};

// Parses the Prometheus text of /metrics.
absl::StatusOr<ServerCounters> ParseCounters(absl::string_view metrics_text);

// A request the simulator recorded (GET /_sim/requests).
struct RecordedRequest {
  std::string method;
  std::string target;  // path and query, as re-encoded for replay
  std::string content_type;
  std::string body;
};

// Blocking HTTP exchange for control calls.
absl::StatusOr<net::HttpResponse> Fetch(net::HttpTransport& transport, net::HttpRequest request,
                                        absl::Duration timeout = absl::Seconds(10));

class Stack {
 public:
  // Starts the simulator, then the server against it, and waits until the
  // server is ready. `label` names the log files.
  static absl::StatusOr<std::unique_ptr<Stack>> Start(const StackOptions& options, const std::string& label);
  ~Stack();  // stops the server, then the simulator

  const std::string& sim_url() const { return sim_url_; }
  pid_t server_pid() const { return server_->pid(); }
  pid_t sim_pid() const { return sim_->pid(); }
  int grpc_port() const { return server_->grpc_port(); }
  int gateway_port() const { return server_->gateway_port(); }  // 0: no gateway served
  std::shared_ptr<grpc::Channel> channel() const { return channel_; }
  // Trusts the simulator's CA: for load generators talking to it directly.
  net::BeastTransportOptions ClientTransportOptions(size_t max_connections) const;

  absl::StatusOr<ServerCounters> Counters();
  // A bearer token from the simulator, obtained like the server does.
  absl::StatusOr<std::string> SimToken();
  absl::Status ClearSimRequests();
  // The API requests (not /auth/token) recorded since the last clear.
  absl::StatusOr<std::vector<RecordedRequest>> SimRequests();
  // A call to the simulator's test controls (`path` under /_sim/); its
  // answer's body, or an error for a status other than 200 and 204.
  absl::StatusOr<std::string> SimControl(const std::string& method, const std::string& path,
                                         const std::string& body = "");

 private:
  Stack() = default;
  absl::Status StartSim(const StackOptions& options, const std::string& label);
  absl::Status StartServer(const StackOptions& options, const std::string& label);
  absl::StatusOr<std::string> Get(const std::string& url);

  std::unique_ptr<testing::ChildProcess> sim_;
  std::unique_ptr<testing::ServerProcess> server_;
  std::unique_ptr<net::BeastHttpTransport> control_;
  std::shared_ptr<grpc::Channel> channel_;
  std::string sim_url_;
  std::string ca_file_;
};

// True when this halopsa-server build serves the LimaCharlie gateway (its
// --help lists gateway_listen).
bool ServerHasGateway(const std::string& bin_dir, const std::string& log_dir);

}  // namespace halopsa::bench

#endif  // HALOPSA_BENCH_STACK_H_

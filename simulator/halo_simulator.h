#ifndef HALOPSA_SIMULATOR_HALO_SIMULATOR_H_
#define HALOPSA_SIMULATOR_HALO_SIMULATOR_H_

#include <cstddef>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "adapters/net/http_server.h"
#include "google/protobuf/struct.pb.h"
#include "simulator/delayed_answers.h"
#include "simulator/faults.h"
#include "simulator/halo_data.h"

namespace halopsa::sim {

struct SimulatorOptions {
  std::string listen = "127.0.0.1:0";
  std::string tls_cert_file;  // both set = HTTPS
  std::string tls_key_file;
  std::string client_id = "sim-client";
  std::string client_secret = "sim-secret";
  // When set, /auth/token must carry ?tenant=<this> (hosted shared auth).
  std::string tenant;
  // Halo-hosted: tokens come only from a separate auth listener (its
  // /auth/token needs ?tenant=<tenant, or "simtenant" when empty>), and the
  // tenant answers GET /api/authinfo with {"auth_url", "tenant_id"}; its own
  // /auth/token is 404. Off: /auth/token on the tenant, authinfo 404.
  bool hosted_auth = false;
  std::string auth_listen = "127.0.0.1:0";
  absl::Duration token_lifetime = absl::Hours(1);
  int threads = 1;
};

struct RecordedRequest {
  std::string method;
  std::string path;
  std::vector<std::pair<std::string, std::string>> query;  // decoded
  std::string authorization;
  std::string content_type;
  std::string body;
};

// An in-memory HaloPSA tenant over HTTP(S): OAuth2 client_credentials at
// /auth/token and the /api calls ext-halopsa makes, with Halo's quirks.
// Test controls are C++ methods and, without auth, HTTP endpoints:
//   GET /_sim/requests     recorded requests as a JSON array
//   DELETE /_sim/requests  forget them
//   POST /_sim/revoke_tokens
//   POST /_sim/fail        {"method", "path_prefix", "status", "body", "count"}
//   GET /_sim/state        {"tickets", "actions", "assets"}
//   POST /_sim/faults      set the fault config (the JSON of ParseFaultConfig,
//                          e.g. {"seed": 7, "error_before_probability": 0.1,
//                          "latency_max_ms": 50}); 400 on bad input
//   GET /_sim/faults       {"config": {...}, "counters": {"requests", "failed",
//                          "rate_limited", "errors_before", ...,
//                          "peak_window_requests", "requests_per_window": [...]}}
//   DELETE /_sim/faults    every fault off (the counters stay readable)
//   POST /_sim/technician_action  {"agent_id", "ticket_id", "note", "new_status"?}:
//                          TechnicianAction; 404 for an unknown ticket or agent
// Failure rules (/_sim/fail) are checked before faults (faults.h).
class HaloSimulator {
 public:
  static absl::StatusOr<std::unique_ptr<HaloSimulator>> Start(SimulatorOptions options);

  HaloSimulator(const HaloSimulator&) = delete;
  HaloSimulator& operator=(const HaloSimulator&) = delete;
  ~HaloSimulator();  // Shutdown()

  int port() const;
  std::string base_url() const;  // "https://127.0.0.1:PORT" or "http://..."
  // The hosted auth listener's URL (as authinfo's auth_url names it, with
  // its "/auth" path); empty unless hosted_auth.
  std::string auth_url() const;
  void Shutdown();

  // Every request except /_sim/*, oldest first; the most recent
  // kMaxRecordedRequests are kept.
  std::vector<RecordedRequest> requests() const;
  void ClearRequests();
  // Every token issued so far gets 401 from now on, as if expired.
  void RevokeTokens();
  // The next `count` requests with this method (empty = any) whose path
  // starts with `path_prefix` are answered `status` with exactly `body`
  // instead of being processed. At most kMaxFailureRules are pending; a new
  // one beyond that replaces the oldest.
  void InjectFailure(std::string method, std::string path_prefix, int status, std::string body,
                     int count);
  // Replaces the fault config (INVALID_ARGUMENT if ValidateFaultConfig
  // refuses it), restarting its random sequence and zeroing the counters.
  absl::Status SetFaults(FaultConfig config);
  // Every fault off; the counters stay as they are until the next SetFaults.
  void ClearFaults();
  FaultConfig faults() const;
  FaultCounters fault_counters() const;

  int token_requests() const;  // POST /auth/token answered 200
  std::vector<google::protobuf::Struct> tickets() const;  // by id, with their "assets"
  std::optional<google::protobuf::Struct> ticket(int id) const;
  std::vector<google::protobuf::Struct> actions(int ticket_id) const;
  std::vector<google::protobuf::Struct> assets() const;
  // A technician (agent 1 Alice, 2 Bob) writes a private note on a ticket in
  // HaloPSA's UI, changing its status when `new_status` is set: the action
  // is that agent's, not the API application's (HaloData::TechnicianAction).
  std::optional<google::protobuf::Struct> TechnicianAction(int agent_id, int ticket_id, const std::string& note,
                                                           std::optional<int> new_status = std::nullopt);

  static constexpr size_t kMaxRecordedRequests = 10000;
  static constexpr size_t kMaxFailureRules = 64;
  static constexpr size_t kMaxLiveTokens = 10000;

 private:
  struct FailureRule {
    std::string method;
    std::string path_prefix;
    int status;
    std::string body;
    int remaining;
  };
  struct Token {
    absl::Time expires;
    std::vector<std::string> scopes;  // empty when the request named none
  };

  explicit HaloSimulator(SimulatorOptions options);

  struct DelayedResponse {
    net::ServerResponse response;
    absl::Duration delay = absl::ZeroDuration();
  };

  // `auth_listener`: the request came to the hosted auth listener.
  void Handle(const net::ServerRequest& request, net::Responder respond, bool auth_listener);
  // What answers `route`: the token endpoint, authinfo, the API, or nothing.
  enum class Route { kToken, kAuthInfo, kApi, kNone };
  Route RouteOf(const std::string& route, bool auth_listener) const;
  net::ServerResponse AuthInfo() const;
  net::ServerResponse HandleControl(const net::ServerRequest& request, const std::string& path);
  net::ServerResponse HandleFaults(const net::ServerRequest& request);
  net::ServerResponse HandleTechnicianAction(const net::ServerRequest& request);
  // A request to /auth/token or /api/*, failure rules and faults included.
  DelayedResponse Serve(const net::ServerRequest& request, const std::string& path,
                        Route route, const QueryParams& query);
  net::ServerResponse IssueToken(const net::ServerRequest& request, const QueryParams& query)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  net::ServerResponse CallApi(const net::ServerRequest& request, const std::string& path,
                              const QueryParams& query) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void RevokeTokensLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The request's live, scoped token, or null (then 401).
  const Token* Authorized(const net::ServerRequest& request) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  std::string RequiredTenant() const;
  std::optional<net::ServerResponse> TakeFailure(const std::string& method,
                                                 const std::string& path)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const SimulatorOptions options_;
  DelayedAnswers delayed_answers_;  // declared before server_, whose handler uses it
  std::unique_ptr<net::HttpServer> server_;
  std::unique_ptr<net::HttpServer> auth_server_;  // hosted_auth only

  mutable absl::Mutex mu_;
  HaloData data_ ABSL_GUARDED_BY(mu_);
  std::deque<RecordedRequest> requests_ ABSL_GUARDED_BY(mu_);
  std::deque<FailureRule> failures_ ABSL_GUARDED_BY(mu_);
  FaultInjector faults_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, Token> tokens_ ABSL_GUARDED_BY(mu_);
  // Tokens in issue order, which is also expiry order, for pruning.
  std::deque<std::string> token_order_ ABSL_GUARDED_BY(mu_);
  int token_requests_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace halopsa::sim

#endif  // HALOPSA_SIMULATOR_HALO_SIMULATOR_H_

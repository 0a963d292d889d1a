#ifndef HALOPSA_SERVER_HALO_API_H_
#define HALOPSA_SERVER_HALO_API_H_

#include <atomic>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <google/protobuf/struct.pb.h>

#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace halopsa {

// One HaloPSA tenant and the API application credentials used to reach it.
// ({} lets designated initializers omit a member without -Wextra warnings.)
struct HaloConnection {
  std::string instance_url;   // e.g. "https://acme.halopsa.com", no trailing slash
  std::string client_id;
  std::string client_secret;  // never logged, never in an error text
  std::string tenant{};       // empty unless hosted shared-auth
  std::string scope = "all";
  std::string org_id{};       // separates cached tokens of different callers only
  // The authorisation server, e.g. "https://auth.haloservicedesk.com/auth"
  // (tokens from {auth_url}/token); empty = discover it from
  // {instance_url}/api/authinfo, falling back to {instance_url}/auth.
  std::string auth_url{};
  // The outcome of add_action when the request names none; outcome ids and
  // names differ between tenants. An id wins over a name; neither = "Note".
  std::string default_outcome{};
  int default_outcome_id = 0;
  // Creates with an idempotency key carry a visible reference line that a
  // retry after an unknown outcome searches for; false = no line, and such a
  // retry may create a second ticket or note.
  bool idempotency_marker = true;
  // mirror_case: the label of the case line "ext-halopsa case <label> <id>",
  // so that several integrations (or LimaCharlie tenants) can mirror into
  // one HaloPSA tenant without seeing each other's tickets.
  std::string case_label = "LimaCharlie";
  // pull_ticket_changes: HaloPSA status ids -> case statuses, e.g.
  // "1:new,2:in_progress,8:resolved,9:closed"; a status it does not name is
  // in_progress.
  std::string case_status_map = "1:new,9:closed";
};

// What a create_ticket with a dedupe_key did (storm deduplication): opened
// a ticket, or noted the detection on the key's open one.
enum class DedupeOutcome { kNone, kOpened, kNoted };

// What one call accumulates across its upstream steps, for its log line.
struct CallStats {
  std::atomic<int> upstream_requests{0};
  std::atomic<DedupeOutcome> dedupe{DedupeOutcome::kNone};
};

// What every upstream step of one call shares: where to send it, by when it
// must be finished (the caller's deadline), and its stats (may be null).
struct CallContext {
  std::shared_ptr<const HaloConnection> connection;
  absl::Time deadline = absl::InfiniteFuture();
  std::shared_ptr<CallStats> stats;
  // The caller's key for this call (LimaCharlie's idempotency_key, or gRPC
  // metadata x-idempotency-key); empty when none. Creates carry a marker
  // derived from it so that a retry after an unknown outcome finds the
  // object the earlier attempt made instead of making a second one.
  std::string idempotency_key;
  // Who asked: the LimaCharlie oid for gateway calls, gRPC metadata
  // x-halopsa-org-id otherwise; empty = the one shared anonymous org. A
  // tenant's request budget is shared out fairly between orgs.
  std::string org{};
};

// The HaloPSA REST API as the service logic sees it: JSON in, JSON out, with
// authentication, transport and error mapping hidden behind it. Non-2xx
// answers arrive as non-OK statuses with an ErrorInfo reason (the REST
// adapter's table: adapters/halopsa/halo_errors.h). Callbacks run exactly
// once, possibly on another thread, never inside the calling method.
class HaloApi {
 public:
  using Query = std::vector<std::pair<std::string, std::string>>;
  using Callback = absl::AnyInvocable<void(absl::StatusOr<google::protobuf::Value>)>;

  virtual ~HaloApi() = default;

  // GET {instance_url}{path}?{query}, e.g. path "/api/Tickets".
  virtual void Get(const CallContext& context, std::string path, Query query, Callback done) = 0;

  // POST {instance_url}{path} with `body` as JSON (Halo's create and update).
  virtual void Post(const CallContext& context, std::string path, google::protobuf::Value body,
                    Callback done) = 0;
};

}  // namespace halopsa

#endif  // HALOPSA_SERVER_HALO_API_H_

#ifndef HALOPSA_SERVER_CALL_RUNNER_H_
#define HALOPSA_SERVER_CALL_RUNNER_H_

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/halo_api.h"
#include "server/halopsa_operations.h"
#include "server/logger.h"
#include "server/service_metrics.h"

namespace halopsa {

// Metadata keys a multi-tenant caller sets to use its own HaloPSA connection.
inline constexpr char kInstanceUrlHeader[] = "x-halopsa-instance-url";
inline constexpr char kClientIdHeader[] = "x-halopsa-client-id";
inline constexpr char kClientSecretHeader[] = "x-halopsa-client-secret";
inline constexpr char kTenantHeader[] = "x-halopsa-tenant";
inline constexpr char kScopeHeader[] = "x-halopsa-scope";
inline constexpr char kOrgIdHeader[] = "x-halopsa-org-id";
// Only with x-halopsa-instance-url: the default connection's secret never
// goes to an authorisation server a caller names.
inline constexpr char kAuthUrlHeader[] = "x-halopsa-auth-url";
// Any call may carry these; they override the connection's settings.
inline constexpr char kDefaultOutcomeHeader[] = "x-halopsa-default-outcome";
inline constexpr char kDefaultOutcomeIdHeader[] = "x-halopsa-default-outcome-id";
inline constexpr char kIdempotencyMarkerHeader[] = "x-halopsa-idempotency-marker";  // "on" / "off"
inline constexpr char kCaseLabelHeader[] = "x-halopsa-case-label";
inline constexpr char kCaseStatusMapHeader[] = "x-halopsa-case-status-map";
// Correlates a call's log line with the caller's (the gateway sends the
// webhook's idempotency key).
inline constexpr char kRequestIdHeader[] = "x-request-id";
// The caller's key for a call it may retry (the gateway sends the webhook's
// idempotency key): a retried create_ticket or add_action whose first
// outcome was unknown finds the ticket or note made then instead of making
// a second one. Printable ASCII, at most kMaxIdempotencyKeyBytes.
inline constexpr char kIdempotencyKeyHeader[] = "x-idempotency-key";
inline constexpr size_t kMaxIdempotencyKeyBytes = 1024;

// A call's metadata as the runner reads it: the value under a key, if any.
using MetadataLookup = absl::FunctionRef<std::optional<absl::string_view>(absl::string_view key)>;

struct ServiceOptions {
  // The connection of calls without connection metadata; null = none, and
  // such calls fail with FAILED_PRECONDITION.
  std::shared_ptr<const HaloConnection> default_connection;
  // Bounds the upstream work of calls that carry no deadline.
  absl::Duration default_deadline = absl::Seconds(30);
  // Calls served at once; beyond, a call is refused at once with
  // RESOURCE_EXHAUSTED (reason OVERLOADED) and a RetryInfo, instead of
  // queueing without bound.
  size_t max_calls_in_flight = 4096;
  // One log line and metrics per call; either may be null.
  Logger* logger = nullptr;
  ServiceMetrics* metrics = nullptr;
};

// The connection a call uses: its metadata's when it carries
// x-halopsa-instance-url, else the default; either with the call's outcome
// and marker settings applied. INVALID_ARGUMENT names a malformed header.
absl::StatusOr<std::shared_ptr<const HaloConnection>> ConnectionForCall(
    MetadataLookup metadata, const std::shared_ptr<const HaloConnection>& default_connection);

// What a gRPC metadata value may hold (and so every value that travels as
// one): printable ASCII, no control characters or line breaks.
bool IsPrintableAscii(absl::string_view text);

// The call's x-idempotency-key ("" when absent); INVALID_ARGUMENT when it is
// too long or not printable ASCII.
absl::StatusOr<std::string> IdempotencyKeyForCall(MetadataLookup metadata);

// What every HaloPsaService call goes through, whichever way it came (gRPC,
// or the gateway in the same process): the in-flight limit, its connection
// and idempotency key from metadata, the deadline bounding its upstream
// work, then its operation, and one log line and metrics when it ends.
// Thread-safe.
class CallRunner {
 public:
  template <typename Request, typename Response>
  using Operation = void (HaloPsaOperations::*)(const CallContext&, const Request&, Reply<Response>);

  CallRunner(HaloPsaOperations& operations, ServiceOptions options) : operations_(operations), options_(std::move(options)) {}

  // Runs `operation` on `request`, which must stay alive until `done` has run.
  // `done` runs exactly once, possibly before Run returns. `method` names
  // the call in logs and metrics and must outlive it (a literal or a
  // descriptor's name). `caller_deadline`: the caller's, InfiniteFuture()
  // when it set none.
  template <typename Request, typename Response>
  void Run(absl::string_view method, MetadataLookup metadata, absl::Time caller_deadline, const Request& request,
           Operation<Request, Response> operation, Reply<Response> done) {
    Admission admission = Admit(method, metadata, caller_deadline);
    if (!admission.context.ok()) {
      End(*admission.record, admission.context.status());
      return done(admission.context.status());
    }
    (operations_.*operation)(*admission.context, request,
                       [this, record = std::move(admission.record),
                        done = std::move(done)](absl::StatusOr<Response> result) mutable {
                         End(*record, result.status());
                         done(std::move(result));
                       });
  }

  // Counts and logs a call refused before it could run (e.g. a request
  // over its limits, refused before parsing) like any other call's end.
  void Refuse(absl::string_view method, MetadataLookup metadata, const absl::Status& status);

  // Blocks until every call that Run started has ended, or `deadline`;
  // true when they all ended.
  bool WaitUntilIdle(absl::Time deadline);

 private:
  // What the call's log line needs when it ends.
  struct CallRecord {
    absl::string_view method;
    std::string org;
    std::string request_id;
    absl::Time start;
    std::shared_ptr<CallStats> stats;
  };
  struct Admission {
    std::shared_ptr<CallRecord> record;
    absl::StatusOr<CallContext> context;  // the reason the call may not run
  };

  Admission Admit(absl::string_view method, MetadataLookup metadata, absl::Time caller_deadline);
  // Records the finished call in metrics and the log.
  void End(const CallRecord& record, const absl::Status& status);
  bool Idle() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return calls_in_flight_ == 0; }

  HaloPsaOperations& operations_;
  const ServiceOptions options_;
  absl::Mutex mu_;
  size_t calls_in_flight_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace halopsa

#endif  // HALOPSA_SERVER_CALL_RUNNER_H_

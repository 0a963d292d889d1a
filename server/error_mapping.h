#ifndef HALOPSA_SERVER_ERROR_MAPPING_H_
#define HALOPSA_SERVER_ERROR_MAPPING_H_

// The core's error mappings and status details. Every error carries a
// google.rpc.ErrorInfo with a stable reason as an absl::Status payload;
// absl::Status becomes grpc::Status (with google.rpc.Status details) and
// back here, and an upstream's HTTP status becomes a status code by one
// table shared by every upstream. Each boundary keeps its own table beside
// it: HaloPSA's reasons in adapters/halopsa/halo_errors.h, LimaCharlie's
// (its API and the webhook envelope) in adapters/limacharlie/lc_errors.h.

#include <map>
#include <optional>
#include <string>

#include <grpcpp/support/status.h>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "google/rpc/error_details.pb.h"

namespace halopsa {

inline constexpr absl::string_view kErrorDomain = "ext-halopsa";

// Stable ErrorInfo reasons (AIP-193) the core raises, or that cross its
// interfaces (server/halo_api.h) and are read on the other side.
inline constexpr absl::string_view kReasonInvalidField = "INVALID_FIELD";
inline constexpr absl::string_view kReasonUpstreamTimeout = "UPSTREAM_TIMEOUT";
inline constexpr absl::string_view kReasonUpstreamBadResponse = "UPSTREAM_BAD_RESPONSE";
// A create whose request may have reached HaloPSA but got no usable answer
// (timeout, connection lost after sending, 500/502/504): it may or may not
// exist. UNAVAILABLE, or DEADLINE_EXCEEDED when time ran out; retriable, and
// with an idempotency key a retry finds the earlier one.
inline constexpr absl::string_view kReasonUpstreamOutcomeUnknown = "UPSTREAM_OUTCOME_UNKNOWN";
// HaloPSA kept refusing (429/503) until the call's deadline left no room for
// another attempt; comes with a RetryInfo.
inline constexpr absl::string_view kReasonUpstreamRateLimited = "UPSTREAM_RATE_LIMITED";
// This service is at its configured limit of calls in flight or queued.
inline constexpr absl::string_view kReasonOverloaded = "OVERLOADED";
// The service stopped before the call could be sent upstream.
inline constexpr absl::string_view kReasonShuttingDown = "SHUTTING_DOWN";
// Replicas share their coordination state in Redis, and Redis cannot be
// reached (or did not answer in time): a call that needs that state
// (keyed creates, links, gateway writes) is refused rather than run
// uncoordinated. UNAVAILABLE, retriable.
inline constexpr absl::string_view kReasonSharedStateUnavailable = "SHARED_STATE_UNAVAILABLE";
// A callback with this idempotency key is still being answered (by this or
// another replica) when the duplicate's deadline comes: UNAVAILABLE,
// retriable; the retry gets the first attempt's reply.
inline constexpr absl::string_view kReasonDuplicateInFlight = "DUPLICATE_IN_FLIGHT";
// A request over one of kRequestJsonLimits (or a body size limit); the
// ErrorInfo metadata names the limit and its value. INVALID_ARGUMENT.
inline constexpr absl::string_view kReasonRequestTooLarge = "REQUEST_TOO_LARGE";
// HaloPSA refused an action's outcome; metadata["setting"] names what to fix.
inline constexpr absl::string_view kReasonOutcomeRefused = "UPSTREAM_OUTCOME_REFUSED";
inline constexpr absl::string_view kReasonNoConnection = "NO_HALOPSA_CONNECTION";

// Attaches ErrorInfo{reason, kErrorDomain, metadata} to `status`.
absl::Status WithErrorInfo(absl::Status status, absl::string_view reason,
                           const std::map<std::string, std::string>& metadata = {});

// The ErrorInfo attached to `status`, if any.
std::optional<google::rpc::ErrorInfo> GetErrorInfo(const absl::Status& status);

// Attaches a google.rpc.RetryInfo: the caller should wait `delay` before
// trying again.
absl::Status WithRetryDelay(absl::Status status, absl::Duration delay);

// The RetryInfo delay attached to `status`, if any.
std::optional<absl::Duration> GetRetryDelay(const absl::Status& status);

// INVALID_ARGUMENT naming `field`, with ErrorInfo and a BadRequest violation.
// The message reads "<field>: <description>".
absl::Status InvalidField(absl::string_view field, absl::string_view description);

// An upstream's HTTP status -> status code, the same for every upstream
// (google-cloud-cpp's REST mapping): 429 and 5xx may succeed when retried.
absl::StatusCode HttpStatusToCode(int http_status);

// An upstream's error text fit for a status message: one line (control
// characters become spaces), trimmed, and made safe by SafeForLog within
// kMaxUpstreamTextBytes.
inline constexpr size_t kMaxUpstreamTextBytes = 512;
std::string UpstreamErrorText(absl::string_view raw);

// A non-2xx answer of an upstream: code by HttpStatusToCode, the adapter's
// `reason`, message "<upstream> <endpoint> answered HTTP <status>: <text>"
// (`text` from UpstreamErrorText; omitted when empty), metadata http_status
// and endpoint (a path without query).
absl::Status UpstreamHttpError(absl::string_view upstream, absl::string_view reason, int http_status,
                               absl::string_view endpoint, absl::string_view text);

// absl -> gRPC: same code and message; payloads become google.rpc.Status
// details in the status' binary details.
grpc::Status ToGrpcStatus(const absl::Status& status);

// gRPC -> absl, the inverse of ToGrpcStatus (ErrorInfo restored as payload).
absl::Status FromGrpcStatus(const grpc::Status& status);

}  // namespace halopsa

#endif  // HALOPSA_SERVER_ERROR_MAPPING_H_

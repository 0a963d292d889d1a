#ifndef HALOPSA_SERVER_ERROR_MAPPING_H_
#define HALOPSA_SERVER_ERROR_MAPPING_H_

// The one place where errors change representation: HaloPSA HTTP answers
// become absl::Status, absl::Status becomes grpc::Status (with
// google.rpc.Status details) and back, and a status code becomes the
// LimaCharlie webhook envelope's HTTP status and `retriable` flag. Every
// mapping is a table below, and every error carries a google.rpc.ErrorInfo
// with a stable reason as an absl::Status payload.

#include <map>
#include <optional>
#include <string>
#include "absl/strings/string_view.h"

#include <grpcpp/support/status.h>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "google/rpc/error_details.pb.h"

namespace halopsa {

inline constexpr absl::string_view kErrorDomain = "ext-halopsa";

// Stable ErrorInfo reasons (AIP-193) for errors the service raises itself.
inline constexpr absl::string_view kReasonInvalidField = "INVALID_FIELD";
inline constexpr absl::string_view kReasonUpstreamTimeout = "UPSTREAM_TIMEOUT";
inline constexpr absl::string_view kReasonUpstreamUnreachable = "UPSTREAM_UNREACHABLE";
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
inline constexpr absl::string_view kReasonTokenRejected = "UPSTREAM_TOKEN_REJECTED";
// A request over one of kRequestJsonLimits (or a body size limit); the
// ErrorInfo metadata names the limit and its value. INVALID_ARGUMENT.
inline constexpr absl::string_view kReasonRequestTooLarge = "REQUEST_TOO_LARGE";
// The token endpoint refused the requested scope (invalid_scope): the scope
// setting names something HaloPSA does not know. FAILED_PRECONDITION.
inline constexpr absl::string_view kReasonInvalidScope = "UPSTREAM_INVALID_SCOPE";
// HaloPSA refused an action's outcome; metadata["setting"] names what to fix.
inline constexpr absl::string_view kReasonOutcomeRefused = "UPSTREAM_OUTCOME_REFUSED";
// The scopes that cover the six actions with least privilege.
inline constexpr absl::string_view kLeastPrivilegeScopes = "edit:tickets edit:assets read:customers";
inline constexpr absl::string_view kReasonNoConnection = "NO_HALOPSA_CONNECTION";
inline constexpr absl::string_view kReasonLimaCharlieApi = "LIMACHARLIE_API_ERROR";

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

// HaloPSA's error text from a response body of any of its shapes: a bare JSON
// string, {"error": ...} (with "error_description"), {"errors": [...]},
// {"message": ...}, field-keyed objects, or plain text. One line, made safe
// by SafeForLog and bounded in length.
std::string HaloErrorText(absl::string_view body);

// The status for a non-2xx HaloPSA answer: code and reason by table, message
// "HaloPSA <endpoint> answered <status>: <Halo's text>", metadata
// http_status and endpoint. `endpoint` is a path without query. A 403 whose
// text names a permission (e.g. "edit:tickets") says that the API
// application lacks it, with metadata missing_permission.
absl::Status FromHaloHttpStatus(int http_status, absl::string_view endpoint,
                                absl::string_view body);

// A non-2xx answer of LimaCharlie's own REST API (hive secrets): the code
// by the same table as HaloPSA's, reason LIMACHARLIE_API_ERROR, message
// "LimaCharlie <endpoint> answered <status>: <its text>", metadata
// http_status and endpoint.
absl::Status FromLimaCharlieHttpStatus(int http_status, absl::string_view endpoint, absl::string_view body);

// A request that got no HTTP answer (timeout, refused connection, TLS
// failure, refused address) keeps the transport's code and gets a reason by
// table and the endpoint in its message and metadata.
absl::Status FromTransportFailure(const absl::Status& failure, absl::string_view endpoint);

// absl -> gRPC: same code and message; payloads become google.rpc.Status
// details in the status' binary details.
grpc::Status ToGrpcStatus(const absl::Status& status);

// gRPC -> absl, the inverse of ToGrpcStatus (ErrorInfo restored as payload).
absl::Status FromGrpcStatus(const grpc::Status& status);

// How a failed call is answered in the LimaCharlie webhook envelope: 400 and
// not retriable when a retry cannot succeed, 500 and retriable otherwise.
struct EnvelopeOutcome {
  int http_status;
  bool retriable;
};
EnvelopeOutcome ToEnvelopeOutcome(absl::StatusCode code);

}  // namespace halopsa

#endif  // HALOPSA_SERVER_ERROR_MAPPING_H_

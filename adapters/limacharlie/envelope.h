#ifndef HALOPSA_ADAPTERS_LIMACHARLIE_ENVELOPE_H_
#define HALOPSA_ADAPTERS_LIMACHARLIE_ENVELOPE_H_

// LimaCharlie extension envelopes (protocol version 20221218): the request
// envelope LimaCharlie POSTs and the response envelope it expects back.

#include <map>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "adapters/net/http_server.h"

namespace halopsa::lc {

inline constexpr int kProtocolVersion = 20221218;

enum class EnvelopeKind { kHeartbeat, kErrorReport, kSchemaRequest, kConfValidation, kRequest, kEvent };

// The envelope key of a kind: "heartbeat", "request", ...
absl::string_view KindName(EnvelopeKind kind);

// The LimaCharlie organization a callback acts for.
struct Org {
  std::string oid;
  std::string jwt;  // short-lived token for LimaCharlie's API; never logged
  std::string ident;
};

struct RequestEnvelope {
  EnvelopeKind kind = EnvelopeKind::kHeartbeat;
  std::string idempotency_key;   // "" when absent
  Org org;                       // conf_validation, request, event (oid required)
  std::string action;            // request
  std::string event_name;        // event
  std::string data_json = "{}";  // request, event: `data` as JSON text, "{}" when absent
  // request/event `config`, conf_validation `conf`: its string values
  // (numbers as their JSON text); null, bool, list and object values are
  // left out.
  std::map<std::string, std::string> config;
  std::string error;      // error_report
  std::string error_oid;  // error_report, "" when absent
};

// Parses the exact body bytes. INVALID_ARGUMENT says what is wrong: not
// JSON, not one known kind, or a kind's content of the wrong shape.
absl::StatusOr<RequestEnvelope> ParseRequestEnvelope(absl::string_view body);

// 200 with {"version":20221218,"data":<data_json>}; `data_json` must be a
// JSON object.
net::ServerResponse SuccessResponse(absl::string_view data_json);

// A request to be called again (lc-extension's ContinuationRequest):
// LimaCharlie sends `action` after `delay_sec` seconds (1..300), with
// `state_json` (a JSON object) as the request's data.
struct Continuation {
  int delay_sec = 1;
  std::string action;
  std::string state_json;
};

// SuccessResponse(data_json) with "continuations": [<continuation>].
net::ServerResponse SuccessResponse(absl::string_view data_json, const Continuation& continuation);

// The answer to a failure: {"version":20221218,"error":<message>,
// "retriable":<bool>} with HTTP status and retriable from
// ToEnvelopeOutcome(status.code()). `status` must not be OK.
net::ServerResponse ErrorResponse(const absl::Status& status);

// An error envelope with an HTTP status outside the 200/400/500 scheme
// (401 bad signature, 413 too large); not retriable.
net::ServerResponse ErrorResponse(int http_status, absl::string_view message);

}  // namespace halopsa::lc

#endif  // HALOPSA_ADAPTERS_LIMACHARLIE_ENVELOPE_H_

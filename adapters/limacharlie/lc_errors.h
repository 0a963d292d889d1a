#ifndef HALOPSA_ADAPTERS_LIMACHARLIE_LC_ERRORS_H_
#define HALOPSA_ADAPTERS_LIMACHARLIE_LC_ERRORS_H_

// LimaCharlie's error boundaries: how a failed call is answered in the
// webhook envelope, and what an answer of LimaCharlie's own REST API (hive
// secrets) becomes.

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace halopsa::lc {

inline constexpr absl::string_view kReasonLimaCharlieApi = "LIMACHARLIE_API_ERROR";

// How a failed call is answered in the LimaCharlie webhook envelope: 400 and
// not retriable when a retry cannot succeed, 500 and retriable otherwise.
struct EnvelopeOutcome {
  int http_status;
  bool retriable;
};
EnvelopeOutcome ToEnvelopeOutcome(absl::StatusCode code);

// A non-2xx answer of LimaCharlie's REST API: the code by the core's table
// (HttpStatusToCode, as for HaloPSA), reason LIMACHARLIE_API_ERROR, message
// "LimaCharlie <endpoint> answered HTTP <status>: <its text>" (the `error`
// of its {"error": ...} body, else the body), metadata http_status and
// endpoint.
absl::Status FromLimaCharlieHttpStatus(int http_status, absl::string_view endpoint, absl::string_view body);

}  // namespace halopsa::lc

#endif  // HALOPSA_ADAPTERS_LIMACHARLIE_LC_ERRORS_H_

#ifndef HALOPSA_ADAPTERS_HALOPSA_HALO_ERRORS_H_
#define HALOPSA_ADAPTERS_HALOPSA_HALO_ERRORS_H_

// HaloPSA's error boundary: what its HTTP answers and the requests that got
// none become. The code of an HTTP answer comes from the core's table
// (HttpStatusToCode in server/error_mapping.h), its reason from the table
// here; a transport failure keeps its code and gets a reason by table.

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace halopsa {

// ErrorInfo reasons only HaloPSA's boundary raises (the table's others are
// in halo_errors.cc; README lists them all).
inline constexpr absl::string_view kReasonUpstreamUnreachable = "UPSTREAM_UNREACHABLE";
inline constexpr absl::string_view kReasonTokenRejected = "UPSTREAM_TOKEN_REJECTED";
// The token endpoint refused the requested scope (invalid_scope): the scope
// setting names something HaloPSA does not know. FAILED_PRECONDITION.
inline constexpr absl::string_view kReasonInvalidScope = "UPSTREAM_INVALID_SCOPE";
// The scopes that cover the six actions with least privilege.
inline constexpr absl::string_view kLeastPrivilegeScopes = "edit:tickets edit:assets read:customers";

// HaloPSA's error text from a response body of any of its shapes: a bare JSON
// string, {"error": ...} (with "error_description"), {"errors": [...]},
// {"message": ...}, field-keyed objects, or plain text; made fit for a
// message by UpstreamErrorText.
std::string HaloErrorText(absl::string_view body);

// The status for a non-2xx HaloPSA answer: code by the core's table, reason
// by HaloPSA's, message "HaloPSA <endpoint> answered HTTP <status>: <Halo's
// text>", metadata http_status and endpoint. `endpoint` is a path without
// query. A 403 whose text names a permission (e.g. "edit:tickets") says that
// the API application lacks it, with metadata missing_permission.
absl::Status FromHaloHttpStatus(int http_status, absl::string_view endpoint, absl::string_view body);

// A request that got no HTTP answer (timeout, refused connection, TLS
// failure, refused address) keeps the transport's code and gets a reason by
// table and the endpoint in its message and metadata.
absl::Status FromTransportFailure(const absl::Status& failure, absl::string_view endpoint);

}  // namespace halopsa

#endif  // HALOPSA_ADAPTERS_HALOPSA_HALO_ERRORS_H_

#ifndef HALOPSA_ADAPTERS_LIMACHARLIE_DEFERRAL_H_
#define HALOPSA_ADAPTERS_LIMACHARLIE_DEFERRAL_H_

// Deferring a write that HaloPSA's request budget cannot serve inside
// LimaCharlie's webhook window: the gateway answers 200 with
// {"deferred": true, "retry_in_sec": N} and a continuation, and LimaCharlie
// calls the hidden action kDeferredAction after N seconds with the original
// request as its data. LimaCharlie holds the deferred work, so it survives
// restarts of every replica.

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "adapters/net/http_server.h"

namespace halopsa::lc {

// The hidden (not user-facing) action a continuation calls.
inline constexpr absl::string_view kDeferredAction = "run_deferred";

// LimaCharlie's bounds of a continuation's delay.
inline constexpr int kMinDeferralSeconds = 1;
inline constexpr int kMaxDeferralSeconds = 300;

// A request carried by a continuation: kDeferredAction's data (`state`).
struct DeferredRequest {
  std::string action;           // one of Actions() that writes
  std::string data_json;        // its original data, a JSON object
  std::string idempotency_key;  // the original callback's key: the one it is deduplicated on
};

// One member of the state, as kDeferredAction's schema publishes it.
struct StateField {
  absl::string_view name;
  absl::string_view data_type;
  absl::string_view label;
  absl::string_view description;
};

// action, data, idempotency_key: every member is required, no other is
// accepted (LimaCharlie checks the state against this schema).
absl::Span<const StateField> DeferredStateFields();

// The state's `action` values: the actions that write.
std::string DeferredActionNames();

// The request in kDeferredAction's data. INVALID_ARGUMENT (ErrorInfo
// INVALID_FIELD) names a missing, unknown or wrongly typed member, or an
// action that is not deferred.
absl::StatusOr<DeferredRequest> ParseDeferredRequest(absl::string_view data_json);

// Seconds to defer a call that failed with `status`, when the request
// budget refused it (UNAVAILABLE, UPSTREAM_RATE_LIMITED, with a RetryInfo
// delay): that delay rounded up into [1, 300]. nullopt for every other
// failure.
std::optional<int> DeferralSeconds(const absl::Status& status);

// 200 with data {"deferred": true, "retry_in_sec": seconds} and one
// continuation calling kDeferredAction after `seconds` with `request` as
// its state.
net::ServerResponse DeferredResponse(const DeferredRequest& request, int seconds);

}  // namespace halopsa::lc

#endif  // HALOPSA_ADAPTERS_LIMACHARLIE_DEFERRAL_H_

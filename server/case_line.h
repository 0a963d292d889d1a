#ifndef HALOPSA_SERVER_CASE_LINE_H_
#define HALOPSA_SERVER_CASE_LINE_H_

// How a mirrored ticket carries its LimaCharlie case: a visible line
// "ext-halopsa case <label> <case id>" at the end of its body, found again
// with HaloPSA's documented search_details filter (the filter the
// idempotency reference and storm deduplication already rely on). The
// label scopes the mirror, so several integrations can share a tenant.

#include <map>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/struct.pb.h"

namespace halopsa {

// Case ids and labels: 1 to 128 letters, digits and . _ : - (no spaces, so
// the line can be read back exactly, and nothing HTML would change).
inline constexpr size_t kMaxCaseTokenBytes = 128;
bool IsCaseToken(absl::string_view text);

// "ext-halopsa case <label> ": what every ticket of the label's mirror carries.
std::string CaseLinePrefix(absl::string_view label);
// "ext-halopsa case <label> <case_id>".
std::string CaseLine(absl::string_view label, absl::string_view case_id);

// The case id of the label's line in `text` (a ticket's plain details or
// its HTML), if it has one. HaloPSA's search matches substrings, so a
// search for one case's line also finds another's whose id starts the same:
// only this exact reading decides.
std::optional<std::string> CaseIdIn(absl::string_view text, absl::string_view label);

// The case id of a ticket as HaloPSA lists it: its plain details, else its
// HTML body.
std::optional<std::string> CaseIdOfTicket(const google::protobuf::Struct& ticket, absl::string_view label);

// The normalised case statuses.
inline constexpr absl::string_view kCaseStatuses[] = {"new", "in_progress", "resolved", "closed"};

// "1:new,2:in_progress,9:closed" -> {1: "new", ...}. INVALID_ARGUMENT for
// anything else (the message names the bad entry, never the whole text).
absl::StatusOr<std::map<int, std::string>> ParseCaseStatusMap(absl::string_view text);

// The case status of HaloPSA status `status_id`: its entry, else in_progress.
std::string CaseStatusOf(const std::map<int, std::string>& map, int status_id);

}  // namespace halopsa

#endif  // HALOPSA_SERVER_CASE_LINE_H_

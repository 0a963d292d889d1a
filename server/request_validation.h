#ifndef HALOPSA_SERVER_REQUEST_VALIDATION_H_
#define HALOPSA_SERVER_REQUEST_VALIDATION_H_

// Checks every request before anything is sent upstream. A failure is
// INVALID_ARGUMENT naming the field (see InvalidField) and what was wrong.

#include "absl/status/status.h"
#include "halopsa/v1/halopsa.pb.h"

namespace halopsa {

// Bounds of a page the service will assemble from HaloPSA's 100-per-page.
inline constexpr int kDefaultPageSize = 50;
inline constexpr int kMaxPageSize = 1000;
inline constexpr int kMaxPageNo = 1000000;

// create_ticket's dedupe window: 60 minutes unless given, a week at most.
inline constexpr int kDefaultDedupeWindowMin = 60;
inline constexpr int kMaxDedupeWindowMin = 7 * 24 * 60;

absl::Status Validate(const v1::CreateTicketRequest& request);
absl::Status Validate(const v1::UpdateTicketRequest& request);
absl::Status Validate(const v1::SearchTicketsRequest& request);
absl::Status Validate(const v1::AddActionRequest& request);
absl::Status Validate(const v1::LinkAssetToTicketRequest& request);
absl::Status Validate(const v1::LookupClientSiteRequest& request);
absl::Status Validate(const v1::MirrorCaseRequest& request);
// The limit only: the watermark and cursor are read by the pull itself.
absl::Status Validate(const v1::PullTicketChangesRequest& request);

// pull_ticket_changes: changes (tickets) per answer.
inline constexpr int kDefaultChangesLimit = 50;
inline constexpr int kMaxChangesLimit = 100;

}  // namespace halopsa

#endif  // HALOPSA_SERVER_REQUEST_VALIDATION_H_

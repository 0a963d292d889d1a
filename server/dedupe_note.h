#ifndef HALOPSA_SERVER_DEDUPE_NOTE_H_
#define HALOPSA_SERVER_DEDUPE_NOTE_H_

// The text storm deduplication writes into HaloPSA: the visible line that
// marks a deduplicating ticket (and dates it), and the private note that
// carries the detections added to it.

#include <cstddef>
#include <optional>
#include <string>

#include <google/protobuf/struct.pb.h>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace halopsa {

// "ext-halopsa dedupe " and ShortDigest of the client and the key: the text
// the ticket list's search_details filter looks for. A different client
// with the same key is a different marker.
std::string DedupeMarker(std::optional<int> client_id, absl::string_view dedupe_key);

// The line a deduplicating ticket's body ends with:
// "<marker> opened 2026-12-01T18:00:00Z". The time is the service's, so the
// ticket's age does not depend on how a tenant formats or zones its dates.
std::string DedupeLine(absl::string_view marker, absl::Time opened);

// When the ticket (a list row or a create's answer) carrying `marker` in
// its details or details_html was opened; nullopt when it carries no
// readable line.
std::optional<absl::Time> OpenedAt(const google::protobuf::Struct& ticket, absl::string_view marker);

// One detection as a merged note keeps it.
struct NoteDetection {
  absl::Time received;  // when it reached this service
  std::string summary;
  std::string details;
};

// Bytes of a merged note's HTML that are not detections (its heading, and
// the idempotency reference line that may follow).
inline constexpr size_t kNoteOverheadBytes = 256;

// One detection's part of a merged note: its UTC time, summary and details
// as HTML, cut (at a character, never inside an entity or tag, ending in
// "…") to at most `max_bytes`.
std::string DetectionHtml(const NoteDetection& detection, size_t max_bytes);

// The merged note: a heading counting the detections, then their parts
// (each from DetectionHtml) in arrival order, separated by a blank line.
std::string MergedNoteHtml(absl::string_view parts_html, size_t count);

}  // namespace halopsa

#endif  // HALOPSA_SERVER_DEDUPE_NOTE_H_

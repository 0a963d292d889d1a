#ifndef HALOPSA_SERVER_CHANGE_WATERMARK_H_
#define HALOPSA_SERVER_CHANGE_WATERMARK_H_

// pull_ticket_changes' watermark and cursor. HaloPSA records times to the
// second (or finer) and its date filters are inclusive at best, so a
// watermark is a time *and* the actions at exactly that time that were
// already delivered: the next pull asks from that time on and leaves those
// out itself, so no action is delivered twice and none at the boundary is
// lost.

#include <optional>
#include <set>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace halopsa {

struct Watermark {
  // InfinitePast: from the beginning.
  absl::Time time = absl::InfinitePast();
  // "<ticket id>.<action id>" of the delivered actions at exactly `time`.
  std::set<std::string> delivered_at_time;

  bool IsBeginning() const { return time == absl::InfinitePast(); }
  // Whether an action at `at` with `key` comes after this watermark.
  bool Admits(absl::Time at, const std::string& key) const;
  // Moves the watermark to include a delivered action.
  void Advance(absl::Time at, const std::string& key);
};

// "<ticket id>.<action id>".
std::string ActionKey(int ticket_id, int action_id);

// "" (the beginning) or "2026-12-01T23:10:05Z" or
// "2026-12-01T23:10:05.25Z;2884.3,2885.1". INVALID_ARGUMENT naming
// `field` when it is none of these.
absl::StatusOr<Watermark> ParseWatermark(absl::string_view text, absl::string_view field = "watermark");
std::string FormatWatermark(const Watermark& watermark);

// A time as HaloPSA writes it ("2026-12-01T23:10:05", maybe with a
// fraction or a Z; UTC), or nullopt.
std::optional<absl::Time> ParseHaloTime(absl::string_view text);
// A time for HaloPSA's date filters: "2026-12-01T23:10:05", UTC.
std::string FormatHaloTime(absl::Time time);

// Where a pull that stopped at its limit goes on.
struct PullCursor {
  Watermark from;      // the pull's watermark
  int page_no = 1;     // the ticket page to read on
  int last_ticket = 0; // tickets up to this id are done
  Watermark next;      // the watermark so far
};

// Opaque to callers (URL-safe base64).
std::string EncodeCursor(const PullCursor& cursor);
absl::StatusOr<PullCursor> DecodeCursor(absl::string_view text);

}  // namespace halopsa

#endif  // HALOPSA_SERVER_CHANGE_WATERMARK_H_

#include "server/change_watermark.h"

#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "server/error_mapping.h"

namespace halopsa {
namespace {

// A watermark names at most this many boundary actions (all at one instant).
constexpr size_t kMaxDeliveredAtTime = 1000;

bool IsActionKey(absl::string_view key) {
  std::pair<absl::string_view, absl::string_view> parts = absl::StrSplit(key, absl::MaxSplits('.', 1));
  int ticket = 0;
  int action = 0;
  return absl::SimpleAtoi(parts.first, &ticket) && absl::SimpleAtoi(parts.second, &action) && ticket > 0 &&
         action > 0;
}

}  // namespace

bool Watermark::Admits(absl::Time at, const std::string& key) const {
  if (at != time) return at > time;
  return !delivered_at_time.contains(key);
}

void Watermark::Advance(absl::Time at, const std::string& key) {
  if (at < time) return;
  if (at > time) {
    time = at;
    delivered_at_time.clear();
  }
  delivered_at_time.insert(key);
}

std::string ActionKey(int ticket_id, int action_id) { return absl::StrCat(ticket_id, ".", action_id); }

std::optional<absl::Time> ParseHaloTime(absl::string_view text) {
  text = absl::StripAsciiWhitespace(text);
  absl::ConsumeSuffix(&text, "Z");
  absl::Time time;
  std::string error;
  if (!absl::ParseTime("%Y-%m-%dT%H:%M:%E*S", std::string(text), absl::UTCTimeZone(), &time, &error)) {
    return std::nullopt;
  }
  return time;
}

std::string FormatHaloTime(absl::Time time) { return absl::FormatTime("%Y-%m-%dT%H:%M:%S", time, absl::UTCTimeZone()); }

absl::StatusOr<Watermark> ParseWatermark(absl::string_view text, absl::string_view field) {
  Watermark watermark;
  if (absl::StripAsciiWhitespace(text).empty()) return watermark;
  std::pair<absl::string_view, absl::string_view> parts = absl::StrSplit(text, absl::MaxSplits(';', 1));
  absl::string_view time_text = parts.first;
  std::optional<absl::Time> time = absl::ConsumeSuffix(&time_text, "Z") ? ParseHaloTime(time_text) : std::nullopt;
  if (!time) {
    return InvalidField(field, "must be a watermark this service answered, e.g. 2026-12-01T23:10:05Z;2884.3");
  }
  watermark.time = *time;
  for (absl::string_view key : absl::StrSplit(parts.second, ',', absl::SkipEmpty())) {
    if (!IsActionKey(key) || watermark.delivered_at_time.size() >= kMaxDeliveredAtTime) {
      return InvalidField(field, "names actions this service did not answer");
    }
    watermark.delivered_at_time.insert(std::string(key));
  }
  return watermark;
}

std::string FormatWatermark(const Watermark& watermark) {
  if (watermark.IsBeginning()) return "";
  std::string text = absl::StrCat(absl::FormatTime("%Y-%m-%dT%H:%M:%E*S", watermark.time, absl::UTCTimeZone()), "Z");
  if (!watermark.delivered_at_time.empty()) absl::StrAppend(&text, ";", absl::StrJoin(watermark.delivered_at_time, ","));
  return text;
}

std::string EncodeCursor(const PullCursor& cursor) {
  return absl::WebSafeBase64Escape(absl::StrCat("v1|", FormatWatermark(cursor.from), "|", cursor.page_no, "|",
                                                cursor.last_ticket, "|", FormatWatermark(cursor.next)));
}

absl::StatusOr<PullCursor> DecodeCursor(absl::string_view text) {
  const absl::Status invalid = InvalidField("cursor", "must be a cursor this service answered");
  std::string plain;
  if (!absl::WebSafeBase64Unescape(text, &plain)) return invalid;
  std::vector<absl::string_view> parts = absl::StrSplit(plain, '|');
  PullCursor cursor;
  if (parts.size() != 5 || parts[0] != "v1" || !absl::SimpleAtoi(parts[2], &cursor.page_no) ||
      !absl::SimpleAtoi(parts[3], &cursor.last_ticket) || cursor.page_no < 1 || cursor.last_ticket < 0) {
    return invalid;
  }
  absl::StatusOr<Watermark> from = ParseWatermark(parts[1], "cursor");
  absl::StatusOr<Watermark> next = ParseWatermark(parts[4], "cursor");
  if (!from.ok() || !next.ok()) return invalid;
  cursor.from = *std::move(from);
  cursor.next = *std::move(next);
  return cursor;
}

}  // namespace halopsa

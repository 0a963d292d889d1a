#include "server/dedupe_note.h"

#include "absl/strings/match.h"
#include "absl/strings/strip.h"
#include "absl/strings/str_cat.h"
#include "server/halo_payloads.h"
#include "server/idempotent_create.h"
#include "server/json_values.h"

namespace halopsa {
namespace {

constexpr absl::string_view kOpened = " opened ";
constexpr absl::string_view kLineTimeFormat = "%Y-%m-%dT%H:%M:%SZ";
constexpr size_t kLineTimeBytes = 20;  // 2026-12-01T18:00:00Z
constexpr absl::string_view kCutMark = "…";

std::optional<absl::Time> TimeAfterMarker(absl::string_view text, absl::string_view marker) {
  size_t at = text.find(marker);
  if (at == absl::string_view::npos) return std::nullopt;
  absl::string_view rest = text.substr(at + marker.size());
  if (!absl::ConsumePrefix(&rest, kOpened)) return std::nullopt;
  absl::Time opened;
  std::string error;
  if (!absl::ParseTime(kLineTimeFormat, rest.substr(0, kLineTimeBytes), absl::UTCTimeZone(), &opened, &error)) {
    return std::nullopt;
  }
  return opened;
}

// The longest prefix of `html` of at most `max_bytes` that ends neither
// inside a UTF-8 sequence nor inside an entity (&amp;) or a tag (<br>).
absl::string_view CutHtml(absl::string_view html, size_t max_bytes) {
  if (html.size() <= max_bytes) return html;
  size_t cut = max_bytes;
  while (cut > 0 && (static_cast<unsigned char>(html[cut]) & 0xC0) == 0x80) --cut;
  size_t open = html.find_last_of("&<", cut == 0 ? 0 : cut - 1);
  if (open != absl::string_view::npos && html.find_first_of(";>", open) >= cut) cut = open;
  return html.substr(0, cut);
}

}  // namespace

std::string DedupeMarker(std::optional<int> client_id, absl::string_view dedupe_key) {
  std::string client = client_id ? absl::StrCat(*client_id) : "";
  return absl::StrCat("ext-halopsa dedupe ", ShortDigest(absl::StrCat(client, "\n", dedupe_key)));
}

std::string DedupeLine(absl::string_view marker, absl::Time opened) {
  return absl::StrCat(marker, kOpened, absl::FormatTime(kLineTimeFormat, opened, absl::UTCTimeZone()));
}

std::optional<absl::Time> OpenedAt(const google::protobuf::Struct& ticket, absl::string_view marker) {
  for (absl::string_view field : {"details", "details_html"}) {
    if (std::optional<absl::Time> opened = TimeAfterMarker(StringField(ticket, field), marker)) return opened;
  }
  return std::nullopt;
}

std::string DetectionHtml(const NoteDetection& detection, size_t max_bytes) {
  std::string html = absl::StrCat(absl::FormatTime("%Y-%m-%d %H:%M:%S UTC", detection.received, absl::UTCTimeZone()),
                                  " — ", PlainTextAsHtml(detection.summary));
  if (!detection.details.empty()) absl::StrAppend(&html, "<br>", PlainTextAsHtml(detection.details));
  if (html.size() <= max_bytes) return html;
  size_t room = max_bytes > kCutMark.size() ? max_bytes - kCutMark.size() : 0;
  return absl::StrCat(CutHtml(html, room), kCutMark);
}

std::string MergedNoteHtml(absl::string_view parts_html, size_t count) {
  return absl::StrCat("<b>ext-halopsa: ", count, count == 1 ? " more detection" : " more detections",
                      " of this ticket's dedupe key</b><br><br>", parts_html);
}

}  // namespace halopsa

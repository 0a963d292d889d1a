#include "server/dedupe_note.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/match.h"
#include "server/json_values.h"

namespace halopsa {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

const absl::Time kOpened = absl::FromUnixSeconds(1'800'000'000);  // 2027-01-15T08:00:00Z

google::protobuf::Struct TicketWith(absl::string_view field, absl::string_view text) {
  google::protobuf::Struct ticket;
  (*ticket.mutable_fields())[std::string(field)] = JsonString(text);
  return ticket;
}

TEST(DedupeMarkerTest, DependsOnTheClientAndTheKey) {
  EXPECT_THAT(DedupeMarker(12, "k"), StartsWith("ext-halopsa dedupe "));
  EXPECT_EQ(DedupeMarker(12, "k").size(), std::string("ext-halopsa dedupe ").size() + 32);
  EXPECT_EQ(DedupeMarker(12, "k"), DedupeMarker(12, "k"));
  EXPECT_NE(DedupeMarker(12, "k"), DedupeMarker(13, "k"));
  EXPECT_NE(DedupeMarker(12, "k"), DedupeMarker(std::nullopt, "k"));
  EXPECT_NE(DedupeMarker(12, "k"), DedupeMarker(12, "k2"));
}

TEST(DedupeLineTest, ItsTimeIsReadBackFromThePlainTextOrTheHtml) {
  const std::string marker = DedupeMarker(12, "k");
  const std::string line = DedupeLine(marker, kOpened);
  EXPECT_EQ(line, marker + " opened 2027-01-15T08:00:00Z");
  EXPECT_EQ(OpenedAt(TicketWith("details", "body\n" + line), marker), kOpened);
  EXPECT_EQ(OpenedAt(TicketWith("details_html", "body<br>" + line + "<br>ext-halopsa ref 00"), marker), kOpened);
  EXPECT_EQ(OpenedAt(TicketWith("details", "body\n" + line), DedupeMarker(13, "k")), std::nullopt);
  EXPECT_EQ(OpenedAt(TicketWith("details", marker + " opened yesterday"), marker), std::nullopt);
}

TEST(DetectionHtmlTest, KeepsTheTimeSummaryAndDetailsEscaped) {
  std::string html = DetectionHtml({kOpened, "cat <b>", "line 1\nline & 2"}, 1000);
  EXPECT_EQ(html, "2027-01-15 08:00:00 UTC — cat &lt;b&gt;<br>line 1<br>line &amp; 2");
}

TEST(DetectionHtmlTest, IsCutNeverInsideAnEntityATagOrACharacter) {
  const NoteDetection detection{kOpened, "s", "ééééé&&&&\n\n\n"};
  const std::string full = DetectionHtml(detection, 10000);
  for (size_t bound = 30; bound < full.size(); ++bound) {
    std::string cut = DetectionHtml(detection, bound);
    ASSERT_LE(cut.size(), bound);
    ASSERT_TRUE(absl::EndsWith(cut, "…")) << cut;
    std::string kept = cut.substr(0, cut.size() - std::string("…").size());
    EXPECT_TRUE(absl::StartsWith(full, kept)) << kept;
    size_t amp = kept.rfind('&');
    EXPECT_TRUE(amp == std::string::npos || kept.find(';', amp) != std::string::npos) << kept;
    size_t tag = kept.rfind('<');
    EXPECT_TRUE(tag == std::string::npos || kept.find('>', tag) != std::string::npos) << kept;
    EXPECT_NE(static_cast<unsigned char>(kept.back()), 0xC3) << kept;  // the first byte of é
  }
}

TEST(MergedNoteHtmlTest, CountsTheDetections) {
  EXPECT_THAT(MergedNoteHtml("a", 1), AllOf(HasSubstr("1 more detection "), Not(HasSubstr("detections"))));
  EXPECT_THAT(MergedNoteHtml("a<br><br>b", 2), HasSubstr("2 more detections"));
}

}  // namespace
}  // namespace halopsa

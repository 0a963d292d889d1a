#include "server/case_line.h"

#include <algorithm>
#include <vector>

#include "absl/algorithm/container.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "server/json_values.h"

namespace halopsa {
namespace {

bool IsCaseTokenChar(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == ':' || c == '-';
}

}  // namespace

bool IsCaseToken(absl::string_view text) {
  return !text.empty() && text.size() <= kMaxCaseTokenBytes && absl::c_all_of(text, IsCaseTokenChar);
}

std::string CaseLinePrefix(absl::string_view label) { return absl::StrCat("ext-halopsa case ", label, " "); }

std::string CaseLine(absl::string_view label, absl::string_view case_id) {
  return absl::StrCat(CaseLinePrefix(label), case_id);
}

std::optional<std::string> CaseIdIn(absl::string_view text, absl::string_view label) {
  const std::string prefix = CaseLinePrefix(label);
  for (size_t at = text.find(prefix); at != absl::string_view::npos; at = text.find(prefix, at + 1)) {
    // The line starts the text or a line of it ("... case Lima" must not
    // match inside "... case OtherLima").
    if (at > 0 && IsCaseTokenChar(text[at - 1])) continue;
    const size_t start = at + prefix.size();
    size_t end = start;
    while (end < text.size() && IsCaseTokenChar(text[end])) ++end;
    absl::string_view id = text.substr(start, end - start);
    if (IsCaseToken(id)) return std::string(id);
  }
  return std::nullopt;
}

absl::StatusOr<std::map<int, std::string>> ParseCaseStatusMap(absl::string_view text) {
  std::map<int, std::string> map;
  for (absl::string_view entry : absl::StrSplit(text, ',', absl::SkipWhitespace())) {
    std::pair<absl::string_view, absl::string_view> parts = absl::StrSplit(entry, absl::MaxSplits(':', 1));
    int status_id = 0;
    const absl::string_view status = absl::StripAsciiWhitespace(parts.second);
    if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(parts.first), &status_id) || status_id <= 0 ||
        !absl::c_linear_search(kCaseStatuses, status)) {
      return absl::InvalidArgumentError(
          absl::StrCat("entry ", map.size() + 1,
                       " is not <HaloPSA status id>:<new|in_progress|resolved|closed>, e.g. 9:closed"));
    }
    map[status_id] = std::string(status);
  }
  return map;
}

std::string CaseStatusOf(const std::map<int, std::string>& map, int status_id) {
  auto it = map.find(status_id);
  return it == map.end() ? "in_progress" : it->second;
}

std::optional<std::string> CaseIdOfTicket(const google::protobuf::Struct& ticket, absl::string_view label) {
  std::optional<std::string> case_id = CaseIdIn(StringField(ticket, "details"), label);
  return case_id ? case_id : CaseIdIn(StringField(ticket, "details_html"), label);
}

}  // namespace halopsa

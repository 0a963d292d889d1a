#include "simulator/html_text.h"

#include <array>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/strip.h"

namespace halopsa::sim {
namespace {

constexpr std::array<std::pair<absl::string_view, absl::string_view>, 6> kEntities = {{
    {"&lt;", "<"}, {"&gt;", ">"}, {"&quot;", "\""}, {"&#39;", "'"}, {"&nbsp;", " "}, {"&amp;", "&"},
}};

// A tag starts with '<' and a letter, '/' or '!': "a < b" stays text.
bool StartsTag(absl::string_view rest) {
  if (rest.size() < 2 || rest[0] != '<') return false;
  const unsigned char next = static_cast<unsigned char>(rest[1]);
  return absl::ascii_isalpha(next) || next == '/' || next == '!';
}

// Tags whose place becomes a line break in the plain text.
bool BreaksLine(absl::string_view tag) {
  absl::string_view name = tag.substr(1);  // after '<'
  const bool closing = absl::ConsumePrefix(&name, "/");
  const std::string lower = absl::AsciiStrToLower(name.substr(0, name.find_first_of(" \t\r\n/>")));
  return lower == "br" || (closing && (lower == "p" || lower == "div" || lower == "li"));
}

}  // namespace

std::string HtmlToText(absl::string_view html) {
  std::string text;
  while (!html.empty()) {
    if (absl::StartsWith(html, "<!--")) {
      const size_t end = html.find("-->");
      html.remove_prefix(end == absl::string_view::npos ? html.size() : end + 3);
      continue;
    }
    if (StartsTag(html)) {
      const size_t end = html.find('>');
      const absl::string_view tag = html.substr(0, end == absl::string_view::npos ? html.size() : end);
      if (BreaksLine(tag)) text.push_back('\n');
      html.remove_prefix(end == absl::string_view::npos ? html.size() : end + 1);
      continue;
    }
    bool decoded = false;
    for (const auto& [entity, character] : kEntities) {
      if (absl::StartsWith(html, entity)) {
        text.append(character.data(), character.size());
        html.remove_prefix(entity.size());
        decoded = true;
        break;
      }
    }
    if (decoded) continue;
    text.push_back(html.front());
    html.remove_prefix(1);
  }
  return std::string(absl::StripTrailingAsciiWhitespace(text));
}

}  // namespace halopsa::sim

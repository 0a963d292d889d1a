#include "server/logger.h"

#include <algorithm>
#include <array>
#include <cstdint>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace halopsa {
namespace {

constexpr std::array<absl::string_view, 4> kLevelNames = {"debug", "info", "warning", "error"};
constexpr absl::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD
constexpr absl::string_view kEllipsis = "\xE2\x80\xA6";     // U+2026

// Length of the valid UTF-8 sequence at the start of `text` (RFC 3629: no
// overlong forms, no surrogates, nothing above U+10FFFF); 0 if invalid.
size_t ValidSequenceLength(absl::string_view text) {
  const auto byte = [&text](size_t i) { return static_cast<unsigned char>(text[i]); };
  const unsigned char lead = byte(0);
  if (lead < 0x80) return 1;
  size_t length;
  uint32_t code_point;
  if ((lead & 0xE0) == 0xC0) {
    length = 2;
    code_point = lead & 0x1F;
  } else if ((lead & 0xF0) == 0xE0) {
    length = 3;
    code_point = lead & 0x0F;
  } else if ((lead & 0xF8) == 0xF0) {
    length = 4;
    code_point = lead & 0x07;
  } else {
    return 0;
  }
  if (text.size() < length) return 0;
  for (size_t i = 1; i < length; ++i) {
    if ((byte(i) & 0xC0) != 0x80) return 0;
    code_point = (code_point << 6) | (byte(i) & 0x3F);
  }
  constexpr uint32_t kSmallest[] = {0, 0, 0x80, 0x800, 0x10000};
  if (code_point < kSmallest[length] || code_point > 0x10FFFF) return 0;
  if (code_point >= 0xD800 && code_point <= 0xDFFF) return 0;
  return length;
}

// True when `text` may be written as it is (the common case: no copy).
bool IsSafeForLog(absl::string_view text) {
  if (text.size() > kMaxLoggedTextBytes) return false;
  for (size_t i = 0; i < text.size();) {
    const size_t length = ValidSequenceLength(text.substr(i));
    if (length == 0) return false;
    i += length;
  }
  return true;
}

}  // namespace

std::string SafeForLog(absl::string_view text, size_t max_bytes) {
  std::string safe;
  safe.reserve(std::min(text.size(), max_bytes) + kEllipsis.size());
  size_t i = 0;
  while (i < text.size()) {
    const size_t length = ValidSequenceLength(text.substr(i));
    const size_t adds = length == 0 ? kReplacement.size() : length;
    if (safe.size() + adds > max_bytes) break;
    if (length == 0) {
      safe.append(kReplacement.data(), kReplacement.size());
      ++i;
    } else {
      safe.append(text.data() + i, length);
      i += length;
    }
  }
  if (i < text.size()) safe.append(kEllipsis.data(), kEllipsis.size());
  return safe;
}

absl::StatusOr<LogLevel> ParseLogLevel(absl::string_view name) {
  std::string lower = absl::AsciiStrToLower(name);
  for (size_t i = 0; i < kLevelNames.size(); ++i) {
    if (lower == kLevelNames[i]) return static_cast<LogLevel>(i);
  }
  return absl::InvalidArgumentError(absl::StrCat("unknown log level '", name, "'; use debug, info, warning or error"));
}

void Logger::Log(LogLevel level, absl::string_view message, std::initializer_list<LogField> fields) {
  if (!Enabled(level)) return;
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  auto string = [&writer](absl::string_view text) {
    if (IsSafeForLog(text)) {
      writer.String(text.data(), static_cast<rapidjson::SizeType>(text.size()));
    } else {
      const std::string safe = SafeForLog(text);
      writer.String(safe.data(), static_cast<rapidjson::SizeType>(safe.size()));
    }
  };
  writer.StartObject();
  string("ts");
  string(absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(), absl::UTCTimeZone()));
  string("level");
  string(kLevelNames[static_cast<int>(level)]);
  string("msg");
  string(message);
  for (const LogField& field : fields) {
    string(field.key);
    std::visit(
        [&](const auto& value) {
          using T = std::decay_t<decltype(value)>;
          if constexpr (std::is_same_v<T, absl::string_view>) {
            string(value);
          } else if constexpr (std::is_same_v<T, int64_t>) {
            writer.Int64(value);
          } else if constexpr (std::is_same_v<T, double>) {
            writer.Double(value);
          } else {
            writer.Bool(value);
          }
        },
        field.value);
  }
  writer.EndObject();
  absl::MutexLock lock(&mutex_);
  std::fwrite(buffer.GetString(), 1, buffer.GetSize(), out_);
  std::fputc('\n', out_);
  std::fflush(out_);
}

}  // namespace halopsa

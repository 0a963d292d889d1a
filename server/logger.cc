#include "server/logger.h"

#include <array>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace halopsa {
namespace {

constexpr std::array<absl::string_view, 4> kLevelNames = {"debug", "info", "warning", "error"};

}  // namespace

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
    writer.String(text.data(), static_cast<rapidjson::SizeType>(text.size()));
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

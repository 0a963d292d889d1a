#ifndef HALOPSA_SERVER_LOGGER_H_
#define HALOPSA_SERVER_LOGGER_H_

#include <cstdint>
#include <cstdio>
#include <initializer_list>
#include <string>
#include <variant>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"

namespace halopsa {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3 };

absl::StatusOr<LogLevel> ParseLogLevel(absl::string_view name);

// Untrusted text made fit for a log line, an error message or a protobuf
// string: valid UTF-8 (each byte of an invalid sequence becomes U+FFFD) and
// at most `max_bytes` (longer text is cut on a character boundary and ends
// with "…"). The one function for whatever a client or an upstream sent.
inline constexpr size_t kMaxLoggedTextBytes = 4096;
std::string SafeForLog(absl::string_view text, size_t max_bytes = kMaxLoggedTextBytes);

struct LogField {
  absl::string_view key;
  std::variant<absl::string_view, int64_t, double, bool> value;
};

// Structured logs: one JSON object per line on the given stream, written
// whole so concurrent lines never interleave; every string passes through
// SafeForLog, so each line is valid UTF-8 JSON whatever bytes arrived. Callers choose every field;
// secrets (client secrets, tokens, signing keys) are never passed in.
class Logger {
 public:
  explicit Logger(LogLevel min_level, std::FILE* out = stdout) : min_level_(min_level), out_(out) {}

  bool Enabled(LogLevel level) const { return level >= min_level_; }
  void Log(LogLevel level, absl::string_view message, std::initializer_list<LogField> fields);

 private:
  const LogLevel min_level_;
  std::FILE* const out_;
  absl::Mutex mutex_;
};

}  // namespace halopsa

#endif  // HALOPSA_SERVER_LOGGER_H_

#ifndef HALOPSA_ADAPTERS_LIMACHARLIE_GZIP_H_
#define HALOPSA_ADAPTERS_LIMACHARLIE_GZIP_H_

#include <cstddef>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace halopsa::lc {

// Decodes one gzip member. INVALID_ARGUMENT when `data` is not gzip, is
// truncated or has bytes after the member; RESOURCE_EXHAUSTED as soon as the
// output would exceed `max_output_bytes` (so a zip bomb costs at most that).
absl::StatusOr<std::string> Gunzip(absl::string_view data, size_t max_output_bytes);

// gzip-encodes `data` (how LimaCharlie sends bodies; used by test clients).
std::string Gzip(absl::string_view data);

}  // namespace halopsa::lc

#endif  // HALOPSA_ADAPTERS_LIMACHARLIE_GZIP_H_

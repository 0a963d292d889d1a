#ifndef HALOPSA_ADAPTERS_LIMACHARLIE_SIGNATURE_H_
#define HALOPSA_ADAPTERS_LIMACHARLIE_SIGNATURE_H_

#include <string>

#include "absl/strings/string_view.h"

namespace halopsa::lc {

// The header LimaCharlie signs every extension callback with.
inline constexpr absl::string_view kSignatureHeader = "lc-ext-sig";

// Lowercase hex HMAC-SHA256 of `body` keyed with `secret`: the value of
// lc-ext-sig for that body (what LimaCharlie sends, and test clients too).
std::string Sign(absl::string_view secret, absl::string_view body);

// True when `signature` is exactly Sign(secret, body). The comparison takes
// the same time wherever the first difference is; a wrong length or upper
// case hex never matches.
bool VerifySignature(absl::string_view secret, absl::string_view body, absl::string_view signature);

}  // namespace halopsa::lc

#endif  // HALOPSA_ADAPTERS_LIMACHARLIE_SIGNATURE_H_

#ifndef HALOPSA_ADAPTERS_LIMACHARLIE_CALLBACK_OPENER_H_
#define HALOPSA_ADAPTERS_LIMACHARLIE_CALLBACK_OPENER_H_

#include <cstddef>
#include <string>
#include <variant>

#include "adapters/limacharlie/envelope.h"
#include "adapters/limacharlie/failure_throttle.h"
#include "adapters/net/http_server.h"

namespace halopsa::lc {

// The checks a LimaCharlie callback passes before its envelope is read:
// body size, Content-Encoding (gzip inflated up to a bound), the lc-ext-sig
// signature over the decoded bytes, and the throttle on sources that keep
// failing it. Thread-safe.
class CallbackOpener {
 public:
  // `signing_secret` empty: every signed callback is refused (401).
  CallbackOpener(std::string signing_secret, size_t max_body_bytes, size_t max_decoded_body_bytes,
                 FailureThrottleOptions signature_failures)
      : signing_secret_(std::move(signing_secret)),
        max_body_bytes_(max_body_bytes),
        max_decoded_body_bytes_(max_decoded_body_bytes),
        signature_failures_(signature_failures) {}

  // The envelope of a callback that passed the checks, or the answer
  // refusing it. Until the signature holds, every refusal spends the
  // source's failure budget.
  std::variant<RequestEnvelope, net::ServerResponse> Open(const net::ServerRequest& request);

 private:
  // The body with its Content-Encoding undone, or the answer refusing it.
  std::variant<std::string, net::ServerResponse> Decode(const net::ServerRequest& request) const;

  const std::string signing_secret_;  // never logged
  const size_t max_body_bytes_;
  const size_t max_decoded_body_bytes_;
  FailureThrottle signature_failures_;
};

}  // namespace halopsa::lc

#endif  // HALOPSA_ADAPTERS_LIMACHARLIE_CALLBACK_OPENER_H_

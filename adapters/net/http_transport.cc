#include "adapters/net/http_transport.h"

#include <utility>

#include "absl/strings/cord.h"

namespace halopsa::net {
namespace {

// A payload only this process sets and reads; it never crosses a wire.
constexpr char kNotSentPayload[] = "type.ext-halopsa/net.RequestNotSent";

}  // namespace

absl::Status MarkNotSent(absl::Status failure) {
  if (!failure.ok()) failure.SetPayload(kNotSentPayload, absl::Cord());
  return failure;
}

bool WasNotSent(const absl::Status& failure) {
  return !failure.ok() && failure.GetPayload(kNotSentPayload).has_value();
}

}  // namespace halopsa::net

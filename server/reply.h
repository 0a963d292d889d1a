#ifndef HALOPSA_SERVER_REPLY_H_
#define HALOPSA_SERVER_REPLY_H_

#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"

namespace halopsa {

// How an action answers its caller: exactly once, with the response or why not.
template <typename Response>
using Reply = absl::AnyInvocable<void(absl::StatusOr<Response>)>;

}  // namespace halopsa

#endif  // HALOPSA_SERVER_REPLY_H_

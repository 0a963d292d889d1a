#ifndef HALOPSA_SERVER_REQUEST_LIMITS_H_
#define HALOPSA_SERVER_REQUEST_LIMITS_H_

// Refusing oversized requests before they cost memory: the gRPC service
// checks a request's serialized bytes before protobuf parses them, the
// gateway checks its JSON before building protobuf objects from it.

#include <cstddef>

#include <google/protobuf/descriptor.h>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "server/json_values.h"

namespace halopsa {

// INVALID_ARGUMENT "request exceeds <limit> (<value>)" with ErrorInfo
// REQUEST_TOO_LARGE and metadata {limit, value}: not retriable, the same
// request is always refused.
absl::Status RequestLimitExceeded(const JsonLimitExceeded& exceeded);

// Checks a serialized message of `type` against `limits` without parsing it
// into objects: its size, and the google.protobuf.Value messages anywhere
// in it (each is a JSON node; nesting counts Value levels), by
// JsonLimitCounter. Malformed bytes are INVALID_ARGUMENT too.
absl::Status CheckSerializedRequest(absl::string_view wire, const google::protobuf::Descriptor& type,
                                    const JsonLimits& limits = kRequestJsonLimits);

}  // namespace halopsa

#endif  // HALOPSA_SERVER_REQUEST_LIMITS_H_

#ifndef HALOPSA_ADAPTERS_LIMACHARLIE_SETUP_HINTS_H_
#define HALOPSA_ADAPTERS_LIMACHARLIE_SETUP_HINTS_H_

#include "absl/status/status.h"

namespace halopsa::lc {

// `status` with what an MSP engineer should check put before its message
// when its ErrorInfo reason points at the org's configuration (the
// instance_url, the credentials, the scope, the API application's
// permissions); other statuses as they are.
absl::Status WithSetupHint(const absl::Status& status);

}  // namespace halopsa::lc

#endif  // HALOPSA_ADAPTERS_LIMACHARLIE_SETUP_HINTS_H_

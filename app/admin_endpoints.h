#ifndef HALOPSA_APP_ADMIN_ENDPOINTS_H_
#define HALOPSA_APP_ADMIN_ENDPOINTS_H_

#include <functional>

#include "adapters/net/http_server.h"
#include "server/metrics.h"

namespace halopsa {

// The admin listener's routes, kept off the public webhook port:
// GET /healthz (the process answers), /readyz (200 only while `ready()`),
// /metrics (Prometheus text format). Anything else is 404.
net::RequestHandler AdminHandler(const MetricsRegistry& metrics, std::function<bool()> ready);

}  // namespace halopsa

#endif  // HALOPSA_APP_ADMIN_ENDPOINTS_H_

#include "app/admin_endpoints.h"

#include <utility>

namespace halopsa {

net::RequestHandler AdminHandler(const MetricsRegistry& metrics, std::function<bool()> ready) {
  return [&metrics, ready = std::move(ready)](net::ServerRequest request, net::Responder respond) {
    std::string path = request.target.substr(0, request.target.find('?'));
    if (request.method != "GET") return respond({405, "text/plain", {{"Allow", "GET"}}, "GET only\n"});
    if (path == "/healthz") return respond({200, "text/plain", {}, "ok\n"});
    if (path == "/readyz") {
      return ready() ? respond({200, "text/plain", {}, "ready\n"})
                     : respond({503, "text/plain", {}, "not ready\n"});
    }
    if (path == "/metrics") return respond({200, "text/plain; version=0.0.4", {}, metrics.Render()});
    respond({404, "text/plain", {}, "not found\n"});
  };
}

}  // namespace halopsa

#ifndef HALOPSA_ADAPTERS_NET_HTTP_TRANSPORT_H_
#define HALOPSA_ADAPTERS_NET_HTTP_TRANSPORT_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace halopsa::net {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

// One HTTP request to an absolute URL ("https://host[:port]/path?query").
struct HttpRequest {
  std::string method;  // "GET" or "POST"
  std::string url;
  HeaderList headers;  // Host, Content-Length and User-Agent are set by the transport.
  std::string body;
  // Sending it twice does no harm (an update that sets the same values
  // again). GET and HEAD always count as idempotent. Only idempotent requests
  // are sent again after a kept-alive connection broke once they were written.
  bool idempotent = false;
};

// Any HTTP answer, whatever its status: an error status is a value here and
// becomes an absl::Status in the caller (see adapters/halopsa/halo_errors.h).
struct HttpResponse {
  int status = 0;
  std::string content_type;
  std::string body;
};

// Asynchronous HTTP client. `done` runs exactly once, on a transport thread,
// never inside Send(). A non-OK status means no complete response arrived:
// DEADLINE_EXCEEDED when `deadline` (or a per-step timeout) passed,
// UNAVAILABLE for connection failures, PERMISSION_DENIED for refused
// destinations, FAILED_PRECONDITION for TLS verification failures,
// INVALID_ARGUMENT for a URL the transport cannot use. Failures that
// happened before any byte of the request was written carry MarkNotSent();
// for the others the server may have received and processed the request.
class HttpTransport {
 public:
  using Callback = absl::AnyInvocable<void(absl::StatusOr<HttpResponse>)>;

  virtual ~HttpTransport() = default;
  virtual void Send(HttpRequest request, absl::Time deadline, Callback done) = 0;
};

// Marks `failure` as one that certainly never reached the server.
absl::Status MarkNotSent(absl::Status failure);
// True for failures marked by MarkNotSent(): safe to send again, whatever
// the request does.
bool WasNotSent(const absl::Status& failure);

}  // namespace halopsa::net

#endif  // HALOPSA_ADAPTERS_NET_HTTP_TRANSPORT_H_

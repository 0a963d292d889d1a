#ifndef HALOPSA_ADAPTERS_HALOPSA_HALO_REQUEST_SENDER_H_
#define HALOPSA_ADAPTERS_HALOPSA_HALO_REQUEST_SENDER_H_

#include <optional>
#include <string>

#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "adapters/halopsa/retry_policy.h"
#include "adapters/net/http_transport.h"
#include "server/halo_api.h"

namespace halopsa {

// One HaloPSA API request as it goes down the layers of HaloRestClient.
struct HaloRequest {
  std::string method;  // GET or POST
  std::string url;
  std::string endpoint;      // the path without query: names the request in errors and metrics
  std::string body;          // POST only: JSON
  bool repeatable = true;    // sending it twice does no harm (reads, updates)
  std::string bearer_token;  // set by AuthenticatingSender
};

// What a layer passes back up for one request.
struct HaloAnswer {
  // HaloPSA's answer, whatever its HTTP status, or why there is none.
  absl::StatusOr<net::HttpResponse> response;
  // Set when a layer above the transport failed (no token, no budget
  // slot): what a retry may do about it. Unset for the transport's results,
  // which the retry table classifies.
  std::optional<AttemptFailure> unsent = std::nullopt;
};

// One layer of HaloRestClient: each wraps the next one down to the
// transport (the stack is composed in HaloRestClient). `done` runs exactly
// once, maybe before Send returns.
class HaloRequestSender {
 public:
  using Callback = absl::AnyInvocable<void(HaloAnswer)>;

  virtual ~HaloRequestSender() = default;
  virtual void Send(const CallContext& context, HaloRequest request, Callback done) = 0;
};

// The bottom layer: the request as HTTP over the transport, within the
// call's deadline. POSTs carry whether they are repeatable, so that the
// transport resends on a fresh connection only those.
class TransportSender final : public HaloRequestSender {
 public:
  explicit TransportSender(net::HttpTransport& transport) : transport_(transport) {}

  void Send(const CallContext& context, HaloRequest request, Callback done) override;

 private:
  net::HttpTransport& transport_;
};

}  // namespace halopsa

#endif  // HALOPSA_ADAPTERS_HALOPSA_HALO_REQUEST_SENDER_H_

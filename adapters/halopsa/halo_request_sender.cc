#include "adapters/halopsa/halo_request_sender.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace halopsa {

void TransportSender::Send(const CallContext& context, HaloRequest request, Callback done) {
  net::HttpRequest http;
  http.method = std::move(request.method);
  http.url = std::move(request.url);
  http.headers = {{"Authorization", absl::StrCat("Bearer ", request.bearer_token)}, {"Accept", "application/json"}};
  if (http.method == "POST") {
    http.headers.emplace_back("Content-Type", "application/json");
    http.body = std::move(request.body);
    http.idempotent = request.repeatable;
  }
  transport_.Send(std::move(http), context.deadline, [done = std::move(done)](
                                                         absl::StatusOr<net::HttpResponse> response) mutable {
    done(HaloAnswer{std::move(response)});
  });
}

}  // namespace halopsa

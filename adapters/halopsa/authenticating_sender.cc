#include "adapters/halopsa/authenticating_sender.h"

#include <string>
#include <utility>

namespace halopsa {

void AuthenticatingSender::Send(const CallContext& context, HaloRequest request, Callback done) {
  tokens_.Get(context, [this, context, request = std::move(request),
                        done = std::move(done)](absl::StatusOr<std::string> token) mutable {
    if (!token.ok()) return done(HaloAnswer{token.status(), ClassifyTokenFailure(token.status())});
    request.bearer_token = *token;
    next_.Send(context, std::move(request),
               [this, connection = context.connection, token = *std::move(token),
                done = std::move(done)](HaloAnswer answer) mutable {
                 if (answer.response.ok() && answer.response->status == 401) tokens_.Invalidate(*connection, token);
                 done(std::move(answer));
               });
  });
}

}  // namespace halopsa

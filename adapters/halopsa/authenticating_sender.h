#ifndef HALOPSA_ADAPTERS_HALOPSA_AUTHENTICATING_SENDER_H_
#define HALOPSA_ADAPTERS_HALOPSA_AUTHENTICATING_SENDER_H_

#include "adapters/halopsa/halo_request_sender.h"
#include "adapters/halopsa/token_cache.h"

namespace halopsa {

// Gives every request the connection's bearer token from the TokenCache.
// On a 401 it drops that token, so that the next attempt (the retrying
// layer resends at once) fetches a fresh one. A failed token request is the
// answer, marked with what a retry may do (ClassifyTokenFailure).
class AuthenticatingSender final : public HaloRequestSender {
 public:
  AuthenticatingSender(HaloRequestSender& next, TokenCache& tokens) : next_(next), tokens_(tokens) {}

  void Send(const CallContext& context, HaloRequest request, Callback done) override;

 private:
  HaloRequestSender& next_;
  TokenCache& tokens_;
};

}  // namespace halopsa

#endif  // HALOPSA_ADAPTERS_HALOPSA_AUTHENTICATING_SENDER_H_

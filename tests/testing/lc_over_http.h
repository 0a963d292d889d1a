#ifndef HALOPSA_TESTS_TESTING_LC_OVER_HTTP_H_
#define HALOPSA_TESTS_TESTING_LC_OVER_HTTP_H_

#include <algorithm>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "adapters/net/http_server.h"
#include "tests/testing/lc_test_client.h"
#include "tests/testing/test_http_client.h"

namespace halopsa::lc::testing {

// LimaCharlie POSTing over HTTP to a gateway on loopback `port`. No answer
// at all (a broken connection, or none within `timeout`) reads as status 0,
// which LimaCharlie retries.
inline FakeLimaCharlie LimaCharlieAt(int port, std::string signing_secret,
                                     absl::Duration timeout = absl::Seconds(5)) {
  return FakeLimaCharlie(std::move(signing_secret), [port, timeout](net::ServerRequest request) {
    net::ServerResponse response;
    response.status = 0;
    auto answer = halopsa::testing::Fetch(port, /*tls=*/false, request.method, request.target, request.body,
                                          request.headers, timeout);
    if (!answer.ok()) return response;
    response.status = answer->status;
    response.content_type = answer->Header("Content-Type");
    response.body = answer->body;
    return response;
  });
}

// How LimaCharlie redelivers an action whose answer was a retriable failure.
struct Redelivery {
  int max_deliveries = 15;
  // Wait before the second delivery, doubling up to max_backoff (LimaCharlie
  // backs off; zero = at once).
  absl::Duration first_backoff = absl::ZeroDuration();
  absl::Duration max_backoff = absl::ZeroDuration();
  // No delivery starts after this long.
  absl::Duration give_up_after = absl::InfiniteDuration();
};

struct Delivered {
  int deliveries = 0;
  int final_status = 0;
  std::string last_error;
  std::string final_body;
  // The error texts of the answers that were redelivered (status 0: none).
  std::vector<std::string> retried_errors;
};

// Delivers one action like LimaCharlie: `send(n)` makes delivery n (from 0,
// the same envelope and idempotency key each time, possibly to another
// replica), again while the answer is not a success or a final 400.
inline Delivered DeliverUntilDone(const std::function<Reply(int delivery)>& send, const Redelivery& policy = {}) {
  Delivered outcome;
  absl::Duration backoff = policy.first_backoff;
  const absl::Time give_up = absl::Now() + policy.give_up_after;
  while (outcome.deliveries < policy.max_deliveries && absl::Now() < give_up) {
    if (outcome.deliveries > 0 && backoff > absl::ZeroDuration()) {
      absl::SleepFor(backoff);  // LimaCharlie's own pause between deliveries, not a synchronisation
      backoff = std::min(backoff * 2, policy.max_backoff);
    }
    Reply reply = send(outcome.deliveries++);
    outcome.final_status = reply.status;
    outcome.last_error = reply.error();
    outcome.final_body = reply.body;
    if (reply.status == 200 || (reply.status == 400 && reply.retriable() == false)) break;
    outcome.retried_errors.push_back(reply.error());
  }
  return outcome;
}

}  // namespace halopsa::lc::testing

#endif  // HALOPSA_TESTS_TESTING_LC_OVER_HTTP_H_

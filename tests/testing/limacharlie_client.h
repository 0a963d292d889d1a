#ifndef HALOPSA_TESTS_TESTING_LIMACHARLIE_CLIENT_H_
#define HALOPSA_TESTS_TESTING_LIMACHARLIE_CLIENT_H_

// LimaCharlie's extension manager as an alert storm meets it (issue 12), for
// the storm benchmark and the storm end-to-end test: each call is signed and
// gzipped like LimaCharlie's (lc::testing::FakeLimaCharlie::Build) and POSTed
// to the gateway over loopback, and the answer is treated as LimaCharlie
// treats it (lc-extension-protocol.md, "Added 2026-12-01"):
// - a 5xx answer, or none within the webhook timeout (2 minutes), is
//   delivered again with the same envelope and idempotency key: 3 attempts
//   in all, the pauses 1 s doubling up to 15 s with jitter; a 4xx is final;
// - a 200 carrying `continuations` makes one new call per continuation after
//   its `in_delay_sec`, with its `action`, its `state` as the request data
//   and the idempotency key `<key of the call that answered>:<level>`
//   (level 1 for a detection's first continuation, 2 for a continuation's
//   continuation, ...); that call follows the same rules.
// Asynchronous: pauses wait on timers and calls run on the transport's
// event loop, so hundreds of detections in flight need no thread each.

#include <cstdint>
#include <memory>
#include <random>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "adapters/net/beast_http_transport.h"
#include "adapters/net/scheduler.h"
#include "tests/testing/lc_test_client.h"

namespace halopsa::testing {

struct LimaCharlieOptions {
  int gateway_port = 0;  // on 127.0.0.1, plain HTTP (TLS ends at the ingress)
  std::string signing_secret;
  // Multiplies the delays LimaCharlie chooses itself (the pauses between
  // attempts and the webhook timeout) so that a storm whose budget window is
  // scaled down the same way keeps its proportions. Continuations'
  // in_delay_sec is the service's own estimate, in the service's real
  // seconds, and is honoured as given. 1 = LimaCharlie's own timing.
  double time_scale = 1;
  int max_attempts = 3;
  absl::Duration first_backoff = absl::Seconds(1);
  absl::Duration max_backoff = absl::Seconds(15);
  absl::Duration webhook_timeout = absl::Minutes(2);
  // A chain deeper than this is given up as lost (LimaCharlie's own bound
  // is not documented; the service must never need this many).
  int max_continuation_depth = 50;
  size_t max_connections = 2048;  // LimaCharlie opens one per call in flight
  uint64_t seed = 1;              // of the jitter
};

// One D&R `extension request` (or API call).
struct LimaCharlieCall {
  lc::testing::TestOrg org;
  std::string action;
  std::string data_json;
  lc::testing::Config config;  // the org's extension config
  std::string idempotency_key;
};

// How a call ended, continuations included.
struct CallOutcome {
  // Every call of the chain ended with a 200 that asked for no further
  // continuation; false means LimaCharlie gave up: the detection is lost.
  bool succeeded = false;
  int final_status = 0;  // of the last answer; 0 = none (timeout, broken connection)
  std::string final_error;
  std::string final_data_json;  // the data of the last answer
  int deliveries = 0;           // webhooks sent, retries and continuations included
  int retries = 0;              // deliveries repeated after a 5xx or no answer
  int deferrals = 0;            // continuations followed
  int max_level = 0;            // deepest continuation level
  absl::Duration elapsed;       // from the first delivery to the last answer
};

class LimaCharlieClient {
 public:
  using Done = absl::AnyInvocable<void(CallOutcome)>;

  static absl::StatusOr<std::unique_ptr<LimaCharlieClient>> Create(LimaCharlieOptions options);
  // Calls still under way end as not succeeded, with final_error "abandoned".
  ~LimaCharlieClient();

  LimaCharlieClient(const LimaCharlieClient&) = delete;
  LimaCharlieClient& operator=(const LimaCharlieClient&) = delete;

  // Delivers `call` at `when` (at once when past); `done` runs once, on a
  // client thread, when the whole chain has ended.
  void CallAt(absl::Time when, LimaCharlieCall call, Done done);

  // Calls begun and not yet ended.
  int in_flight() const;
  // Waits until no call is under way; false when `bound` passed first.
  bool WaitUntilIdle(absl::Duration bound) const;

 private:
  struct Chain;
  struct Attempt;

  explicit LimaCharlieClient(LimaCharlieOptions options);
  void Deliver(std::shared_ptr<Attempt> attempt);
  void Answered(std::shared_ptr<Attempt> attempt, lc::testing::Reply reply);
  void FollowContinuations(const std::shared_ptr<Attempt>& attempt, const lc::testing::Reply& reply);
  void EndBranch(const std::shared_ptr<Chain>& chain, bool succeeded, const lc::testing::Reply* reply);
  absl::Duration Backoff(int failed_deliveries);
  absl::Duration Scaled(absl::Duration duration) const { return duration * options_.time_scale; }

  const LimaCharlieOptions options_;
  const lc::testing::FakeLimaCharlie signer_;

  mutable absl::Mutex mu_;
  int in_flight_ ABSL_GUARDED_BY(mu_) = 0;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::mt19937_64 random_ ABSL_GUARDED_BY(mu_);

  // The timer runs on the transport's io_context: the destructor ends it
  // first, then the transport, whose callbacks no longer schedule by then.
  std::unique_ptr<net::BeastHttpTransport> transport_;
  std::unique_ptr<net::IoContextScheduler> timer_;
};

}  // namespace halopsa::testing

#endif  // HALOPSA_TESTS_TESTING_LIMACHARLIE_CLIENT_H_

#ifndef HALOPSA_ADAPTERS_LIMACHARLIE_REPLY_CACHE_H_
#define HALOPSA_ADAPTERS_LIMACHARLIE_REPLY_CACHE_H_

#include <string>
#include <utility>

#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "adapters/net/http_server.h"

namespace halopsa::lc {

// Set on replies given to a duplicate instead of running it again.
inline constexpr char kReplayHeader[] = "Idempotent-Replay";

// The replies of LimaCharlie callbacks per (oid, idempotency_key), so that a
// retried callback is answered without running twice and a duplicate that
// arrives while the first attempt runs waits for its reply. Kept in this
// process (InMemoryReplyCache) or shared by every replica (Redis).
class ReplyCache {
 public:
  using Key = std::pair<std::string, std::string>;  // (oid, idempotency_key)
  using Waiter = absl::AnyInvocable<void(absl::StatusOr<net::ServerResponse>)>;
  using Run = absl::AnyInvocable<void()>;

  virtual ~ReplyCache() = default;

  // Either calls `run` — this is the first attempt: the caller runs it and
  // calls Finish(key, ...) once, and `waiter` gets that reply — or answers
  // `waiter` with an earlier attempt's reply (with kReplayHeader), waiting
  // for it while that attempt runs, until `deadline`. Fails `waiter` when
  // the store cannot tell (SHARED_STATE_UNAVAILABLE) or the earlier attempt
  // still runs at `deadline`; then nothing runs. Never blocks a thread.
  virtual void Join(const Key& key, absl::Time deadline, Waiter waiter, Run run) = 0;

  // Answers the first attempt's waiter (and duplicates waiting here) with
  // `reply`, and keeps it for later retries when `remember`.
  virtual void Finish(const Key& key, const net::ServerResponse& reply, bool remember) = 0;
};

// `reply` as given to a duplicate.
inline net::ServerResponse AsReplay(net::ServerResponse reply) {
  reply.headers.emplace_back(kReplayHeader, "true");
  return reply;
}

}  // namespace halopsa::lc

#endif  // HALOPSA_ADAPTERS_LIMACHARLIE_REPLY_CACHE_H_

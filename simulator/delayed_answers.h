#ifndef HALOPSA_SIMULATOR_DELAYED_ANSWERS_H_
#define HALOPSA_SIMULATOR_DELAYED_ANSWERS_H_

#include <map>
#include <optional>
#include <thread>

#include "absl/base/call_once.h"
#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "adapters/net/http_server.h"

namespace halopsa::sim {

// Writes answers after a delay without holding up the server's threads: one
// thread of its own sends each answer when it is due, earliest first.
class DelayedAnswers {
 public:
  DelayedAnswers();
  DelayedAnswers(const DelayedAnswers&) = delete;
  DelayedAnswers& operator=(const DelayedAnswers&) = delete;
  ~DelayedAnswers();  // Stop()

  // Answers through `respond` once `delay` has passed; at once, on the
  // calling thread, when there is no delay or after Stop().
  void Send(absl::Duration delay, net::Responder respond, net::ServerResponse response);
  // Sends every pending answer now, without waiting for it to be due, and
  // joins the thread. Idempotent.
  void Stop();

 private:
  struct Pending {
    net::Responder respond;
    net::ServerResponse response;
  };

  void SendWhenDue();  // the sender thread
  // Blocks until the earliest answer is due (or Stop() was called) and takes
  // it; nullopt once stopped with nothing left.
  std::optional<Pending> TakeDue();

  absl::Mutex mu_;
  absl::CondVar changed_;
  // By due time; answers due at the same time keep their order.
  std::multimap<absl::Time, Pending> pending_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  absl::once_flag stop_once_;
  std::thread sender_;
};

}  // namespace halopsa::sim

#endif  // HALOPSA_SIMULATOR_DELAYED_ANSWERS_H_

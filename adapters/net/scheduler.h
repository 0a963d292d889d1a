#ifndef HALOPSA_ADAPTERS_NET_SCHEDULER_H_
#define HALOPSA_ADAPTERS_NET_SCHEDULER_H_

#include <cstdint>
#include <map>
#include <cstddef>
#include <thread>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/functional/any_invocable.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace halopsa::net {

// Runs work later without holding a thread per waiter: how a call waits for
// its rate-limit slot or its next retry.
class Scheduler {
 public:
  using Task = absl::AnyInvocable<void()>;

  virtual ~Scheduler() = default;

  // Runs `task` exactly once, at `when` or soon after, never inside RunAt().
  virtual void RunAt(absl::Time when, Task task) = 0;
};

// One thread running tasks in time order. Tasks must not block: they hand
// work to asynchronous APIs. The destructor runs every task still waiting at
// once (so each still runs exactly once; tasks they schedule meanwhile run
// too), then joins the thread. Destroy it after everything that schedules.
class TimerThread final : public Scheduler {
 public:
  TimerThread();
  ~TimerThread() override;

  TimerThread(const TimerThread&) = delete;
  TimerThread& operator=(const TimerThread&) = delete;

  void RunAt(absl::Time when, Task task) override;

  size_t waiting() const;  // tasks not yet run

  // Runs every waiting task now, on the calling thread (for shutdown).
  void RunWaitingNow();

 private:
  void Loop();

  mutable absl::Mutex mu_;
  // Keyed by (time, arrival order): equal times run first come, first served.
  std::map<std::pair<absl::Time, uint64_t>, Task> tasks_ ABSL_GUARDED_BY(mu_);
  uint64_t next_sequence_ ABSL_GUARDED_BY(mu_) = 0;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace halopsa::net

#endif  // HALOPSA_ADAPTERS_NET_SCHEDULER_H_

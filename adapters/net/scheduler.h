#ifndef HALOPSA_ADAPTERS_NET_SCHEDULER_H_
#define HALOPSA_ADAPTERS_NET_SCHEDULER_H_

#include <cstddef>
#include <memory>

#include "absl/functional/any_invocable.h"
#include "absl/time/time.h"

namespace boost::asio {
class io_context;
}  // namespace boost::asio

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

// Tasks in time order (equal times first come, first served) on one Asio
// timer of an io_context the process already runs (the transport's): no
// thread of its own. Tasks run one at a time on the io_context's threads and
// must not block: they hand work to asynchronous APIs. Thread-safe.
//
// The destructor runs every task still waiting at once, on the caller (so
// each still runs exactly once; tasks they schedule meanwhile run too),
// waits for a task the timer started, and cancels the timer. Destroy it
// after everything that schedules, before the io_context stops running (for
// the transport's: before the transport), and never from inside a task.
class IoContextScheduler final : public Scheduler {
 public:
  explicit IoContextScheduler(boost::asio::io_context& io_context);
  ~IoContextScheduler() override;

  IoContextScheduler(const IoContextScheduler&) = delete;
  IoContextScheduler& operator=(const IoContextScheduler&) = delete;

  void RunAt(absl::Time when, Task task) override;

  size_t waiting() const;  // tasks not yet run

  // Runs every waiting task now, on the calling thread (for shutdown).
  void RunWaitingNow();

 private:
  struct State;  // shared with the timer's pending wait, which may outlive this object
  std::shared_ptr<State> state_;
};

}  // namespace halopsa::net

#endif  // HALOPSA_ADAPTERS_NET_SCHEDULER_H_

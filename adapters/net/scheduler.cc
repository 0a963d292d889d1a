#include "adapters/net/scheduler.h"

#include <cstdint>
#include <map>
#include <optional>
#include <utility>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/system/error_code.hpp>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "adapters/net/steady_time.h"

namespace halopsa::net {

namespace asio = boost::asio;

struct IoContextScheduler::State {
  explicit State(asio::io_context& io_context)
      : strand(asio::make_strand(io_context)), timer(strand) {}

  // Keyed by (time, arrival order): equal times run first come, first served.
  using Tasks = std::map<std::pair<absl::Time, uint64_t>, Task>;

  // Sets the timer for the earliest task, unless it is set early enough
  // already. On the strand only: the timer is not thread-safe.
  static void Arm(const std::shared_ptr<State>& self) {
    absl::Time next;
    {
      absl::MutexLock lock(&self->mu);
      if (self->stopped || self->tasks.empty()) return;
      next = self->tasks.begin()->first.first;
    }
    if (self->armed_for && *self->armed_for <= next) return;
    self->armed_for = next;
    self->timer.expires_at(SteadyAfter(next - absl::Now()));  // ends the wait set before
    self->timer.async_wait([self](const boost::system::error_code& ec) {
      if (ec != asio::error::operation_aborted) RunDue(self);
    });
  }

  // The timer went off: runs the tasks due by now, in order. On the strand.
  static void RunDue(const std::shared_ptr<State>& self) {
    self->armed_for.reset();
    std::vector<Task> due;
    {
      absl::MutexLock lock(&self->mu);
      if (self->stopped) return;
      const absl::Time now = absl::Now();
      while (!self->tasks.empty() && self->tasks.begin()->first.first <= now) {
        due.push_back(std::move(self->tasks.begin()->second));
        self->tasks.erase(self->tasks.begin());
      }
      self->running = true;
    }
    for (Task& task : due) task();
    {
      absl::MutexLock lock(&self->mu);
      self->running = false;
    }
    Arm(self);
  }

  asio::strand<asio::io_context::executor_type> strand;
  asio::steady_timer timer;
  std::optional<absl::Time> armed_for;  // on the strand: when the timer's wait ends

  mutable absl::Mutex mu;
  Tasks tasks ABSL_GUARDED_BY(mu);
  uint64_t next_sequence ABSL_GUARDED_BY(mu) = 0;
  bool running ABSL_GUARDED_BY(mu) = false;  // tasks RunDue took are running
  bool stopped ABSL_GUARDED_BY(mu) = false;  // the destructor has begun
};

IoContextScheduler::IoContextScheduler(asio::io_context& io_context)
    : state_(std::make_shared<State>(io_context)) {}

IoContextScheduler::~IoContextScheduler() {
  {
    absl::MutexLock lock(&state_->mu);
    state_->stopped = true;
    // What a running task touches may go once this returns.
    state_->mu.Await(absl::Condition(
        +[](bool* running) { return !*running; }, &state_->running));
  }
  while (waiting() > 0) RunWaitingNow();
  asio::post(state_->strand, [state = state_] { state->timer.cancel(); });
}

void IoContextScheduler::RunAt(absl::Time when, Task task) {
  bool earliest;
  {
    absl::MutexLock lock(&state_->mu);
    const State::Tasks::key_type key(when, state_->next_sequence++);
    earliest = state_->tasks.empty() || key < state_->tasks.begin()->first;
    state_->tasks.emplace(key, std::move(task));
  }
  // Through the strand even when due now: never inside RunAt().
  if (earliest) asio::post(state_->strand, [state = state_] { State::Arm(state); });
}

size_t IoContextScheduler::waiting() const {
  absl::MutexLock lock(&state_->mu);
  return state_->tasks.size();
}

void IoContextScheduler::RunWaitingNow() {
  State::Tasks tasks;
  {
    absl::MutexLock lock(&state_->mu);
    tasks.swap(state_->tasks);
  }
  for (auto& [when, task] : tasks) task();
}

}  // namespace halopsa::net

#include "adapters/net/scheduler.h"

#include <vector>

#include "absl/time/clock.h"

namespace halopsa::net {

TimerThread::TimerThread() : thread_([this] { Loop(); }) {}

TimerThread::~TimerThread() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  thread_.join();
}

void TimerThread::RunAt(absl::Time when, Task task) {
  absl::MutexLock lock(&mu_);
  tasks_.emplace(std::make_pair(when, next_sequence_++), std::move(task));
}

size_t TimerThread::waiting() const {
  absl::MutexLock lock(&mu_);
  return tasks_.size();
}

void TimerThread::RunWaitingNow() {
  std::map<std::pair<absl::Time, uint64_t>, Task> tasks;
  {
    absl::MutexLock lock(&mu_);
    tasks.swap(tasks_);
  }
  for (auto& [when, task] : tasks) task();
}

void TimerThread::Loop() {
  absl::MutexLock lock(&mu_);
  while (!(stopping_ && tasks_.empty())) {
    const absl::Time next = tasks_.empty() ? absl::InfiniteFuture() : tasks_.begin()->first.first;
    if (!stopping_ && next > absl::Now()) {
      // Wake for shutdown, for a task earlier than `next`, or at `next`.
      const auto changed = [this, next]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return stopping_ || (!tasks_.empty() && tasks_.begin()->first.first < next);
      };
      mu_.AwaitWithDeadline(absl::Condition(&changed), next);
      continue;
    }
    std::vector<Task> ready;
    const absl::Time now = absl::Now();
    while (!tasks_.empty() && (stopping_ || tasks_.begin()->first.first <= now)) {
      ready.push_back(std::move(tasks_.begin()->second));
      tasks_.erase(tasks_.begin());
    }
    mu_.Unlock();
    for (Task& task : ready) task();
    mu_.Lock();
  }
}

}  // namespace halopsa::net

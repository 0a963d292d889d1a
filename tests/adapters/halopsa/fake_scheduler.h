#ifndef HALOPSA_TESTS_ADAPTERS_HALOPSA_FAKE_SCHEDULER_H_
#define HALOPSA_TESTS_ADAPTERS_HALOPSA_FAKE_SCHEDULER_H_

#include <utility>
#include <vector>

#include "adapters/net/scheduler.h"

namespace halopsa::testing {

// Keeps scheduled tasks until the test runs them, on the test's thread.
class FakeScheduler : public net::Scheduler {
 public:
  void RunAt(absl::Time when, Task task) override { tasks_.emplace_back(when, std::move(task)); }

  // Runs the tasks scheduled so far, oldest first; returns their times.
  std::vector<absl::Time> RunScheduled() {
    std::vector<std::pair<absl::Time, Task>> due;
    due.swap(tasks_);
    std::vector<absl::Time> times;
    for (auto& [when, task] : due) {
      times.push_back(when);
      task();
    }
    return times;
  }

  size_t waiting() const { return tasks_.size(); }

 private:
  std::vector<std::pair<absl::Time, Task>> tasks_;
};

}  // namespace halopsa::testing

#endif  // HALOPSA_TESTS_ADAPTERS_HALOPSA_FAKE_SCHEDULER_H_

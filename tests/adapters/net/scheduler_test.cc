#include "adapters/net/scheduler.h"

#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"

namespace halopsa::net {
namespace {

constexpr absl::Duration kWaitLimit = absl::Seconds(10);

// Task names in the order they ran, and the threads they ran on.
class RunLog {
 public:
  Scheduler::Task Entry(int name) {
    return [this, name] {
      absl::MutexLock lock(&mu_);
      names_.push_back(name);
      threads_.push_back(std::this_thread::get_id());
    };
  }
  bool WaitFor(size_t n) {
    absl::MutexLock lock(&mu_);
    const auto enough = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return names_.size() >= n; };
    return mu_.AwaitWithTimeout(absl::Condition(&enough), kWaitLimit);
  }
  std::vector<int> names() const {
    absl::MutexLock lock(&mu_);
    return names_;
  }
  std::vector<std::thread::id> threads() const {
    absl::MutexLock lock(&mu_);
    return threads_;
  }

 private:
  mutable absl::Mutex mu_;
  std::vector<int> names_ ABSL_GUARDED_BY(mu_);
  std::vector<std::thread::id> threads_ ABSL_GUARDED_BY(mu_);
};

// The scheduler runs on an io_context with one thread, as the transport's.
class IoContextSchedulerTest : public ::testing::Test {
 protected:
  ~IoContextSchedulerTest() override {
    io_context_.stop();
    io_thread_.join();
  }

  boost::asio::io_context io_context_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_{io_context_.get_executor()};
  std::thread io_thread_{[this] { io_context_.run(); }};
};

TEST_F(IoContextSchedulerTest, RunsTasksInTimeOrderNotArrivalOrder) {
  RunLog log;
  IoContextScheduler timer(io_context_);
  absl::Notification release;
  const absl::Time now = absl::Now();
  // The first task holds the thread, so the others are all due when it returns.
  timer.RunAt(now, [&release] { release.WaitForNotificationWithTimeout(kWaitLimit); });
  timer.RunAt(now + absl::Milliseconds(30), log.Entry(3));
  timer.RunAt(now + absl::Milliseconds(10), log.Entry(1));
  timer.RunAt(now + absl::Milliseconds(20), log.Entry(2));
  timer.RunAt(now + absl::Milliseconds(20), log.Entry(22));  // same time: arrival order
  release.Notify();

  ASSERT_TRUE(log.WaitFor(4));
  EXPECT_EQ(log.names(), (std::vector<int>{1, 2, 22, 3}));
  EXPECT_EQ(log.threads()[0], io_thread_.get_id()) << "on the io_context's thread, none of its own";
}

TEST_F(IoContextSchedulerTest, AnEarlierTaskAddedLaterDoesNotWaitBehindALaterOne) {
  RunLog log;
  IoContextScheduler timer(io_context_);
  timer.RunAt(absl::Now() + absl::Hours(1), log.Entry(2));
  timer.RunAt(absl::Now(), log.Entry(1));

  ASSERT_TRUE(log.WaitFor(1));
  EXPECT_EQ(log.names(), std::vector<int>{1});
  EXPECT_EQ(timer.waiting(), 1u);
}

TEST_F(IoContextSchedulerTest, RunWaitingNowRunsEveryWaitingTaskOnTheCaller) {
  RunLog log;
  IoContextScheduler timer(io_context_);
  timer.RunAt(absl::Now() + absl::Hours(2), log.Entry(2));
  timer.RunAt(absl::Now() + absl::Hours(1), log.Entry(1));

  timer.RunWaitingNow();

  EXPECT_EQ(log.names(), (std::vector<int>{1, 2}));
  EXPECT_EQ(log.threads()[0], std::this_thread::get_id());
  EXPECT_EQ(timer.waiting(), 0u);
}

TEST_F(IoContextSchedulerTest, DestructionRunsWaitingTasksOnceIncludingTheyScheduleMeanwhile) {
  RunLog log;
  {
    IoContextScheduler timer(io_context_);
    timer.RunAt(absl::Now() + absl::Hours(1), log.Entry(1));
    timer.RunAt(absl::Now() + absl::Hours(2), [&timer, &log] { timer.RunAt(absl::Now() + absl::Hours(3), log.Entry(2)); });
  }
  EXPECT_EQ(log.names(), (std::vector<int>{1, 2}));
}

// Once destroyed, the scheduler leaves nothing on the io_context: the
// transport's threads can finish instead of waiting for a cancelled task's time.
TEST(IoContextSchedulerShutdownTest, DestructionLeavesNoTimerBehind) {
  RunLog log;
  boost::asio::io_context io_context;  // not running: nothing can race the destructor
  std::optional<IoContextScheduler> timer(std::in_place, io_context);
  timer->RunAt(absl::Now() + absl::Hours(1), log.Entry(1));
  io_context.poll();  // the timer is set
  timer.reset();
  EXPECT_EQ(log.names(), std::vector<int>{1});

  io_context.run_for(absl::ToChronoNanoseconds(kWaitLimit));
  EXPECT_TRUE(io_context.stopped()) << "work was left on the io_context";
}

}  // namespace
}  // namespace halopsa::net

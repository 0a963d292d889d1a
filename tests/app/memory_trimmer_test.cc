#include "app/memory_trimmer.h"

#include <atomic>
#include <memory>
#include <thread>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <gtest/gtest.h>

#include "tests/testing/eventually.h"

namespace halopsa {
namespace {

// The trimmer's timer runs on the io_context it is given (no thread of its
// own) and stops with the trimmer.
class MemoryTrimmerTest : public ::testing::Test {
 protected:
  ~MemoryTrimmerTest() override {
    work_.reset();
    io_context_.stop();
    io_thread_.join();
  }

  boost::asio::io_context io_context_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_{io_context_.get_executor()};
  std::thread io_thread_{[this] { io_context_.run(); }};
  // Shared with the release, which may run once more after the trimmer goes.
  std::shared_ptr<std::atomic<int>> releases_ = std::make_shared<std::atomic<int>>(0);
  std::atomic<std::thread::id> released_on_;
};

TEST_F(MemoryTrimmerTest, ReleasesEveryPeriodOnTheIoContextsThread) {
  MemoryTrimmer trimmer(io_context_, absl::Milliseconds(5), [releases = releases_, this] {
    released_on_ = std::this_thread::get_id();
    ++*releases;
  });
  EXPECT_TRUE(testing::Eventually([&] { return *releases_ >= 3; }));
  EXPECT_EQ(released_on_.load(), io_thread_.get_id());
}

TEST_F(MemoryTrimmerTest, StopsWithTheTrimmer) {
  auto trimmer = std::make_unique<MemoryTrimmer>(io_context_, absl::Milliseconds(1),
                                                 [releases = releases_] { ++*releases; });
  ASSERT_TRUE(testing::Eventually([&] { return *releases_ >= 1; }));
  trimmer.reset();
  // Once the stop has run on the io_context (work posted after it runs
  // after it), at most one release that was already due may follow.
  std::atomic<bool> drained = false;
  boost::asio::post(io_context_, [&] { drained = true; });
  ASSERT_TRUE(testing::Eventually([&] { return drained.load(); }));
  const int after_stop = *releases_;
  std::atomic<bool> later = false;
  auto guard = std::make_shared<boost::asio::steady_timer>(io_context_, std::chrono::milliseconds(20));
  guard->async_wait([&](const boost::system::error_code&) { later = true; });
  ASSERT_TRUE(testing::Eventually([&] { return later.load(); }));
  EXPECT_LE(*releases_, after_stop + 1);
}

}  // namespace
}  // namespace halopsa

#ifndef HALOPSA_TESTS_ADAPTERS_REDIS_REDIS_TEST_SUPPORT_H_
#define HALOPSA_TESTS_ADAPTERS_REDIS_REDIS_TEST_SUPPORT_H_

#include <future>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include "absl/functional/any_invocable.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "adapters/redis/redis_client.h"
#include "adapters/redis/redis_url.h"
#include "gtest/gtest.h"
#include "tests/testing/eventually.h"
#include "tests/testing/redis_server_process.h"

namespace halopsa::redis::testing {

// An io_context run by two threads, as the upstream transport's is.
class IoThreads {
 public:
  IoThreads() : work_(boost::asio::make_work_guard(io_)) {
    for (int i = 0; i < 2; ++i) threads_.emplace_back([this] { io_.run(); });
  }
  ~IoThreads() {
    work_.reset();
    for (std::thread& thread : threads_) thread.join();
  }
  boost::asio::io_context& io() { return io_; }

 private:
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  std::vector<std::thread> threads_;
};

// A callback for an asynchronous call and a bounded wait for its result.
template <typename T>
class Awaited {
 public:
  absl::AnyInvocable<void(T)> Callback() {
    return [this](T value) { promise_.set_value(std::move(value)); };
  }
  T Get(absl::Duration bound = absl::Seconds(10)) {
    std::future<T> future = promise_.get_future();
    if (future.wait_for(absl::ToChronoNanoseconds(bound)) != std::future_status::ready) {
      ADD_FAILURE() << "no answer within " << bound;
      std::abort();  // the callback would write into a dead promise
    }
    return future.get();
  }

 private:
  std::promise<T> promise_;
};

inline RedisOptions OptionsFor(const std::string& url) {
  absl::StatusOr<RedisEndpoint> endpoint = ParseRedisUrl(url);
  EXPECT_TRUE(endpoint.ok()) << endpoint.status();
  RedisOptions options;
  options.endpoint = endpoint.ok() ? *endpoint : RedisEndpoint();
  options.min_reconnect_delay = absl::Milliseconds(5);
  options.max_reconnect_delay = absl::Milliseconds(50);
  return options;
}

using ::halopsa::testing::Eventually;

// One command, waited for.
inline absl::StatusOr<RedisReply> RunCommand(RedisClient& client, std::vector<std::string> args,
                                      absl::Duration deadline = absl::Seconds(5)) {
  Awaited<absl::StatusOr<RedisReply>> reply;
  client.Command(std::move(args), absl::Now() + deadline, reply.Callback());
  return reply.Get();
}

}  // namespace halopsa::redis::testing

#endif  // HALOPSA_TESTS_ADAPTERS_REDIS_REDIS_TEST_SUPPORT_H_

#ifndef HALOPSA_TESTS_TESTING_CALLBACK_RESULT_H_
#define HALOPSA_TESTS_TESTING_CALLBACK_RESULT_H_

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace halopsa::testing {

// How long a test waits for a callback it expects, unless it says otherwise.
inline constexpr absl::Duration kCallbackBound = absl::Seconds(10);

// The answer a callback delivers, for a test to wait on. `Result` is an
// absl::Status or absl::StatusOr<T>. When the callback never fires, Await()
// fails the test with a message and returns a DEADLINE_EXCEEDED result, so
// the test ends with a failure instead of reading an empty answer (a crash
// that stops every test after it in the binary). The state is shared with
// the callback, which may fire on any thread, even after the test gave up.
template <typename Result>
class CallbackResult {
 public:
  // `what` names the answer in the failure, e.g. "the link's answer".
  explicit CallbackResult(std::string what = "the callback") : state_(std::make_shared<State>()) {
    state_->what = std::move(what);
  }

  // The callback to hand to the code under test. A second answer fails the
  // test.
  std::function<void(Result)> Callback() const {
    return [state = state_](Result result) {
      absl::MutexLock lock(&state->mu);
      EXPECT_FALSE(state->result.has_value()) << state->what << " came twice";
      state->result = std::move(result);
    };
  }

  // Whether the answer is there, without waiting.
  bool fired() const {
    absl::MutexLock lock(&state_->mu);
    return state_->result.has_value();
  }

  // The answer, once it came within `bound`. A move-only answer (e.g. a
  // unique_ptr) is moved out: take it once.
  Result Await(absl::Duration bound = kCallbackBound) const {
    absl::MutexLock lock(&state_->mu);
    if (!state_->mu.AwaitWithTimeout(absl::Condition(state_.get(), &State::Arrived), bound)) {
      const std::string message = absl::StrCat(state_->what, " never came (waited ", absl::FormatDuration(bound), ")");
      ADD_FAILURE() << message;
      return Result(absl::DeadlineExceededError(message));
    }
    if constexpr (std::is_copy_constructible_v<Result>) {
      return *state_->result;
    } else {
      return std::move(*state_->result);
    }
  }

 private:
  struct State {
    absl::Mutex mu;
    std::string what;
    std::optional<Result> result ABSL_GUARDED_BY(mu);

    bool Arrived() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) { return result.has_value(); }
  };

  std::shared_ptr<State> state_;
};

}  // namespace halopsa::testing

#endif  // HALOPSA_TESTS_TESTING_CALLBACK_RESULT_H_

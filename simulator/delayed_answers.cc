#include "simulator/delayed_answers.h"

#include <utility>

#include "absl/time/clock.h"

namespace halopsa::sim {

DelayedAnswers::DelayedAnswers() : sender_([this] { SendWhenDue(); }) {}

DelayedAnswers::~DelayedAnswers() { Stop(); }

void DelayedAnswers::Send(absl::Duration delay, net::Responder respond,
                          net::ServerResponse response) {
  if (delay > absl::ZeroDuration()) {
    absl::MutexLock lock(&mu_);
    if (!stopping_) {
      pending_.emplace(absl::Now() + delay,
                       Pending{.respond = std::move(respond), .response = std::move(response)});
      changed_.Signal();
      return;
    }
  }
  respond(std::move(response));
}

void DelayedAnswers::Stop() {
  absl::call_once(stop_once_, [this] {
    {
      absl::MutexLock lock(&mu_);
      stopping_ = true;
      changed_.Signal();
    }
    sender_.join();
  });
}

void DelayedAnswers::SendWhenDue() {
  while (std::optional<Pending> due = TakeDue()) due->respond(std::move(due->response));
}

std::optional<DelayedAnswers::Pending> DelayedAnswers::TakeDue() {
  absl::MutexLock lock(&mu_);
  while (true) {
    if (pending_.empty()) {
      if (stopping_) return std::nullopt;
      changed_.Wait(&mu_);
      continue;
    }
    const auto earliest = pending_.begin();
    if (stopping_ || absl::Now() >= earliest->first) {
      return std::move(pending_.extract(earliest).mapped());
    }
    changed_.WaitWithDeadline(&mu_, earliest->first);
  }
}

}  // namespace halopsa::sim

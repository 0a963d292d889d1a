#include "app/memory_trimmer.h"

#include <malloc.h>

#include <utility>

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

namespace halopsa {

struct MemoryTrimmer::Timer {
  Timer(boost::asio::io_context& io_context, absl::Duration period, std::function<void()> release)
      : strand(boost::asio::make_strand(io_context)),
        timer(strand),
        period(absl::ToChronoNanoseconds(period)),
        release(std::move(release)) {}

  // Only on the strand: the timer is not thread-safe.
  static void Arm(const std::shared_ptr<Timer>& self) {
    if (self->stopped) return;
    self->timer.expires_after(self->period);
    self->timer.async_wait([self](const boost::system::error_code& error) {
      if (error || self->stopped) return;
      self->release();
      Arm(self);
    });
  }

  boost::asio::strand<boost::asio::io_context::executor_type> strand;
  boost::asio::steady_timer timer;
  const std::chrono::nanoseconds period;
  const std::function<void()> release;
  bool stopped = false;  // on the strand
};

std::function<void()> MemoryTrimmer::DefaultRelease() {
  return [] { malloc_trim(0); };
}

MemoryTrimmer::MemoryTrimmer(boost::asio::io_context& io_context, absl::Duration period,
                             std::function<void()> release)
    : timer_(std::make_shared<Timer>(io_context, period, std::move(release))) {
  boost::asio::post(timer_->strand, [timer = timer_] { Timer::Arm(timer); });
}

MemoryTrimmer::~MemoryTrimmer() {
  boost::asio::post(timer_->strand, [timer = timer_] {
    timer->stopped = true;
    timer->timer.cancel();
  });
}

}  // namespace halopsa

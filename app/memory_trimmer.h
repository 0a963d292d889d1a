#ifndef HALOPSA_APP_MEMORY_TRIMMER_H_
#define HALOPSA_APP_MEMORY_TRIMMER_H_

#include <functional>
#include <memory>

#include <boost/asio/io_context.hpp>

#include "absl/time/time.h"

namespace halopsa {

// Gives the heap's free pages back to the system every `period` (glibc's
// malloc_trim by default): after a burst of large requests, memory the
// allocator keeps for reuse would otherwise stay resident (README,
// Security: measured). A timer on `io_context`, no thread of its own; the
// io_context must outlive it. Stops in its destructor, without waiting:
// `release` may run once more then, so it must not refer to what dies
// with the trimmer's owner.
class MemoryTrimmer {
 public:
  MemoryTrimmer(boost::asio::io_context& io_context, absl::Duration period,
                std::function<void()> release = DefaultRelease());
  ~MemoryTrimmer();

  MemoryTrimmer(const MemoryTrimmer&) = delete;
  MemoryTrimmer& operator=(const MemoryTrimmer&) = delete;

  static std::function<void()> DefaultRelease();

 private:
  struct Timer;  // shared with the pending wait, which may outlive this object
  std::shared_ptr<Timer> timer_;
};

}  // namespace halopsa

#endif  // HALOPSA_APP_MEMORY_TRIMMER_H_

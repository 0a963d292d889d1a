#include "app/memory_trimmer.h"

#include <malloc.h>

namespace halopsa {

MemoryTrimmer::MemoryTrimmer(absl::Duration period) : period_(period), thread_([this] { Loop(); }) {}

MemoryTrimmer::~MemoryTrimmer() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  thread_.join();
}

void MemoryTrimmer::Loop() {
  absl::MutexLock lock(&mu_);
  const auto stopping = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return stopping_; };
  while (!mu_.AwaitWithTimeout(absl::Condition(&stopping), period_)) {
    mu_.Unlock();
    malloc_trim(0);
    mu_.Lock();
  }
}

}  // namespace halopsa

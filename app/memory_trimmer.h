#ifndef HALOPSA_APP_MEMORY_TRIMMER_H_
#define HALOPSA_APP_MEMORY_TRIMMER_H_

#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace halopsa {

// Gives the heap's free pages back to the system every `period`
// (glibc's malloc_trim): after a burst of large requests, memory the
// allocator keeps for reuse would otherwise stay resident (README,
// Security: measured). Stops and joins in its destructor.
class MemoryTrimmer {
 public:
  explicit MemoryTrimmer(absl::Duration period);
  ~MemoryTrimmer();

  MemoryTrimmer(const MemoryTrimmer&) = delete;
  MemoryTrimmer& operator=(const MemoryTrimmer&) = delete;

 private:
  void Loop();

  const absl::Duration period_;
  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace halopsa

#endif  // HALOPSA_APP_MEMORY_TRIMMER_H_

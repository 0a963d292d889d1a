#ifndef HALOPSA_SERVER_KEYED_SERIALIZER_H_
#define HALOPSA_SERVER_KEYED_SERIALIZER_H_

#include <deque>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/functional/any_invocable.h"
#include "absl/synchronization/mutex.h"

namespace halopsa {

// An asynchronous mutex per key: tasks with the same key run one at a time,
// in arrival order, without blocking a thread while they wait. Used where a
// read-modify-write against HaloPSA must not interleave with another one in
// this process (a ticket's asset list, the asset of a hostname). Keys live
// only while tasks hold or wait for them.
class KeyedSerializer {
 public:
  // Call exactly once when the task's critical section is over.
  using Release = absl::AnyInvocable<void()>;
  using Task = absl::AnyInvocable<void(Release)>;

  // Runs `task` now if `key` is free, else after the tasks ahead of it
  // release it (on the releasing thread).
  void Run(const std::string& key, Task task);

  // Keys held or waited for right now.
  size_t active_keys() const;

 private:
  Release ReleaseOf(std::string key);

  mutable absl::Mutex mutex_;
  // Present while the key is held; the deque holds the waiting tasks.
  absl::flat_hash_map<std::string, std::deque<Task>> waiting_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace halopsa

#endif  // HALOPSA_SERVER_KEYED_SERIALIZER_H_

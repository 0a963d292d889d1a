#include "server/keyed_serializer.h"

#include <utility>

namespace halopsa {

void KeyedSerializer::Run(const std::string& key, Task task) {
  {
    absl::MutexLock lock(&mutex_);
    auto [it, free] = waiting_.try_emplace(key);
    if (!free) {
      it->second.push_back(std::move(task));
      return;
    }
  }
  task(ReleaseOf(key));
}

KeyedSerializer::Release KeyedSerializer::ReleaseOf(std::string key) {
  return [this, key = std::move(key)]() mutable {
    Task next;
    {
      absl::MutexLock lock(&mutex_);
      auto it = waiting_.find(key);
      if (it->second.empty()) {
        waiting_.erase(it);
        return;
      }
      next = std::move(it->second.front());
      it->second.pop_front();
    }
    next(ReleaseOf(std::move(key)));
  };
}

size_t KeyedSerializer::active_keys() const {
  absl::MutexLock lock(&mutex_);
  return waiting_.size();
}

}  // namespace halopsa

#include "adapters/net/connection_slots.h"

namespace halopsa::net {

ConnectionSlots::Admission ConnectionSlots::Admit(Id id, const std::string& source) {
  size_t& from_source = per_source_[source];
  if (from_source >= max_per_source_) {
    if (from_source == 0) per_source_.erase(source);
    return {};
  }
  Admission admission{.admitted = true};
  // Connections already chosen to close do not count against newcomers.
  if (sources_.size() - shedding_ >= max_total_) {
    admission.shed = TakeOldestIdle();
    if (admission.shed == nullptr) {
      if (from_source == 0) per_source_.erase(source);
      return {};
    }
  }
  ++from_source;
  sources_.emplace(id, Slot{source, false, idle_.end()});
  SetIdle(id, true);
  return admission;
}

ConnectionSlots::Id ConnectionSlots::TakeOldestIdle() {
  if (idle_.empty()) return nullptr;
  Id oldest = idle_.front();
  Slot& slot = sources_.at(oldest);
  idle_.pop_front();
  slot.idle = idle_.end();
  slot.shedding = true;
  ++shedding_;
  return oldest;
}

void ConnectionSlots::SetIdle(Id id, bool idle) {
  auto it = sources_.find(id);
  if (it == sources_.end() || it->second.shedding) return;
  Slot& slot = it->second;
  const bool listed = slot.idle != idle_.end();
  if (idle && !listed) slot.idle = idle_.insert(idle_.end(), id);
  if (!idle && listed) {
    idle_.erase(slot.idle);
    slot.idle = idle_.end();
  }
}

void ConnectionSlots::Release(Id id) {
  auto it = sources_.find(id);
  if (it == sources_.end()) return;
  Slot& slot = it->second;
  if (slot.idle != idle_.end()) idle_.erase(slot.idle);
  if (slot.shedding) --shedding_;
  auto count = per_source_.find(slot.source);
  if (--count->second == 0) per_source_.erase(count);
  sources_.erase(it);
}

}  // namespace halopsa::net

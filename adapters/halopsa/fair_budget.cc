#include "adapters/halopsa/fair_budget.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "server/error_mapping.h"

namespace halopsa {
namespace {

// Attempts of one org under way at once while it is not taking turns: at
// concurrency 16 no request waits for another's round trip, and when the
// pace sets in at most this many answers "full" were spent for nothing.
constexpr size_t kMaxAttemptsPerOrg = 16;

absl::Status ShuttingDown() {
  return WithErrorInfo(absl::UnavailableError("the service is shutting down; the call was not sent to HaloPSA"),
                       kReasonShuttingDown);
}

}  // namespace

void FairRequestBudget::Reserve(const std::string& tenant, const std::string& org, absl::Time deadline,
                                Reserved done) {
  const absl::Time now = options_.clock();
  if (options_.max_requests <= 0) return done(now);
  absl::Status refused;
  std::vector<Attempt> attempts;
  {
    absl::MutexLock lock(&mu_);
    TenantQueues& queues = tenants_[tenant];
    OrgQueue& queue = queues.orgs[org];
    if (stopping_) {
      refused = ShuttingDown();
    } else if (queue.waiters.size() >= options_.max_waiting_per_org || queues.waiting >= options_.max_waiting) {
      refused = TooManyWaiting(std::max(queue.waiters.size(), queues.waiting));
    } else if (const absl::Time estimate = Estimate(queue, queue.waiters.size(), now); estimate >= deadline) {
      refused = NoSlotBeforeDeadline(options_, estimate - now);
    } else {
      queue.waiters.push_back(Waiter{next_id_++, deadline, now, std::move(done)});
      ++queues.waiting;
      // Taking turns, later requests wait for the attempt or timer under way.
      attempts = Start(queue);
    }
    if (!refused.ok() && queue.waiters.empty()) {
      queues.orgs.erase(org);
      if (queues.orgs.empty()) tenants_.erase(tenant);
    }
  }
  if (!refused.ok()) return done(std::move(refused));
  CountQueued(TenantLabel(tenant), 1);
  Send(tenant, org, attempts);
}

std::vector<FairRequestBudget::Attempt> FairRequestBudget::Start(OrgQueue& queue) {
  std::vector<Attempt> attempts;
  if (queue.scheduled) return attempts;
  // One attempt at a time while taking turns; otherwise a bounded number
  // at once, so that few answers "full" are wasted when the pace sets in.
  const size_t most = queue.taking_turns ? 1 : kMaxAttemptsPerOrg;
  for (Waiter& waiter : queue.waiters) {
    if (queue.attempting >= most) break;
    if (waiter.attempting) continue;
    waiter.attempting = true;
    ++queue.attempting;
    attempts.push_back(Attempt{waiter.id, waiter.deadline});
  }
  return attempts;
}

void FairRequestBudget::Launch(const std::string& tenant, const std::string& org) {
  std::vector<Attempt> attempts;
  {
    absl::MutexLock lock(&mu_);
    auto queues = tenants_.find(tenant);
    if (queues == tenants_.end()) return;  // ended by StopWaiting
    auto queue = queues->second.orgs.find(org);
    if (queue == queues->second.orgs.end()) return;
    queue->second.scheduled = false;
    attempts = Start(queue->second);
  }
  Send(tenant, org, attempts);
}

void FairRequestBudget::Send(const std::string& tenant, const std::string& org,
                             const std::vector<Attempt>& attempts) {
  for (const Attempt& attempt : attempts) {
    slots_.TryReserve(tenant, org, attempt.deadline,
                      [this, tenant, org, id = attempt.id](absl::StatusOr<SlotAnswer> answer) {
                        OnAnswer(tenant, org, id, std::move(answer));
                      });
  }
}

void FairRequestBudget::OnAnswer(const std::string& tenant, const std::string& org, uint64_t id,
                                 absl::StatusOr<SlotAnswer> answer) {
  const absl::Time now = options_.clock();
  const std::string label = TenantLabel(tenant);
  std::vector<Answer> answers;
  std::optional<absl::Time> next_launch;
  {
    absl::MutexLock lock(&mu_);
    auto queues = tenants_.find(tenant);
    if (queues == tenants_.end()) return;  // ended by StopWaiting
    auto found = queues->second.orgs.find(org);
    if (found == queues->second.orgs.end()) return;
    OrgQueue& queue = found->second;
    auto waiter = std::find_if(queue.waiters.begin(), queue.waiters.end(), [id](const Waiter& w) { return w.id == id; });
    if (waiter == queue.waiters.end()) return;
    waiter->attempting = false;
    --queue.attempting;
    if (answer.ok() && answer->kind == SlotAnswer::Kind::kOrgFull) {
      queue.last_full = *answer;
      RefuseTheLate(queue, queues->second, label, now, answers);
    } else {
      Waiter head = Take(queue, waiter, queues->second, label);
      if (answer.ok() && metrics_ != nullptr) {
        metrics_->budget_wait.With({label}).Observe(absl::ToDoubleSeconds(answer->at - head.since));
      }
      answers.push_back(Answer{std::move(head.done), answer.ok() ? absl::StatusOr<absl::Time>(answer->at)
                                                                 : absl::StatusOr<absl::Time>(answer.status())});
    }
    next_launch = NextLaunch(queue, answer, now);
    if (queue.waiters.empty()) {
      queues->second.orgs.erase(found);
      if (queues->second.orgs.empty()) tenants_.erase(queues);
    }
  }
  for (Answer& given : answers) given.done(std::move(given.slot));
  // Through the scheduler even when due now: a source that answers at once
  // would otherwise recurse once per waiter.
  if (next_launch) scheduler_.RunAt(*next_launch, [this, tenant, org] { Launch(tenant, org); });
}

std::optional<absl::Time> FairRequestBudget::NextLaunch(OrgQueue& queue, const absl::StatusOr<SlotAnswer>& answer,
                                                        absl::Time now) {
  const bool full = answer.ok() && answer->kind == SlotAnswer::Kind::kOrgFull;
  if (full || (answer.ok() && answer->at > now)) {
    queue.taking_turns = true;
  } else if (answer.ok()) {
    // A slot due at once: the org holds no share to wait for.
    queue.taking_turns = false;
    queue.last_full.reset();
  }
  const size_t most = queue.taking_turns ? 1 : kMaxAttemptsPerOrg;
  if (queue.scheduled || queue.waiters.size() == queue.attempting || queue.attempting >= most) return std::nullopt;
  queue.scheduled = true;
  // The org's turn comes when its earliest slot is due.
  return full ? answer->at : now;
}

absl::Time FairRequestBudget::Estimate(const OrgQueue& queue, size_t position, absl::Time now) const {
  if (!queue.last_full) return now;  // the org's first attempt is still under way
  const SlotAnswer& full = *queue.last_full;
  // At each turn every busy org takes a slot, this one included.
  const absl::Duration per_turn = std::max(1, full.active_orgs) * SpacingOf(options_);
  return std::max(std::max(full.at, now) + static_cast<int64_t>(position + 1) * per_turn, full.next_free);
}

void FairRequestBudget::RefuseTheLate(OrgQueue& queue, TenantQueues& tenant, const std::string& label,
                                      absl::Time now, std::vector<Answer>& answers) {
  std::deque<Waiter> kept;
  for (Waiter& waiter : queue.waiters) {
    const absl::Time estimate = Estimate(queue, kept.size(), now);
    // A waiter whose attempt is under way keeps its place: its answer may
    // be a slot.
    if (waiter.attempting || estimate < waiter.deadline) {
      kept.push_back(std::move(waiter));
      continue;
    }
    answers.push_back(Answer{std::move(waiter.done), NoSlotBeforeDeadline(options_, estimate - now)});
    --tenant.waiting;
    CountQueued(label, -1);
  }
  queue.waiters = std::move(kept);
}

FairRequestBudget::Waiter FairRequestBudget::Take(OrgQueue& queue, std::deque<Waiter>::iterator waiter,
                                                  TenantQueues& tenant, const std::string& label) {
  Waiter head = std::move(*waiter);
  queue.waiters.erase(waiter);
  --tenant.waiting;
  CountQueued(label, -1);
  return head;
}

void FairRequestBudget::StopWaiting() {
  std::vector<Reserved> dones;
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    for (auto& [tenant, queues] : tenants_) {
      for (auto& [org, queue] : queues.orgs) {
        for (Waiter& waiter : queue.waiters) dones.push_back(std::move(waiter.done));
        CountQueued(TenantLabel(tenant), -static_cast<double>(queue.waiters.size()));
      }
    }
    tenants_.clear();
  }
  for (Reserved& done : dones) done(ShuttingDown());
}

size_t FairRequestBudget::waiting() const {
  absl::MutexLock lock(&mu_);
  size_t total = 0;
  for (const auto& [tenant, queues] : tenants_) total += queues.waiting;
  return total;
}

void FairRequestBudget::CountQueued(const std::string& label, double change) {
  if (metrics_ != nullptr) metrics_->budget_queue_depth.With({label}).Add(change);
}

}  // namespace halopsa

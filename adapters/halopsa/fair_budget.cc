#include "adapters/halopsa/fair_budget.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "server/error_mapping.h"

namespace halopsa {
namespace {

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
  bool first;
  {
    absl::MutexLock lock(&mu_);
    TenantQueues& queues = tenants_[tenant];
    OrgQueue& queue = queues.orgs[org];
    first = queue.waiters.empty();
    if (stopping_) {
      refused = ShuttingDown();
    } else if (queue.waiters.size() >= options_.max_waiting_per_org || queues.waiting >= options_.max_waiting) {
      refused = TooManyWaiting(std::max(queue.waiters.size(), queues.waiting));
    } else if (const absl::Time estimate = Estimate(queue, queue.waiters.size(), now); estimate >= deadline) {
      refused = NoSlotBeforeDeadline(options_, estimate - now);
    } else {
      queue.waiters.push_back(Waiter{deadline, now, std::move(done)});
      ++queues.waiting;
    }
    if (!refused.ok() && first) {
      queues.orgs.erase(org);
      if (queues.orgs.empty()) tenants_.erase(tenant);
    }
  }
  if (!refused.ok()) return done(std::move(refused));
  CountQueued(TenantLabel(tenant), 1);
  // Later requests of the org wait for the attempt or timer under way.
  if (first) Attempt(tenant, org);
}

void FairRequestBudget::Attempt(const std::string& tenant, const std::string& org) {
  absl::Time deadline;
  {
    absl::MutexLock lock(&mu_);
    auto queues = tenants_.find(tenant);
    if (queues == tenants_.end()) return;  // ended by StopWaiting
    auto queue = queues->second.orgs.find(org);
    if (queue == queues->second.orgs.end() || queue->second.waiters.empty()) return;
    deadline = queue->second.waiters.front().deadline;
  }
  slots_.TryReserve(tenant, org, deadline, [this, tenant, org](absl::StatusOr<SlotAnswer> answer) {
    OnAnswer(tenant, org, std::move(answer));
  });
}

void FairRequestBudget::OnAnswer(const std::string& tenant, const std::string& org,
                                 absl::StatusOr<SlotAnswer> answer) {
  const absl::Time now = options_.clock();
  const std::string label = TenantLabel(tenant);
  std::vector<Answer> answers;
  std::optional<absl::Time> next_attempt;
  {
    absl::MutexLock lock(&mu_);
    auto queues = tenants_.find(tenant);
    if (queues == tenants_.end()) return;  // ended by StopWaiting
    auto found = queues->second.orgs.find(org);
    if (found == queues->second.orgs.end() || found->second.waiters.empty()) return;
    OrgQueue& queue = found->second;
    if (answer.ok() && answer->kind == SlotAnswer::Kind::kOrgFull) {
      queue.last_full = *answer;
      RefuseTheLate(queue, queues->second, label, now, answers);
      // The org's turn comes when its earliest slot is due.
      if (!queue.waiters.empty()) next_attempt = answer->at;
    } else {
      Waiter head = Pop(queue, queues->second, label);
      if (answer.ok() && metrics_ != nullptr) {
        metrics_->budget_wait.With({label}).Observe(absl::ToDoubleSeconds(answer->at - head.since));
      }
      answers.push_back(Answer{std::move(head.done), answer.ok() ? absl::StatusOr<absl::Time>(answer->at)
                                                                 : absl::StatusOr<absl::Time>(answer.status())});
      if (!queue.waiters.empty()) next_attempt = now;
    }
    if (queue.waiters.empty()) {
      queues->second.orgs.erase(found);
      if (queues->second.orgs.empty()) tenants_.erase(queues);
    }
  }
  for (Answer& given : answers) given.done(std::move(given.slot));
  // Through the scheduler even when due now: a source that answers at once
  // would otherwise recurse once per waiter.
  if (next_attempt) scheduler_.RunAt(*next_attempt, [this, tenant, org] { Attempt(tenant, org); });
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
    if (estimate < waiter.deadline) {
      kept.push_back(std::move(waiter));
      continue;
    }
    answers.push_back(Answer{std::move(waiter.done), NoSlotBeforeDeadline(options_, estimate - now)});
    --tenant.waiting;
    CountQueued(label, -1);
  }
  queue.waiters = std::move(kept);
}

FairRequestBudget::Waiter FairRequestBudget::Pop(OrgQueue& queue, TenantQueues& tenant, const std::string& label) {
  Waiter head = std::move(queue.waiters.front());
  queue.waiters.pop_front();
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

#ifndef HALOPSA_SERVER_METRICS_H_
#define HALOPSA_SERVER_METRICS_H_

// A small Prometheus registry (Debian ships no C++ Prometheus client):
// labelled counters and histograms, gauges read at scrape time, and the text
// exposition format. Children are created on first use and never removed;
// callers keep label values to small, fixed sets.

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"

namespace halopsa {

class Counter {
 public:
  void Increment(double amount = 1);
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

class Histogram {
 public:
  explicit Histogram(const std::vector<double>& bounds);
  void Observe(double value);

  struct Snapshot {
    std::vector<uint64_t> cumulative;  // per bound, then +Inf
    double sum;
    uint64_t count;
  };
  Snapshot snapshot() const;

 private:
  const std::vector<double>& bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_;  // per bound, then +Inf
  std::atomic<double> sum_{0};
};

// A value that goes up and down, e.g. requests waiting now.
class Gauge {
 public:
  void Add(double amount);
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

inline constexpr size_t kMaxSeriesPerFamily = 500;
inline constexpr char kOverflowLabel[] = "other";

template <typename Child>
class Family {
 public:
  Family(std::string name, std::string help, std::vector<std::string> label_names)
      : name_(std::move(name)), help_(std::move(help)), label_names_(std::move(label_names)) {}
  virtual ~Family() = default;

  // The child for these label values (one per label name, in order).
  Child& With(const std::vector<std::string>& label_values);

  const std::string& name() const { return name_; }
  const std::string& help() const { return help_; }
  const std::vector<std::string>& label_names() const { return label_names_; }

  template <typename Visit>
  void ForEach(Visit visit) const {
    absl::MutexLock lock(&mutex_);
    for (const auto& [labels, child] : children_) visit(labels, *child);
  }

 protected:
  virtual std::unique_ptr<Child> NewChild() const = 0;

 private:
  const std::string name_;
  const std::string help_;
  const std::vector<std::string> label_names_;
  mutable absl::Mutex mutex_;
  std::map<std::vector<std::string>, std::unique_ptr<Child>> children_ ABSL_GUARDED_BY(mutex_);
};

class CounterFamily final : public Family<Counter> {
 public:
  using Family::Family;

 private:
  std::unique_ptr<Counter> NewChild() const override { return std::make_unique<Counter>(); }
};

class GaugeFamily final : public Family<Gauge> {
 public:
  using Family::Family;

 private:
  std::unique_ptr<Gauge> NewChild() const override { return std::make_unique<Gauge>(); }
};

class HistogramFamily final : public Family<Histogram> {
 public:
  HistogramFamily(std::string name, std::string help, std::vector<std::string> label_names,
                  std::vector<double> bounds)
      : Family(std::move(name), std::move(help), std::move(label_names)), bounds_(std::move(bounds)) {}
  const std::vector<double>& bounds() const { return bounds_; }

 private:
  std::unique_ptr<Histogram> NewChild() const override { return std::make_unique<Histogram>(bounds_); }
  const std::vector<double> bounds_;
};

// Latency buckets in seconds, from sub-millisecond (the service's own work)
// to the longest upstream deadlines.
const std::vector<double>& LatencyBuckets();

class MetricsRegistry {
 public:
  // Families are created while wiring, before serving; the references stay valid.
  CounterFamily& AddCounter(std::string name, std::string help, std::vector<std::string> label_names);
  GaugeFamily& AddGauge(std::string name, std::string help, std::vector<std::string> label_names);
  HistogramFamily& AddHistogram(std::string name, std::string help, std::vector<std::string> label_names,
                                std::vector<double> bounds = LatencyBuckets());
  // A gauge (or a counter kept elsewhere) read when scraped.
  void AddCallback(std::string name, std::string help, std::string type, std::function<double()> read);

  // Prometheus text exposition format 0.0.4.
  std::string Render() const;

 private:
  struct CallbackMetric {
    std::string name;
    std::string help;
    std::string type;
    std::function<double()> read;
  };

  mutable absl::Mutex mutex_;
  std::vector<std::unique_ptr<CounterFamily>> counters_ ABSL_GUARDED_BY(mutex_);
  std::vector<std::unique_ptr<GaugeFamily>> gauges_ ABSL_GUARDED_BY(mutex_);
  std::vector<std::unique_ptr<HistogramFamily>> histograms_ ABSL_GUARDED_BY(mutex_);
  std::vector<CallbackMetric> callbacks_ ABSL_GUARDED_BY(mutex_);
};

template <typename Child>
Child& Family<Child>::With(const std::vector<std::string>& label_values) {
  absl::MutexLock lock(&mutex_);
  auto it = children_.find(label_values);
  if (it == children_.end()) {
    const bool full = children_.size() >= kMaxSeriesPerFamily - 1;  // one left for the overflow series
    std::vector<std::string> key =
        full ? std::vector<std::string>(label_values.size(), kOverflowLabel) : label_values;
    it = children_.try_emplace(std::move(key)).first;
    if (!it->second) it->second = NewChild();
  }
  return *it->second;
}

}  // namespace halopsa

#endif  // HALOPSA_SERVER_METRICS_H_

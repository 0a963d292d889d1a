#include "server/metrics.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"

namespace halopsa {
namespace {

void AddAtomic(std::atomic<double>& target, double amount) {
  double current = target.load(std::memory_order_relaxed);
  while (!target.compare_exchange_weak(current, current + amount, std::memory_order_relaxed)) {
  }
}

std::string FormatValue(double value) {
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  return absl::StrCat(value);
}

std::string EscapeLabel(const std::string& value) {
  return absl::StrReplaceAll(value, {{"\\", "\\\\"}, {"\"", "\\\""}, {"\n", "\\n"}});
}

// {a="x",b="y"} plus an optional extra label (le for histogram buckets).
std::string Labels(const std::vector<std::string>& names, const std::vector<std::string>& values,
                   const std::string& extra = "") {
  std::vector<std::string> parts;
  for (size_t i = 0; i < names.size() && i < values.size(); ++i) {
    parts.push_back(absl::StrCat(names[i], "=\"", EscapeLabel(values[i]), "\""));
  }
  if (!extra.empty()) parts.push_back(extra);
  return parts.empty() ? "" : absl::StrCat("{", absl::StrJoin(parts, ","), "}");
}

void Header(std::string& out, const std::string& name, const std::string& help, const std::string& type) {
  absl::StrAppend(&out, "# HELP ", name, " ", help, "\n# TYPE ", name, " ", type, "\n");
}

// One line per series: counters and gauges.
template <typename FamilyType>
void RenderValues(std::string& out, const FamilyType& family, const std::string& type) {
  Header(out, family.name(), family.help(), type);
  family.ForEach([&](const std::vector<std::string>& labels, const auto& child) {
    absl::StrAppend(&out, family.name(), Labels(family.label_names(), labels), " ", FormatValue(child.value()), "\n");
  });
}

}  // namespace

void Counter::Increment(double amount) { AddAtomic(value_, amount); }

void Gauge::Add(double amount) { AddAtomic(value_, amount); }

Histogram::Histogram(const std::vector<double>& bounds)
    : bounds_(bounds), buckets_(new std::atomic<uint64_t>[bounds.size() + 1]) {
  for (size_t i = 0; i <= bounds_.size(); ++i) buckets_[i] = 0;
}

void Histogram::Observe(double value) {
  size_t bucket = std::lower_bound(bounds_.begin(), bounds_.end(), value) - bounds_.begin();
  buckets_[bucket].fetch_add(1, std::memory_order_relaxed);
  AddAtomic(sum_, value);
}

Histogram::Snapshot Histogram::snapshot() const {
  Snapshot snapshot{{}, sum_.load(std::memory_order_relaxed), 0};
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    snapshot.count += buckets_[i].load(std::memory_order_relaxed);
    snapshot.cumulative.push_back(snapshot.count);
  }
  return snapshot;
}

const std::vector<double>& LatencyBuckets() {
  static const auto* buckets = new std::vector<double>{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                       0.1,    0.25,  0.5,    1,     2.5,  5,     10, 30};
  return *buckets;
}

CounterFamily& MetricsRegistry::AddCounter(std::string name, std::string help, std::vector<std::string> labels) {
  absl::MutexLock lock(&mutex_);
  counters_.push_back(std::make_unique<CounterFamily>(std::move(name), std::move(help), std::move(labels)));
  return *counters_.back();
}

GaugeFamily& MetricsRegistry::AddGauge(std::string name, std::string help, std::vector<std::string> labels) {
  absl::MutexLock lock(&mutex_);
  gauges_.push_back(std::make_unique<GaugeFamily>(std::move(name), std::move(help), std::move(labels)));
  return *gauges_.back();
}

HistogramFamily& MetricsRegistry::AddHistogram(std::string name, std::string help, std::vector<std::string> labels,
                                               std::vector<double> bounds) {
  absl::MutexLock lock(&mutex_);
  histograms_.push_back(
      std::make_unique<HistogramFamily>(std::move(name), std::move(help), std::move(labels), std::move(bounds)));
  return *histograms_.back();
}

void MetricsRegistry::AddCallback(std::string name, std::string help, std::string type,
                                  std::function<double()> read) {
  absl::MutexLock lock(&mutex_);
  callbacks_.push_back({std::move(name), std::move(help), std::move(type), std::move(read)});
}

std::string MetricsRegistry::Render() const {
  absl::MutexLock lock(&mutex_);
  std::string out;
  for (const auto& family : counters_) RenderValues(out, *family, "counter");
  for (const auto& family : gauges_) RenderValues(out, *family, "gauge");
  for (const auto& family : histograms_) {
    Header(out, family->name(), family->help(), "histogram");
    family->ForEach([&](const std::vector<std::string>& labels, const Histogram& histogram) {
      Histogram::Snapshot snapshot = histogram.snapshot();
      const std::vector<double>& bounds = family->bounds();
      for (size_t i = 0; i <= bounds.size(); ++i) {
        std::string le = absl::StrCat("le=\"", FormatValue(i < bounds.size() ? bounds[i] : INFINITY), "\"");
        absl::StrAppend(&out, family->name(), "_bucket", Labels(family->label_names(), labels, le), " ",
                        snapshot.cumulative[i], "\n");
      }
      std::string label_text = Labels(family->label_names(), labels);
      absl::StrAppend(&out, family->name(), "_sum", label_text, " ", FormatValue(snapshot.sum), "\n");
      absl::StrAppend(&out, family->name(), "_count", label_text, " ", snapshot.count, "\n");
    });
  }
  for (const auto& metric : callbacks_) {
    Header(out, metric.name, metric.help, metric.type);
    absl::StrAppend(&out, metric.name, " ", FormatValue(metric.read()), "\n");
  }
  return out;
}

}  // namespace halopsa

#include "server/metrics.h"

#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include "absl/strings/str_cat.h"
#include <gtest/gtest.h>

namespace halopsa {
namespace {

using ::testing::HasSubstr;

TEST(MetricsTest, CountersRenderWithLabelsAndEscaping) {
  MetricsRegistry registry;
  CounterFamily& calls = registry.AddCounter("calls_total", "Calls.", {"method", "code"});
  calls.With({"CreateTicket", "OK"}).Increment();
  calls.With({"CreateTicket", "OK"}).Increment(2);
  calls.With({"odd\"name", "x"}).Increment();
  std::string text = registry.Render();
  EXPECT_THAT(text, HasSubstr("# HELP calls_total Calls.\n# TYPE calls_total counter\n"));
  EXPECT_THAT(text, HasSubstr("calls_total{method=\"CreateTicket\",code=\"OK\"} 3\n"));
  EXPECT_THAT(text, HasSubstr("calls_total{method=\"odd\\\"name\",code=\"x\"} 1\n"));
}

TEST(MetricsTest, GaugesGoUpAndDownAndRenderAsGauges) {
  MetricsRegistry registry;
  GaugeFamily& depth = registry.AddGauge("queue_depth", "Waiting.", {"tenant"});
  depth.With({"https://a.example"}).Add(3);
  depth.With({"https://a.example"}).Add(-1);
  std::string text = registry.Render();
  EXPECT_THAT(text, HasSubstr("# TYPE queue_depth gauge\n"));
  EXPECT_THAT(text, HasSubstr("queue_depth{tenant=\"https://a.example\"} 2\n"));
}

// The probe's input: 1 KB invented names as labels grew /metrics without end.
TEST(MetricsTest, AFamilyHoldsBoundedSeriesAndCountsTheRestUnderOther) {
  MetricsRegistry registry;
  CounterFamily& calls = registry.AddCounter("calls_total", "Calls.", {"kind", "status"});
  for (size_t i = 0; i < 2 * kMaxSeriesPerFamily; ++i) {
    calls.With({absl::StrCat(std::string(1024, 'x'), i), "400"}).Increment();
  }
  size_t series = 0;
  double total = 0;
  calls.ForEach([&](const std::vector<std::string>&, const Counter& counter) {
    ++series;
    total += counter.value();
  });
  EXPECT_EQ(series, kMaxSeriesPerFamily);
  EXPECT_EQ(total, 2 * kMaxSeriesPerFamily);  // nothing lost
  EXPECT_THAT(registry.Render(), HasSubstr("calls_total{kind=\"other\",status=\"other\"} 501\n"));
  // Label sets seen before the family filled keep their own series.
  calls.With({absl::StrCat(std::string(1024, 'x'), 0), "400"}).Increment();
  EXPECT_THAT(registry.Render(), HasSubstr("calls_total{kind=\"other\",status=\"other\"} 501\n"));
}

TEST(MetricsTest, HistogramBucketsAreCumulative) {
  MetricsRegistry registry;
  HistogramFamily& latency = registry.AddHistogram("latency_seconds", "Latency.", {"m"}, {0.1, 1});
  Histogram& h = latency.With({"a"});
  h.Observe(0.05);
  h.Observe(0.5);
  h.Observe(0.5);
  h.Observe(3);
  std::string text = registry.Render();
  EXPECT_THAT(text, HasSubstr("latency_seconds_bucket{m=\"a\",le=\"0.1\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("latency_seconds_bucket{m=\"a\",le=\"1\"} 3\n"));
  EXPECT_THAT(text, HasSubstr("latency_seconds_bucket{m=\"a\",le=\"+Inf\"} 4\n"));
  EXPECT_THAT(text, HasSubstr("latency_seconds_sum{m=\"a\"} 4.05\n"));
  EXPECT_THAT(text, HasSubstr("latency_seconds_count{m=\"a\"} 4\n"));
}

TEST(MetricsTest, CallbacksAreReadAtScrape) {
  MetricsRegistry registry;
  int open = 3;
  registry.AddCallback("open_connections", "Open.", "gauge", [&open] { return open; });
  EXPECT_THAT(registry.Render(), HasSubstr("open_connections 3\n"));
  open = 5;
  EXPECT_THAT(registry.Render(), HasSubstr("open_connections 5\n"));
}

TEST(MetricsTest, ConcurrentIncrementsAreNotLost) {
  MetricsRegistry registry;
  CounterFamily& family = registry.AddCounter("c_total", "C.", {});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) family.With({}).Increment();
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(family.With({}).value(), 40000);
}

}  // namespace
}  // namespace halopsa

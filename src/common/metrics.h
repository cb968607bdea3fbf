// A tiny Prometheus metrics registry: counter and gauge families with optional labels, rendered
// in the text exposition format (version 0.0.4) with HELP and TYPE lines for every family.
//
// Programs declare their families once at start-up and update them from any thread; /metrics
// calls Render(). Collectors registered with OnCollect() run at the start of every Render() to
// refresh values that are computed at scrape time (ages, states read from other objects).
//
// Thread-safety: every method of MetricsRegistry and MetricFamily is thread-safe (one mutex per
// registry). Collectors run without the lock held, so they may update families.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace stolon {

// Label name/value pairs, rendered in this order. Names must match [a-zA-Z_][a-zA-Z0-9_]*.
using MetricLabels = std::vector<std::pair<std::string, std::string>>;

enum class MetricType { kCounter, kGauge };

class MetricsRegistry;

// One metric family: a name, its help, its type and one value per label set.
class MetricFamily {
 public:
  MetricFamily(const MetricFamily&) = delete;
  MetricFamily& operator=(const MetricFamily&) = delete;

  // Sets the sample with `labels` (created when missing).
  void Set(double v) { Set({}, v); }
  void Set(const MetricLabels& labels, double v);
  // Adds `d` to the sample with `labels` (created at 0 when missing).
  void Add(double d = 1) { Add({}, d); }
  void Add(const MetricLabels& labels, double d);
  // Removes every sample, then sets `labels` to `v`: an info metric whose label changes, or a
  // per-item family whose items change (call Clear() and Set() for several).
  void SetOnly(const MetricLabels& labels, double v = 1);
  // Removes every sample (an unlabelled family gets its 0 sample back).
  void Clear();
  // The value of the sample with `labels`; 0 when missing.
  double Get(const MetricLabels& labels = {}) const;

  const std::string& name() const { return name_; }

 private:
  friend class MetricsRegistry;
  MetricFamily(absl::Mutex& mu, std::string name, std::string help, MetricType type, bool labelled);
  void RenderLocked(std::string& out) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  absl::Mutex& mu_;  // the registry's
  const std::string name_;
  const std::string help_;
  const MetricType type_;
  const bool labelled_;  // false: one sample without labels, present from the start (value 0)
  std::map<MetricLabels, double> samples_ ABSL_GUARDED_BY(mu_);
};

class MetricsRegistry {
 public:
  MetricsRegistry() = default;
  MetricsRegistry(const MetricsRegistry&) = delete;
  MetricsRegistry& operator=(const MetricsRegistry&) = delete;

  // Declares a family and returns it (valid as long as the registry). An unlabelled family
  // renders one sample, 0 until set; a labelled one renders only the label sets it was given.
  // REQUIRES: `name` is a valid metric name, not declared before.
  MetricFamily& Counter(std::string name, std::string help, bool labelled = false);
  MetricFamily& Gauge(std::string name, std::string help, bool labelled = false);

  // Runs `collect` at the start of every Render().
  void OnCollect(std::function<void()> collect);

  // Every family in declaration order: "# HELP", "# TYPE", then its samples sorted by labels.
  std::string Render() const;

 private:
  MetricFamily& Declare(std::string name, std::string help, MetricType type, bool labelled);

  mutable absl::Mutex mu_;
  std::vector<std::unique_ptr<MetricFamily>> families_ ABSL_GUARDED_BY(mu_);
  std::vector<std::function<void()>> collectors_ ABSL_GUARDED_BY(mu_);
};

// Declares stolon's `stolon_cluster_identifier{cluster_name,component}` (set to 1) on `r`.
void AddClusterIdentifier(MetricsRegistry& r, const std::string& cluster_name,
                          const std::string& component);

// A sample value as Prometheus text: integers without a fraction, NaN, +Inf, -Inf.
std::string FormatMetricValue(double v);

}  // namespace stolon

#include "common/metrics.h"

#include <cmath>

#include "fmt/format.h"

namespace stolon {
namespace {

// Label values escape backslash, double quote and newline; HELP text backslash and newline.
std::string Escape(const std::string& s, bool quote) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '"' && quote) {
      out += "\\\"";
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace

std::string FormatMetricValue(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (v == std::floor(v) && std::fabs(v) < 1e15) return fmt::format("{:.0f}", v);
  return fmt::format("{}", v);
}

MetricFamily::MetricFamily(absl::Mutex& mu, std::string name, std::string help, MetricType type,
                           bool labelled)
    : mu_(mu), name_(std::move(name)), help_(std::move(help)), type_(type), labelled_(labelled) {
  if (!labelled_) samples_[{}] = 0;
}

void MetricFamily::Set(const MetricLabels& labels, double v) {
  absl::MutexLock l(&mu_);
  samples_[labels] = v;
}

void MetricFamily::Add(const MetricLabels& labels, double d) {
  absl::MutexLock l(&mu_);
  samples_[labels] += d;
}

void MetricFamily::SetOnly(const MetricLabels& labels, double v) {
  absl::MutexLock l(&mu_);
  samples_.clear();
  samples_[labels] = v;
}

void MetricFamily::Clear() {
  absl::MutexLock l(&mu_);
  samples_.clear();
  if (!labelled_) samples_[{}] = 0;
}

double MetricFamily::Get(const MetricLabels& labels) const {
  absl::MutexLock l(&mu_);
  auto it = samples_.find(labels);
  return it == samples_.end() ? 0 : it->second;
}

void MetricFamily::RenderLocked(std::string& out) const {
  out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name_, Escape(help_, false), name_,
                     type_ == MetricType::kCounter ? "counter" : "gauge");
  for (const auto& [labels, value] : samples_) {
    out += name_;
    if (!labels.empty()) {
      out += '{';
      for (size_t i = 0; i < labels.size(); ++i) {
        if (i > 0) out += ',';
        out += fmt::format("{}=\"{}\"", labels[i].first, Escape(labels[i].second, true));
      }
      out += '}';
    }
    out += ' ';
    out += FormatMetricValue(value);
    out += '\n';
  }
}

MetricFamily& MetricsRegistry::Declare(std::string name, std::string help, MetricType type,
                                       bool labelled) {
  absl::MutexLock l(&mu_);
  families_.push_back(std::unique_ptr<MetricFamily>(
      new MetricFamily(mu_, std::move(name), std::move(help), type, labelled)));
  return *families_.back();
}

MetricFamily& MetricsRegistry::Counter(std::string name, std::string help, bool labelled) {
  return Declare(std::move(name), std::move(help), MetricType::kCounter, labelled);
}

MetricFamily& MetricsRegistry::Gauge(std::string name, std::string help, bool labelled) {
  return Declare(std::move(name), std::move(help), MetricType::kGauge, labelled);
}

void MetricsRegistry::OnCollect(std::function<void()> collect) {
  absl::MutexLock l(&mu_);
  collectors_.push_back(std::move(collect));
}

std::string MetricsRegistry::Render() const {
  std::vector<std::function<void()>> collectors;
  {
    absl::MutexLock l(&mu_);
    collectors = collectors_;
  }
  for (const auto& c : collectors) c();
  std::string out;
  absl::MutexLock l(&mu_);
  for (const auto& f : families_) {
    f->mu_.AssertHeld();  // the family shares this registry's mutex, held here
    f->RenderLocked(out);
  }
  return out;
}

void AddClusterIdentifier(MetricsRegistry& r, const std::string& cluster_name,
                          const std::string& component) {
  r.Gauge("stolon_cluster_identifier", "Set to 1, labelled with the cluster name and the component",
          true)
      .Set({{"cluster_name", cluster_name}, {"component", component}}, 1);
}

}  // namespace stolon

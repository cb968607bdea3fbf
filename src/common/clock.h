// Clock: the single source of time for logic that must be testable.
// Steady time (monotonic) measures intervals; wall time is what we write into clusterdata.
#pragma once

#include <chrono>
#include <mutex>

namespace stolon {

using SteadyTime = std::chrono::steady_clock::time_point;
using WallTime = std::chrono::system_clock::time_point;

class Clock {
 public:
  virtual ~Clock() = default;
  // Monotonic time; never goes backwards. Use for "how long since".
  virtual SteadyTime Now() const = 0;
  // Wall-clock time; use only for timestamps shown to humans or stored (changeTime).
  virtual WallTime WallNow() const = 0;
};

// The real clocks. Thread-safe.
class RealClock final : public Clock {
 public:
  SteadyTime Now() const override { return std::chrono::steady_clock::now(); }
  WallTime WallNow() const override { return std::chrono::system_clock::now(); }
  // A process-wide instance for composition roots.
  static RealClock& Instance() {
    static RealClock c;
    return c;
  }
};

// A clock that only moves when told to. Thread-safe. Starts at an arbitrary fixed point.
class FakeClock final : public Clock {
 public:
  FakeClock()
      : steady_(std::chrono::hours(1000)),
        wall_(std::chrono::sys_days(std::chrono::year(2024) / 5 / 2) + std::chrono::hours(9)) {}
  SteadyTime Now() const override {
    std::lock_guard l(mu_);
    return steady_;
  }
  WallTime WallNow() const override {
    std::lock_guard l(mu_);
    return wall_;
  }
  void Advance(std::chrono::nanoseconds d) {
    std::lock_guard l(mu_);
    steady_ += d;
    wall_ += std::chrono::duration_cast<WallTime::duration>(d);
  }

 private:
  mutable std::mutex mu_;
  SteadyTime steady_;
  WallTime wall_;
};

}  // namespace stolon

// Identifier generation as stolon does it: 8 lowercase hex chars (first 4 bytes of a v4 UUID)
// for clusters, dbs, sentinels, proxies and generated keepers; full v4 UUID strings for boot ids.
#pragma once

#include <functional>
#include <random>
#include <string>

namespace stolon {

// Source of identifiers; injectable so tests get deterministic ids.
class IdGenerator {
 public:
  virtual ~IdGenerator() = default;
  virtual std::string NewUid() = 0;   // 8 lowercase hex chars
  virtual std::string NewUuid() = 0;  // canonical v4 UUID, 36 chars
};

// Random ids from a std::random_device-seeded engine. Not thread-safe: one per thread/executor.
class RandomIdGenerator final : public IdGenerator {
 public:
  RandomIdGenerator();
  explicit RandomIdGenerator(uint64_t seed);
  std::string NewUid() override;
  std::string NewUuid() override;

 private:
  std::mt19937_64 rng_;
};

// Ids "<prefix>0", "<prefix>1", ... for tests.
class SequentialIdGenerator final : public IdGenerator {
 public:
  explicit SequentialIdGenerator(std::string prefix = "uid") : prefix_(std::move(prefix)) {}
  std::string NewUid() override { return prefix_ + std::to_string(next_++); }
  std::string NewUuid() override {
    char buf[40];
    snprintf(buf, sizeof buf, "00000000-0000-4000-8000-%012llx",
             static_cast<unsigned long long>(next_++));
    return buf;
  }

 private:
  std::string prefix_;
  uint64_t next_ = 0;
};

// Convenience: a fresh random uid/uuid from a thread-local generator.
std::string NewUid();
std::string NewUuid();

}  // namespace stolon

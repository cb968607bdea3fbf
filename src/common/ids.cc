#include "common/ids.h"

#include <cstdio>

namespace stolon {

RandomIdGenerator::RandomIdGenerator() : rng_(std::random_device{}()) {
  // Mix in a second draw so a weak random_device still gives distinct streams per process.
  rng_.seed((static_cast<uint64_t>(std::random_device{}()) << 32) ^ rng_());
}

RandomIdGenerator::RandomIdGenerator(uint64_t seed) : rng_(seed) {}

std::string RandomIdGenerator::NewUid() { return NewUuid().substr(0, 8); }

std::string RandomIdGenerator::NewUuid() {
  uint64_t hi = rng_();
  uint64_t lo = rng_();
  hi = (hi & 0xffffffffffff0fffULL) | 0x0000000000004000ULL;  // version 4
  lo = (lo & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;  // RFC 4122 variant
  char buf[40];
  snprintf(buf, sizeof buf, "%08llx-%04llx-%04llx-%04llx-%012llx",
           static_cast<unsigned long long>(hi >> 32),
           static_cast<unsigned long long>((hi >> 16) & 0xffff),
           static_cast<unsigned long long>(hi & 0xffff), static_cast<unsigned long long>(lo >> 48),
           static_cast<unsigned long long>(lo & 0xffffffffffffULL));
  return buf;
}

namespace {
RandomIdGenerator& ThreadGenerator() {
  thread_local RandomIdGenerator g;
  return g;
}
}  // namespace

std::string NewUid() { return ThreadGenerator().NewUid(); }
std::string NewUuid() { return ThreadGenerator().NewUuid(); }

}  // namespace stolon

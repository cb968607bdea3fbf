// Keeps an idle daemon's resident set down to the code it actually runs.
//
// Start-up (dynamic linking, static constructors, gRPC's plugin registration, flag parsing) runs
// code that the steady state never touches again, and for every code page a process faults in,
// the kernel maps up to 64 KiB of neighbouring pages that sit in the page cache ("fault-around").
// Both show in the process's RSS although nothing uses them. ReleaseIdleCodePages() unmaps, from
// this process only, every resident page of its clean read-only file mappings (the program's and
// the libraries' code and constants) with MADV_DONTNEED. The pages stay in the page cache
// (nothing is freed system-wide, nothing is swapped); code that runs again faults its page back
// in (a minor fault, microseconds, with its fault-around window), so the RSS afterwards is the
// working set plus those windows, and it creeps up again as rarer code paths run: call it again
// from time to time.
//
// Only mappings that cannot hold data of this process are touched: private, not writable, backed
// by a file, with no anonymous (copy-on-write) page, which excludes relocated data (RELRO) and
// anything a debugger patched. Writable data, heap and stacks are never touched.
#pragma once

#include <cstddef>

#include "absl/status/statusor.h"

namespace stolon {

struct CodePagesReport {
  size_t mappings = 0;      // mappings released
  size_t resident_kib = 0;  // their resident KiB before (what was unmapped)
};

// Reads /proc/self/smaps and releases the pages described above. Thread-safe (other threads may
// run the code concurrently: they fault it back in). Fails only when /proc is unreadable.
absl::StatusOr<CodePagesReport> ReleaseIdleCodePages();

}  // namespace stolon

#!/usr/bin/env bash
# The whole test suite: installs dependencies, builds (warnings are errors), runs every test with
# ctest, then builds and runs the same suite with AddressSanitizer + UndefinedBehaviorSanitizer.
#   scripts/test.sh              everything
#   STOLON_SKIP_SANITIZE=1 ...   skip the sanitizer pass (local iteration only; CI runs it)
#   CTEST_ARGS="-R store" ...    extra ctest arguments for both passes
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

scripts/setup.sh

build() {  # build <dir> <cmake args...>
  local dir=$1; shift
  cmake -S "$root" -B "$dir" -G Ninja "$@" >"$dir.cmake.log" 2>&1 ||
    { cat "$dir.cmake.log"; echo "test: cmake configure of $dir failed" >&2; exit 1; }
  echo "test: building $dir"
  ninja -C "$dir" --quiet
}

run_suite() {  # run_suite <dir> <label>
  echo "test: running the suite in $1 ($2)"
  # shellcheck disable=SC2086
  ctest --test-dir "$1" --output-on-failure --timeout 900 -j3 ${CTEST_ARGS:-}
}

mkdir -p build build-asan
# The sanitizer build is unoptimised (-O0: a third of the compile time of -O2; the build dominates
# the suite's time on 2 cores) with assertions on and line tables for the reports.
build build -DCMAKE_BUILD_TYPE=RelWithDebInfo
run_suite build "release build"
if [[ -z "${STOLON_SKIP_SANITIZE:-}" ]]; then
  build build-asan -DSTOLON_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-O0 -g1"
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 \
    run_suite build-asan "ASan+UBSan build"
fi
echo "test: all passes green"

#!/usr/bin/env bash
# The whole test suite: installs dependencies, builds (warnings are errors), runs every test with
# ctest, then builds (with Clang) and runs the same suite with AddressSanitizer + UndefinedBehaviorSanitizer.
# Before building it checks that every C++ file is formatted to .clang-format (scripts/format.sh).
#   scripts/test.sh              everything
#   STOLON_SKIP_SANITIZE=1 ...   skip the sanitizer pass and clang-tidy (local iteration only; CI runs them)
#   STOLON_TIDY=all ...          clang-tidy on every file instead of the changed ones
#   CTEST_ARGS="-R store" ...    extra ctest arguments for both passes
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

# Wall time of each stage, printed at the end (and on failure).
stages=()
stage_start=$SECONDS
stage_done() {  # stage_done <name>
  stages+=("$(printf '%-28s %4ds' "$1" $((SECONDS - stage_start)))")
  stage_start=$SECONDS
}
print_stages() {
  [[ ${#stages[@]} -gt 0 ]] || return 0
  echo "test: stage times (total ${SECONDS}s):"
  printf '  %s\n' "${stages[@]}"
}
trap print_stages EXIT

scripts/setup.sh
stage_done "setup (apt-get)"
# Formatting first: it takes seconds and a failure names the files.
scripts/format.sh --check
stage_done "format check"

# ccache, when installed, makes a rebuild of an unchanged tree nearly free; a fresh clone gains nothing.
launcher=()
if command -v ccache >/dev/null; then launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache); fi

build() {  # build <dir> <C compiler> <C++ compiler> <cmake args...>
  local dir=$1 cc=$2 cxx=$3; shift 3
  # A build directory configured with another compiler is reconfigured from scratch.
  if [[ -f $dir/CMakeCache.txt ]] && ! grep -q "^CMAKE_CXX_COMPILER:[A-Z]*=.*/$cxx\$" "$dir/CMakeCache.txt"; then
    rm -rf "$dir/CMakeCache.txt" "$dir/CMakeFiles"
  fi
  cmake -S "$root" -B "$dir" -G Ninja -DCMAKE_C_COMPILER="$cc" -DCMAKE_CXX_COMPILER="$cxx" \
    "${launcher[@]}" "$@" >"$dir.cmake.log" 2>&1 ||
    { cat "$dir.cmake.log"; echo "test: cmake configure of $dir failed" >&2; exit 1; }
  echo "test: building $dir"
  ninja -C "$dir" --quiet
}

# As root, the tests run PostgreSQL and our daemons as the unprivileged user, which must reach the
# built binaries: open the checkout and build directories for search (o+x; a `mktemp -d` clone is
# 0700), and stop with a clear message when a parent directory is still closed to that user.
open_to_test_user() {  # open_to_test_user <build dir>
  [[ $(id -u) -eq 0 ]] || return 0
  local user=${STOLON_PG_USER:-stolon}
  chmod o+x "$root" "$root/$1" "$root/$1/bin" 2>/dev/null || true
  setpriv --reuid="$user" --regid="$user" --init-groups -- test -x "$root/$1/bin/stolon-keeper" || {
    echo "test: user '$user' cannot reach $root/$1/bin: a parent directory is closed to it" \
      "(e.g. /root is 0700); clone the repository somewhere it can enter (/srv, /opt, /tmp)" \
      "or open the parents with chmod o+x" >&2
    exit 1
  }
}

run_suite() {  # run_suite <dir> <label>
  open_to_test_user "$1"
  echo "test: running the suite in $1 ($2)"
  # shellcheck disable=SC2086
  ctest --test-dir "$1" --output-on-failure --timeout 900 -j3 ${CTEST_ARGS:-}
}

mkdir -p build build-asan
# Two compilers, two configurations: the release build with GCC; the sanitizer build with Clang,
# which also checks the thread-safety annotations (-Wthread-safety, see CMakeLists.txt). The
# sanitizer build is unoptimised (-O0: a third of the compile time of -O2; the build dominates the
# suite's time on 2 cores) with assertions on and line tables for the reports.
build build gcc g++ -DCMAKE_BUILD_TYPE=RelWithDebInfo
stage_done "release build"
run_suite build "release build"
stage_done "release suite"
if [[ -z "${STOLON_SKIP_SANITIZE:-}" ]]; then
  build build-asan clang clang++ -DSTOLON_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-O0 -g1"
  stage_done "sanitizer build"
  # clang-tidy (.clang-tidy) on the C++ files changed by the last commit(s) (scripts/tidy.sh says
  # which); STOLON_TIDY=all checks the whole tree (about 8 minutes on 2 cores).
  if [[ ${STOLON_TIDY:-} == all ]]; then scripts/tidy.sh --all; else scripts/tidy.sh; fi
  stage_done "clang-tidy"
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 \
    run_suite build-asan "ASan+UBSan build"
  stage_done "sanitizer suite"
fi
echo "test: all passes green"

#!/usr/bin/env bash
# clang-tidy with the checks of .clang-tidy over our C++ sources (src/, apps/), using the compile
# commands of a configured build directory (default build-asan, the Clang build).
#   scripts/tidy.sh --all            every .cc file in src/ and apps/
#   scripts/tidy.sh                  the .cc files changed against STOLON_TIDY_BASE (default: the
#                                    merge base with origin/main when HEAD is ahead of it, else HEAD~1),
#                                    plus uncommitted changes; a changed header brings in its .cc
#   scripts/tidy.sh FILE...          those files
#   STOLON_TIDY_BUILD=dir            another build directory with compile_commands.json
# Exits non-zero and names file:line:check when a check fires.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${STOLON_TIDY_BUILD:-build-asan}
[[ -f $build/compile_commands.json ]] ||
  { echo "tidy: $build/compile_commands.json is missing; configure that build first (scripts/test.sh does)" >&2; exit 1; }

files=()
if [[ ${1:-} == --all ]]; then
  mapfile -t files < <(git ls-files 'src/*.cc' 'apps/*.cc')
elif (($#)); then
  files=("$@")
else
  base=${STOLON_TIDY_BASE:-}
  if [[ -z $base ]]; then
    if git rev-parse -q --verify origin/main >/dev/null && [[ $(git rev-parse HEAD) != $(git rev-parse origin/main) ]]; then
      base=$(git merge-base HEAD origin/main)
    elif git rev-parse -q --verify HEAD~1 >/dev/null; then
      base=HEAD~1
    else
      # A shallow clone (or a first commit) does not tell what changed; checking all of it would
      # take minutes, so say so and leave the full run to --all.
      echo "tidy: no parent commit to compare with; nothing checked (scripts/tidy.sh --all checks every file)"
      exit 0
    fi
  fi
  mapfile -t changed < <({ git diff --name-only "$base" -- src apps; git ls-files --others --exclude-standard src apps; } | sort -u)
  for f in "${changed[@]}"; do
    case $f in
      *.cc) [[ -f $f ]] && files+=("$f") ;;
      *.h) [[ -f ${f%.h}.cc ]] && files+=("${f%.h}.cc") ;;
    esac
  done
  mapfile -t files < <(printf '%s\n' "${files[@]}" | sort -u | sed '/^$/d')
fi
if ((${#files[@]} == 0)); then
  echo "tidy: no C++ source changed; nothing to check (scripts/tidy.sh --all checks every file)"
  exit 0
fi
echo "tidy: checking ${#files[@]} file(s) with $(clang-tidy --version | grep -o 'version [0-9.]*')"
jobs=$(nproc)
log=$(mktemp)
trap 'rm -f "$log"' EXIT
# One clang-tidy per file, nproc at a time; only diagnostics are kept.
if ! printf '%s\n' "${files[@]}" |
  xargs -P "$jobs" -I{} sh -c 'clang-tidy -quiet -p "$1" "$2" 2>/dev/null || echo "FAILED $2"' _ "$build" {} >"$log"; then
  echo "tidy: clang-tidy could not run" >&2; exit 1
fi
if grep -qE 'error:|warning:|^FAILED' "$log"; then
  grep -E 'error:|warning:' "$log" | sort -u
  echo "tidy: $(grep -cE '^FAILED' "$log") of ${#files[@]} file(s) have findings; fix them (or, for a justified exception, NOLINT(check) with the reason)" >&2
  exit 1
fi
echo "tidy: ${#files[@]} file(s) clean"

#!/usr/bin/env bash
# Formats every C++ source of the repository with clang-format and the repository's .clang-format.
#   scripts/format.sh           rewrite the files in place
#   scripts/format.sh --check   change nothing; list the files that are not formatted, exit 1 if any
set -euo pipefail
cd "$(dirname "$0")/.."
command -v clang-format >/dev/null || { echo "format: clang-format missing: run scripts/setup.sh" >&2; exit 1; }
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  mapfile -t files < <(git ls-files '*.cc' '*.h')
else  # an exported tree without .git
  mapfile -t files < <(find apps bench src tests -name '*.cc' -o -name '*.h' | sort)
fi
if [[ ${1:-} == --check ]]; then
  # One clang-format for all files (it reports every file); the files are read off its messages.
  if ! out=$(clang-format --dry-run -Werror "${files[@]}" 2>&1); then
    mapfile -t bad < <(sed -n 's/^\([^:]*\):[0-9]*:[0-9]*: error: .*/\1/p' <<<"$out" | sort -u)
    ((${#bad[@]})) || bad=("$out")  # not a formatting message: show it as it is
    echo "format: ${#bad[@]} file(s) not formatted to .clang-format: ${bad[*]}; run scripts/format.sh" >&2
    exit 1
  fi
  echo "format: ${#files[@]} files formatted"
else
  clang-format -i "${files[@]}"
fi

#!/usr/bin/env bash
# Failover benchmark (issue #8 part 4): a writer INSERTs every 20 ms through stolon-proxy while the
# master keeper and its PostgreSQL are killed with SIGKILL; prints median/min/max unavailability and
# lost acknowledged writes per config. With --peer patroni it also runs Patroni 3.0.2 (etcd v3) +
# HAProxy at equivalent settings in the same run, interleaved, and prints the ratio.
#
#   bench/failover/run.sh                       5 runs each of "defaults" and "fast", synchronousReplication on
#   bench/failover/run.sh --peer patroni        the same, plus Patroni + HAProxy
#   bench/failover/run.sh --quick               1 run of "fast" only (smoke test, ~1-2 min)
#   bench/failover/run.sh --runs 3 --configs fast,fast-proxydefaults --async
#   BUILD_DIR=build                             where bin/stolon-* are (built here if missing)
#
# Run as root from anywhere (PostgreSQL, Patroni and etcd run as the unprivileged user "stolon").
# Installs what it needs when missing: python3-psycopg2, and with --peer patroni also patroni,
# python3-etcd (Patroni's etcd client; its etcd3 DCS uses it over etcd's v3 JSON gateway) and haproxy.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
BUILD_DIR=${BUILD_DIR:-build}
BIN=$root/$BUILD_DIR/bin
die() { echo "bench: $*" >&2; exit 1; }

[[ $(id -u) -eq 0 ]] || die "run as root (PostgreSQL runs as the unprivileged user 'stolon'; packages may be installed)"
id stolon >/dev/null 2>&1 || die "the unprivileged user 'stolon' is missing; run scripts/setup.sh first"

need=(python3-psycopg2)
for a in "$@"; do [[ $a == patroni || $a == --peer=patroni ]] && need+=(patroni python3-etcd haproxy); done
missing=()
for p in "${need[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "bench: installing ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null ||
    { apt-get update -qq &&
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; } ||
    die "could not install ${missing[*]}"
fi

for b in stolon-keeper stolon-sentinel stolon-proxy stolonctl; do
  if [[ ! -x $BIN/$b ]]; then
    echo "bench: building the stolon binaries in $BUILD_DIR"
    [[ -f $BUILD_DIR/build.ninja ]] ||
      cmake -S "$root" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
        $(command -v ccache >/dev/null && echo -DCMAKE_CXX_COMPILER_LAUNCHER=ccache) >/dev/null
    ninja -C "$BUILD_DIR" -j2 stolon-keeper stolon-sentinel stolon-proxy stolonctl
    break
  fi
done
# The unprivileged user must reach the binaries.
d=$BIN
while [[ $d != / ]]; do chmod o+x "$d" 2>/dev/null || true; d=$(dirname "$d"); done

exec /usr/bin/python3 -u "$root/bench/failover/failover.py" --bin-dir "$BIN" "$@"

#!/usr/bin/env bash
# Footprint benchmark (issues #4 and #6): a one-keeper cluster on loopback (etcd + stolon-keeper
# managing PostgreSQL 15 + stolon-sentinel + stolon-proxy, all as the unprivileged user), then
#   1. idle 30 s, then the keeper's VmRSS with its per-mapping breakdown and its CPU over 30 s;
#   2. 1,000 idle PostgreSQL sessions opened through the proxy, then the proxy's VmRSS + breakdown.
# Numbers come straight from /proc/<pid>/status, smaps_rollup and smaps; nothing is paged out.
#
#   bench/footprint/run.sh
#   BUILD_DIR=build-x bench/footprint/run.sh   binaries from another build dir
#   FOOT_IDLE=1000 FOOT_SETTLE=30 FOOT_CPU=30  sessions, idle seconds before measuring, CPU window
# Run as root (processes run as STOLON_PG_USER, default "stolon"); needs etcd, PostgreSQL 15, python3.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
BUILD_DIR=${BUILD_DIR:-build}
BIN=$root/$BUILD_DIR/bin
IDLE=${FOOT_IDLE:-1000}
SETTLE=${FOOT_SETTLE:-30}
CPU_WINDOW=${FOOT_CPU:-30}
PGBIN=/usr/lib/postgresql/15/bin
PG_USER=${STOLON_PG_USER:-stolon}
CLUSTER=foot
procmem=(python3 "$root/bench/footprint/procmem.py")

die() { echo "footprint: $*" >&2; exit 1; }
say() { echo "footprint: $*"; }
wait_for() {  # wait_for <seconds> <command...>
  local t=$1; shift
  for ((i = 0; i < t * 5; i++)); do "$@" >/dev/null 2>&1 && return 0; sleep 0.2; done
  return 1
}

[[ $(id -u) -eq 0 ]] || die "run as root (PostgreSQL and the daemons run as $PG_USER)"
id -u "$PG_USER" >/dev/null 2>&1 || die "user $PG_USER missing: run scripts/setup.sh first"
for b in stolon-keeper stolon-sentinel stolon-proxy stolonctl; do
  [[ -x $BIN/$b ]] || die "$BIN/$b missing: ninja -C $BUILD_DIR $b"
done
# The unprivileged user must reach the binaries.
d=$BIN
while [[ $d != / ]]; do chmod o+x "$d" 2>/dev/null || true; d=$(dirname "$d"); done
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

work=$(mktemp -d /tmp/stolon-foot.XXXXXX)
chown "$PG_USER:" "$work"
pids=()
names=()
cleanup() {
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do kill -TERM "${pids[$i]}" 2>/dev/null || true; done
  for p in "${pids[@]}"; do
    for _ in $(seq 1 150); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null || true
  done
  rm -rf "$work"
}
trap cleanup EXIT

# start <name> <command...>: runs as the unprivileged user; pid_<name> is the daemon itself
# (runuser stays as its parent).
start() {
  local name=$1; shift
  runuser -u "$PG_USER" -- "$@" >"$work/$name.log" 2>&1 &
  pids+=($!); names+=("$name")
  local child=""
  for _ in $(seq 1 50); do
    child=$(cat "/proc/$!/task/$!/children" 2>/dev/null | awk '{print $1}')
    [[ -n $child ]] && break
    sleep 0.1
  done
  [[ -n $child ]] || { cat "$work/$name.log"; die "$name did not start"; }
  printf -v "pid_${name//-/_}" '%s' "$child"
}

read -r etcd_port etcd_peer pg_port proxy_port < <(python3 bench/free_ports.py 4)  # below the ephemeral range
endpoints=http://127.0.0.1:$etcd_port
common=(--cluster-name "$CLUSTER" --store-backend etcdv3 --store-endpoints "$endpoints")

start etcd /usr/bin/etcd --name foot --data-dir "$work/etcd" \
  --listen-client-urls "$endpoints" --advertise-client-urls "$endpoints" \
  --listen-peer-urls "http://127.0.0.1:$etcd_peer" --initial-advertise-peer-urls "http://127.0.0.1:$etcd_peer" \
  --initial-cluster "foot=http://127.0.0.1:$etcd_peer"
wait_for 30 env ETCDCTL_API=3 etcdctl --endpoints "$endpoints" endpoint health ||
  { cat "$work/etcd.log"; die "etcd did not become healthy"; }

# Default timings (sleepInterval 5s, the keeper's real idle rhythm); max_connections covers the
# idle sessions.
"$BIN/stolonctl" "${common[@]}" init -y \
  "{\"initMode\":\"new\",\"pgParameters\":{\"max_connections\":\"$((IDLE + 100))\"}}" >/dev/null

mkdir -p "$work/keeper0"; chown "$PG_USER:" "$work/keeper0"; chmod 0700 "$work/keeper0"
start keeper "$BIN/stolon-keeper" "${common[@]}" --uid keeper0 --data-dir "$work/keeper0" \
  --pg-listen-address 127.0.0.1 --pg-port "$pg_port" --pg-bin-path "$PGBIN" \
  --pg-su-username "$PG_USER" --pg-su-auth-method trust \
  --pg-repl-username repluser --pg-repl-auth-method trust
start sentinel "$BIN/stolon-sentinel" "${common[@]}"
start proxy "$BIN/stolon-proxy" "${common[@]}" --listen-address 127.0.0.1 --port "$proxy_port"

say "waiting for the cluster (master elected, proxy routing to it)"
healthy() {
  for ((i = 0; i < ${#pids[@]}; i++)); do
    kill -0 "${pids[$i]}" 2>/dev/null || { cat "$work/${names[$i]}.log"; die "${names[$i]} exited"; }
  done
  PGCONNECT_TIMEOUT=2 psql -Atqc 'select 1' "host=127.0.0.1 port=$proxy_port user=$PG_USER dbname=postgres"
}
wait_for 240 healthy || { tail -n 30 "$work"/*.log; die "the cluster did not become healthy in 240 s"; }
say "healthy; idling ${SETTLE}s before measuring (machine: $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg))"
sleep "$SETTLE"

echo
echo "== binaries"
for b in stolon-keeper stolon-sentinel stolon-proxy stolonctl; do
  printf '  %-16s %6d KiB file, %6d KiB text+data (size), %d shared libs\n' "$b" \
    $(($(stat -c %s "$BIN/$b") / 1024)) \
    $(($(size -A "$BIN/$b" | awk '$1 ~ /^\.(text|rodata|data|data\.rel\.ro|bss|eh_frame|gcc_except_table|init_array|got)/ {s+=$2} END {print s}') / 1024)) \
    "$(ldd "$BIN/$b" | grep -c '=>')"
done

echo
echo "== stolon-keeper (pid $pid_keeper), idle ${SETTLE}s"
"${procmem[@]}" breakdown "$pid_keeper" 30
read -r keeper_cpu keeper_children_cpu < <("${procmem[@]}" cpu "$pid_keeper" "$CPU_WINDOW")
keeper_rss=$("${procmem[@]}" rss "$pid_keeper")
echo "  CPU over ${CPU_WINDOW}s: ${keeper_cpu}% of one core (its waited-for children: ${keeper_children_cpu}%)"

echo
echo "== stolon-sentinel (pid $pid_sentinel)"
"${procmem[@]}" breakdown "$pid_sentinel" 0
sentinel_rss=$("${procmem[@]}" rss "$pid_sentinel")

proxy_idle_rss=$("${procmem[@]}" rss "$pid_proxy")
echo
echo "== stolon-proxy (pid $pid_proxy) with $IDLE idle sessions"
coproc IDLECONN { python3 "$root/bench/proxy/idle_conns.py" 127.0.0.1 "$proxy_port" "$IDLE" "$PG_USER" postgres 2>&1; }
read -r -t 180 line <&"${IDLECONN[0]}" || die "the idle sessions did not come up"
[[ $line == "ready $IDLE" ]] || die "idle sessions: $line"
sleep 2
"${procmem[@]}" breakdown "$pid_proxy" 14
proxy_rss=$("${procmem[@]}" rss "$pid_proxy")
exec {IDLECONN[1]}>&-
wait "$IDLECONN_PID" 2>/dev/null || true

echo
echo "| keeper RSS (KiB) | keeper CPU (% of a core) | sentinel RSS (KiB) | proxy RSS idle (KiB) | proxy RSS, $IDLE sessions (KiB) |"
echo "|---:|---:|---:|---:|---:|"
echo "| $keeper_rss | $keeper_cpu (+$keeper_children_cpu children) | $sentinel_rss | $proxy_idle_rss | $proxy_rss |"

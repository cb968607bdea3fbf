#!/usr/bin/env bash
# Proxy benchmark: pgbench straight to PostgreSQL, through stolon-proxy (real path: etcd holds a
# clusterdata naming the PostgreSQL as master and the proxy as enabled) and through HAProxy in TCP
# mode, back to back on the same PostgreSQL 15; then the RSS of each proxy holding 1,000 idle
# sessions. Prints TPS, average latency and the ratio to direct for every workload.
#
#   bench/proxy/run.sh                    all targets, 20 s per run, 5 rounds (~30 min)
#   BENCH_SECONDS=5 bench/proxy/run.sh    shorter runs
#   BENCH_ROUNDS=1                        interleaved rounds per workload (default 5); tables show
#                                         medians. One round is a quick look only: on this shared
#                                         2-core machine one 20 s run of a target can differ from
#                                         the next by 20-40 %.
#   BENCH_WARMUP=20                       seconds of direct pgbench -S before the measured runs (0: none)
#   BENCH_TARGETS="direct relay haproxy"  choose targets; "relay" is the bare relay (bench-only
#                                         binary proxy_relay_fixed, no store), "stolon-proxy" the daemon
#   BENCH_RELAY_THREADS=1                 relay threads of the bare relay (default: one per CPU, as
#                                         stolon-proxy; STPROXY_RELAY_THREADS sets the daemon's)
#   BENCH_IDLE=0                          skip the idle-connection RSS measurement
#   BENCH_WORKLOADS="-N -c 16 -j 2,-S -c 64 -j 2"  pgbench workloads, comma-separated (default: the four)
#   BUILD_DIR=build                       where bin/stolon-proxy and bin/proxy_relay_fixed are
# Run as root (PostgreSQL runs as the unprivileged user "stolon"); needs etcd, pgbench, python3;
# installs haproxy with apt-get when missing.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
BUILD_DIR=${BUILD_DIR:-build}
BIN=$root/$BUILD_DIR/bin
SECONDS_PER_RUN=${BENCH_SECONDS:-20}
ROUNDS=${BENCH_ROUNDS:-5}
TARGETS=${BENCH_TARGETS:-"direct stolon-proxy haproxy"}
IDLE=${BENCH_IDLE:-1000}
PGBIN=/usr/lib/postgresql/15/bin
PGUSER_OS=${STOLON_PG_USER:-stolon}
CLUSTER=bench
PREFIX=stolon/cluster

# Every port up front, distinct, from below the ephemeral range (see bench/free_ports.py).
read -r pgport relay_port haproxy_port etcd_port etcd_peer_port proxy_port < <(python3 bench/free_ports.py 6)
die() { echo "bench: $*" >&2; exit 1; }
wait_for() {  # wait_for <seconds> <command...>
  local t=$1; shift
  for ((i = 0; i < t * 10; i++)); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
  return 1
}

command -v haproxy >/dev/null || {
  echo "bench: installing haproxy"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends haproxy >/dev/null ||
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends haproxy >/dev/null; }
}
id -u "$PGUSER_OS" >/dev/null 2>&1 || die "user $PGUSER_OS missing: run scripts/setup.sh first"

work=$(mktemp -d /tmp/stolon-bench.XXXXXX)
chown "$PGUSER_OS" "$work"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -CONT "$p" 2>/dev/null || true; kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

# --- PostgreSQL ---------------------------------------------------------------------------------
runuser -u "$PGUSER_OS" -- "$PGBIN/initdb" -D "$work/pg" -A trust -U postgres >"$work/initdb.log" 2>&1 ||
  { cat "$work/initdb.log"; die "initdb failed"; }
# max_connections covers the 1,000 idle sessions. Autovacuum is off so that no vacuum of the
# tables -N updates starts at a random moment inside some target's run: pgbench's own vacuum runs
# before every run instead (below). Everything else is PostgreSQL's default.
runuser -u "$PGUSER_OS" -- "$PGBIN/postgres" -D "$work/pg" -p "$pgport" -k "$work" \
  -c listen_addresses=127.0.0.1 -c max_connections=1100 -c autovacuum=off >"$work/pg.log" 2>&1 &
pids+=($!)
wait_for 30 pg_isready -q -h 127.0.0.1 -p "$pgport" || { cat "$work/pg.log"; die "postgres did not start"; }
echo "bench: PostgreSQL 15 on 127.0.0.1:$pgport; pgbench -i -s 10"
pgbench -i -s 10 -q -h 127.0.0.1 -p "$pgport" -U postgres postgres >"$work/pgbench-init.log" 2>&1 ||
  { cat "$work/pgbench-init.log"; die "pgbench -i failed"; }

# --- targets ------------------------------------------------------------------------------------
declare -A port_of pid_of
port_of[direct]=$pgport

start_relay() {
  local p=$relay_port
  "$BIN/proxy_relay_fixed" "$p" 127.0.0.1 "$pgport" 32768 "${BENCH_RELAY_THREADS:-0}" >"$work/relay.log" 2>&1 &
  pids+=($!); pid_of[relay]=$!; port_of[relay]=$p
  wait_for 10 pg_isready -q -h 127.0.0.1 -p "$p" || die "relay did not start"
}

start_haproxy() {
  local p=$haproxy_port
  cat >"$work/haproxy.cfg" <<CFG
global
    maxconn 4096
defaults
    mode tcp
    timeout connect 5s
    timeout client 1h
    timeout server 1h
listen pg
    bind 127.0.0.1:$p
    server master 127.0.0.1:$pgport
CFG
  haproxy -db -f "$work/haproxy.cfg" >"$work/haproxy.log" 2>&1 &
  pids+=($!); pid_of[haproxy]=$!; port_of[haproxy]=$p
  wait_for 10 pg_isready -q -h 127.0.0.1 -p "$p" || { cat "$work/haproxy.log"; die "haproxy did not start"; }
}

start_stolon_proxy() {
  [[ -x $BIN/stolon-proxy ]] || die "$BIN/stolon-proxy missing: ninja -C $BUILD_DIR stolon-proxy"
  local cport peer p base uid
  cport=$etcd_port; peer=$etcd_peer_port; p=$proxy_port
  etcd --name bench --data-dir "$work/etcd" --listen-client-urls "http://127.0.0.1:$cport" \
    --advertise-client-urls "http://127.0.0.1:$cport" --listen-peer-urls "http://127.0.0.1:$peer" \
    --initial-advertise-peer-urls "http://127.0.0.1:$peer" --initial-cluster "bench=http://127.0.0.1:$peer" \
    >"$work/etcd.log" 2>&1 &
  pids+=($!)
  export ETCDCTL_API=3
  local ctl=(etcdctl --endpoints "http://127.0.0.1:$cport")
  wait_for 30 "${ctl[@]}" endpoint health || { cat "$work/etcd.log"; die "etcd did not start"; }
  base=$PREFIX/$CLUSTER
  "$BIN/stolon-proxy" --cluster-name "$CLUSTER" --store-backend etcdv3 \
    --store-endpoints "http://127.0.0.1:$cport" --listen-address 127.0.0.1 --port "$p" \
    >"$work/stolon-proxy.log" 2>&1 &
  pids+=($!); pid_of[stolon-proxy]=$!; port_of[stolon-proxy]=$p
  # The proxy announces its random UID in its ProxyInfo once a clusterdata exists; a sentinel
  # would then enable it.
  "${ctl[@]}" put "$base/clusterdata" "$(clusterdata "" 1)" >/dev/null
  wait_for 20 bash -c "${ctl[*]} get --prefix --keys-only $base/proxies/info/ | grep -q ." ||
    { cat "$work/stolon-proxy.log"; die "stolon-proxy published no ProxyInfo"; }
  uid=$("${ctl[@]}" get --prefix --keys-only "$base/proxies/info/" | grep . | head -1 | sed 's#.*/##')
  "${ctl[@]}" put "$base/clusterdata" "$(clusterdata "$uid" 2)" >/dev/null
  wait_for 20 pg_isready -q -h 127.0.0.1 -p "$p" || { cat "$work/stolon-proxy.log"; die "stolon-proxy does not route"; }
}

clusterdata() {  # clusterdata <proxy uid or ""> <proxy generation>: one master db at the bench PostgreSQL
  local now; now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
  cat <<JSON
{"formatVersion":1,"changeTime":"$now",
 "cluster":{"uid":"b0000001","generation":1,"changeTime":"$now","spec":{"initMode":"new"},
            "status":{"phase":"normal","master":"d0000001"}},
 "keepers":{"keeper0":{"uid":"keeper0","generation":1,"changeTime":"$now","spec":{},"status":{"healthy":true}}},
 "dbs":{"d0000001":{"uid":"d0000001","generation":1,"changeTime":"$now",
        "spec":{"keeperUID":"keeper0","requestTimeout":"10s","additionalWalSenders":5,
                "additionalReplicationSlots":null,"pgHBA":null,"role":"master","followers":[],
                "synchronousStandbys":null,"externalSynchronousStandbys":null},
        "status":{"healthy":true,"listenAddress":"127.0.0.1","port":"$pgport","synchronousStandbys":null}}},
 "proxy":{"generation":$2,"changeTime":"$now","spec":{"masterDbUid":"d0000001","enabledProxies":[${1:+\"$1\"}]},"status":{}}}
JSON
}

for t in $TARGETS; do
  case $t in
    direct) ;;
    relay) start_relay ;;
    haproxy) start_haproxy ;;
    stolon-proxy) start_stolon_proxy ;;
    *) die "unknown target $t (use direct, relay, stolon-proxy, haproxy)" ;;
  esac
done

# --- pgbench ------------------------------------------------------------------------------------
# Rounds interleave the targets (each round starts one target later) so that background load falls
# on all of them alike; the tables show the median of the rounds. Every run starts from the same
# database state: a CHECKPOINT first (so no checkpoint, timed or WAL-triggered, lands inside a
# run and the full-page-write cycle restarts alike), then pgbench's own vacuum of its small tables
# and truncation of pgbench_history (what pgbench does unless told -n), outside the timed part.
WORKLOADS=("-S -c 16 -j 2" "-S -c 64 -j 2" "-N -c 16 -j 2" "-S -C -c 8 -j 2")
if [[ -n ${BENCH_WORKLOADS:-} ]]; then IFS=',' read -r -a WORKLOADS <<<"$BENCH_WORKLOADS"; fi
declare -A tps lat cpu
read -r -a targets <<<"$TARGETS"
hz=$(getconf CLK_TCK)
# CPU time (user + system, all threads) a proxy process has used, in clock ticks. Per transaction it
# is a steadier figure than TPS on a machine where pgbench, PostgreSQL and the proxy share two cores.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
echo "bench: $(nproc) CPUs, ${SECONDS_PER_RUN}s per run, $ROUNDS round(s), targets: $TARGETS"
# Untimed warm-up, straight to PostgreSQL: a freshly loaded database (shared buffers, the OS page
# cache, hint bits) would otherwise make whichever target runs first slower than the rest.
WARMUP=${BENCH_WARMUP:-20}
if ((WARMUP > 0)); then
  echo "bench: warming up, ${WARMUP}s of pgbench -S -c 16 -j 2 direct (not measured)"
  pgbench -S -c 16 -j 2 -T "$WARMUP" -n -h 127.0.0.1 -p "$pgport" -U postgres postgres >/dev/null 2>&1 ||
    die "warm-up pgbench failed"
fi
for ((r = 0; r < ROUNDS; r++)); do
  for w in "${WORKLOADS[@]}"; do
    for ((k = 0; k < ${#targets[@]}; k++)); do
      t=${targets[$(((k + r) % ${#targets[@]}))]}
      c0=""
      [[ -n ${pid_of[$t]:-} ]] && c0=$(cpu_ticks "${pid_of[$t]}")
      psql -qAtX -h 127.0.0.1 -p "$pgport" -U postgres -c checkpoint postgres >/dev/null ||
        die "checkpoint before pgbench $w failed"
      # shellcheck disable=SC2086
      out=$(pgbench $w -T "$SECONDS_PER_RUN" -h 127.0.0.1 -p "${port_of[$t]}" -U postgres postgres 2>&1) ||
        { echo "$out"; die "pgbench $w against $t failed"; }
      tps[$w,$t]+="$(sed -n 's/^tps = \([0-9.]*\) .*/\1/p' <<<"$out" | head -1) "
      lat[$w,$t]+="$(sed -n 's/^latency average = \([0-9.]*\) ms/\1/p' <<<"$out" | head -1) "
      us="-"
      if [[ -n $c0 ]]; then
        n=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' <<<"$out" | head -1)
        us=$(python3 -c "print('%.1f' % (($(cpu_ticks "${pid_of[$t]}") - $c0) * 1e6 / $hz / $n))")
        cpu[$w,$t]+="$us "
      fi
      printf '  round %d  %-16s %-13s tps %10.1f  latency %7.3f ms  proxy CPU %s us/tx\n' $((r + 1)) "$w" "$t" \
        "$(awk '{print $NF}' <<<"${tps[$w,$t]}")" "$(awk '{print $NF}' <<<"${lat[$w,$t]}")" "$us"
    done
  done
done

median() { python3 -c 'import statistics, sys; print(statistics.median(float(x) for x in sys.argv[1:]))' "$@"; }
echo
printf '| workload | target | TPS (median) | avg latency (ms) | vs direct | rounds (TPS) |\n|---|---|---:|---:|---:|---|\n'
declare -A mtps
for w in "${WORKLOADS[@]}"; do
  for t in "${targets[@]}"; do
    # shellcheck disable=SC2086
    mtps[$w,$t]=$(median ${tps[$w,$t]})
  done
  for t in "${targets[@]}"; do
    # shellcheck disable=SC2086
    mlat=$(median ${lat[$w,$t]})
    ratio=$(python3 -c "print('%.2f' % (${mtps[$w,$t]} / ${mtps[$w,direct]:-${mtps[$w,$t]}}))")
    printf '| pgbench %s -T %s | %s | %.0f | %.3f | %s | %s|\n' "$w" "$SECONDS_PER_RUN" "$t" "${mtps[$w,$t]}" \
      "$mlat" "$ratio" "$(printf '%.0f ' ${tps[$w,$t]})"
  done
done
if [[ -n ${port_of[haproxy]:-} ]]; then
  # Each of our targets against HAProxy, three views of the same runs: the ratio of the two medians,
  # and the median and geometric mean of the per-round ratios. In a round the two proxies run within
  # a minute of each other, so the per-round (paired) views cancel the slow drift of this shared
  # machine that separate medians keep.
  for t in "${targets[@]}"; do
    [[ $t == direct || $t == haproxy ]] && continue
    echo
    for w in "${WORKLOADS[@]}"; do
      python3 - "$t" "$w" "${mtps[$w,$t]}" "${mtps[$w,haproxy]}" "${tps[$w,$t]}" "${tps[$w,haproxy]}" <<'PY'
import statistics, sys
t, w, mt, mh = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
per_round = [float(a) / float(b) for a, b in zip(sys.argv[5].split(), sys.argv[6].split())]
print("%s / haproxy TPS, pgbench %s: %.2f (ratio of medians); %.2f (median of per-round ratios: %s);"
      " %.2f (geometric mean of them); %d of %d rounds >= 1"
      % (t, w, mt / mh, statistics.median(per_round), " ".join("%.2f" % r for r in per_round),
         statistics.geometric_mean(per_round), sum(r >= 1 for r in per_round), len(per_round)))
PY
    done
    for w in "${WORKLOADS[@]}"; do
      # shellcheck disable=SC2086
      a=$(median ${cpu[$w,$t]}); b=$(median ${cpu[$w,haproxy]})
      python3 -c "print('proxy CPU per transaction (median), pgbench %s: $t %.1f us, haproxy %.1f us, ratio %.2f' % ('$w', $a, $b, $a / $b))"
    done
  done
fi

# --- RSS with idle sessions ---------------------------------------------------------------------
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
if ((IDLE > 0)); then
  echo
  printf '| proxy | RSS idle (KiB) | RSS with %d idle sessions (KiB) |\n|---|---:|---:|\n' "$IDLE"
  for t in $TARGETS; do
    [[ $t == direct ]] && continue
    before=$(rss_kb "${pid_of[$t]}")
    coproc IDLECONN { python3 "$root/bench/proxy/idle_conns.py" 127.0.0.1 "${port_of[$t]}" "$IDLE" postgres postgres; }
    read -r -t 120 line <&"${IDLECONN[0]}" || die "idle sessions through $t did not come up"
    [[ $line == "ready $IDLE" ]] || die "idle sessions through $t: $line"
    after=$(rss_kb "${pid_of[$t]}")
    printf '| %s | %s | %s |\n' "$t" "$before" "$after"
    exec {IDLECONN[1]}>&-
    wait "$IDLECONN_PID" 2>/dev/null || true
    # Let PostgreSQL reap its backends before the next target.
    wait_for 60 bash -c "[[ \$(psql -qtA -h 127.0.0.1 -p $pgport -U postgres -c 'select count(*) from pg_stat_activity where backend_type = '\''client backend'\''' postgres) -le 1 ]]" || true
  done
fi

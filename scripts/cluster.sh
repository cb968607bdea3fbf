#!/usr/bin/env bash
# The main job: a local HA PostgreSQL cluster on loopback, built from this checkout.
#   etcd (1 member) + 3 keepers (PostgreSQL 15, run as the unprivileged user) + 2 sentinels + 1 proxy.
# It installs what is missing, builds, starts everything, waits until the cluster is healthy and
# prints how to connect. Ctrl-C, SIGTERM, SIGHUP or an error stops every process it started
# (PostgreSQL stopped cleanly by its keeper). A second run reuses the data.
#   STOLON_STATE_DIR   where data and logs live (default: .state/local-cluster in the checkout)
#   STOLON_BASE_PORT   first of the 7 loopback ports used (default 25430)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
state=${STOLON_STATE_DIR:-$root/.state/local-cluster}
base=${STOLON_BASE_PORT:-25430}
pg_user=${STOLON_PG_USER:-stolon}
cluster=local
proxy_port=$base
etcd_port=$((base + 1))
etcd_peer_port=$((base + 2))
keeper_ports=($((base + 3)) $((base + 4)) $((base + 5)))
endpoints=http://127.0.0.1:$etcd_port
bin=$root/build/bin

say() { printf '[cluster] %s\n' "$*"; }
die() { printf '[cluster] error: %s\n' "$*" >&2; exit 1; }

[[ $(id -u) -eq 0 ]] || die "run as root (it installs packages and runs PostgreSQL as the '$pg_user' user)"

scripts/setup.sh
say "building (release) in build/"
cmake -S "$root" -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >build.cmake.log 2>&1 ||
  { cat build.cmake.log; die "cmake configure failed"; }
ninja -C build --quiet stolon-keeper stolon-sentinel stolon-proxy stolonctl

for p in $proxy_port $etcd_port $etcd_peer_port "${keeper_ports[@]}"; do
  if ss -Hltn "sport = :$p" | grep -q .; then
    die "port $p on 127.0.0.1 is in use (another run still up?); stop it or set STOLON_BASE_PORT"
  fi
done

mkdir -p "$state/logs" "$state/run"
chown "$pg_user:" "$state" "$state/logs"
chmod 0755 "$state"
# The unprivileged user must be able to reach the binaries and the state dir.
chmod o+rx "$root" "$root/build" "$bin" 2>/dev/null || true
setpriv --reuid="$pg_user" --regid="$pg_user" --init-groups -- test -x "$bin/stolon-keeper" -a -w "$state/logs" ||
  die "user '$pg_user' cannot reach $bin or $state: a parent directory is closed to it (e.g. /root is 0700); clone the repository somewhere it can enter (/srv, /opt, /tmp) or open the parents with chmod o+x"

# Runs a command as the PostgreSQL user. setpriv execs the program itself: runuser would fork and
# wait, so $! would not be the program, and on SIGTERM runuser SIGKILLs its child after 2 s, which
# leaves the keeper no time to stop PostgreSQL cleanly.
as_user=(setpriv --reuid="$pg_user" --regid="$pg_user" --init-groups --reset-env --)

# Passwords: generated once, kept in the state dir (mode 0600, owned by the PostgreSQL user).
for f in su-password repl-password; do
  if [[ ! -s $state/$f ]]; then
    head -c 18 /dev/urandom | base64 | tr -d '/+=' >"$state/$f"
    chown "$pg_user:" "$state/$f"; chmod 0600 "$state/$f"
  fi
done

pids=()
names=()
start() {  # start <name> <command...>: runs as the PostgreSQL user, logs to $state/logs/<name>.log
  local name=$1; shift
  # setsid: its own session and process group, so a terminal's Ctrl-C reaches only this script,
  # which stops everything in order. Not a group leader here, so setsid execs without forking:
  # $! is the pid of the program itself.
  setsid "${as_user[@]}" "$@" >>"$state/logs/$name.log" 2>&1 </dev/null &
  pids+=($!)
  names+=("$name")
  echo $! >"$state/run/$name.pid"
  say "started $name (pid $!, log $state/logs/$name.log)"
}

# stop_pids <seconds> <pid...>: SIGTERM, wait up to <seconds>, then SIGKILL the process group.
stop_pids() {
  local secs=$1 pid; shift
  (($#)) || return 0
  for pid in "$@"; do kill -TERM "$pid" 2>/dev/null || true; done
  for _ in $(seq 1 $((secs * 10))); do
    local alive=0
    for pid in "$@"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    ((alive)) || break
    sleep 0.1
  done
  for pid in "$@"; do
    if kill -0 "$pid" 2>/dev/null; then
      say "pid $pid did not stop in ${secs}s: killing it"
      kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
    fi
    # Anything left in its process group (a child that outlived it).
    kill -TERM -- "-$pid" 2>/dev/null || true
  done
}

stop_all() {
  local rc=$?
  trap - INT TERM HUP EXIT
  echo
  say "stopping ${#pids[@]} processes"
  # Proxy, sentinels and keepers first (each keeper stops its PostgreSQL on SIGTERM), etcd last.
  local first=() etcd=() i
  for ((i=${#pids[@]}-1; i>=0; i--)); do
    if [[ ${names[$i]} == etcd ]]; then etcd+=("${pids[$i]}"); else first+=("${pids[$i]}"); fi
  done
  stop_pids 60 "${first[@]}"
  # A PostgreSQL whose keeper was killed runs on in its own session: stop it by its data dir.
  for i in 0 1 2; do
    local pgdata=$state/keeper$i/postgres
    if [[ -s $pgdata/postmaster.pid ]] && kill -0 "$(head -1 "$pgdata/postmaster.pid")" 2>/dev/null; then
      say "stopping the PostgreSQL left in $pgdata"
      "${as_user[@]}" /usr/lib/postgresql/15/bin/pg_ctl -D "$pgdata" -m fast -w -t 60 stop >/dev/null 2>&1 || true
    fi
  done
  stop_pids 20 "${etcd[@]}"
  rm -f "$state"/run/*.pid
  say "stopped. Data and logs are in $state (run again to reuse them; rm -rf it to start over)"
  exit "$rc"
}
trap stop_all EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

common=(--cluster-name="$cluster" --store-backend=etcdv3 --store-endpoints="$endpoints")
ctl() { "$bin/stolonctl" "${common[@]}" "$@"; }

mkdir -p "$state/etcd"; chown "$pg_user:" "$state/etcd"; chmod 0700 "$state/etcd"
start etcd /usr/bin/etcd --name local --data-dir "$state/etcd" \
  --listen-client-urls "$endpoints" --advertise-client-urls "$endpoints" \
  --listen-peer-urls "http://127.0.0.1:$etcd_peer_port" \
  --initial-advertise-peer-urls "http://127.0.0.1:$etcd_peer_port" \
  --initial-cluster "local=http://127.0.0.1:$etcd_peer_port"
say "waiting for etcd on $endpoints"
for _ in $(seq 1 150); do
  ETCDCTL_API=3 etcdctl --endpoints="$endpoints" endpoint health >/dev/null 2>&1 && break
  sleep 0.2
done
ETCDCTL_API=3 etcdctl --endpoints="$endpoints" endpoint health >/dev/null 2>&1 ||
  die "etcd did not become healthy; see $state/logs/etcd.log"
say "etcd is up"

if ! ctl clusterdata read >/dev/null 2>&1; then
  say "no cluster yet: initializing a new one (sleepInterval 2s, failInterval 6s)"
  ctl init -y '{"initMode":"new","sleepInterval":"2s","failInterval":"6s","convergenceTimeout":"30s","proxyCheckInterval":"2s","proxyTimeout":"6s"}' >/dev/null
else
  say "reusing the existing cluster in $state"
fi

for i in 0 1 2; do
  d=$state/keeper$i
  mkdir -p "$d"; chown "$pg_user:" "$d"; chmod 0700 "$d"
  start keeper$i "$bin/stolon-keeper" "${common[@]}" --uid=keeper$i --data-dir="$d" \
    --pg-listen-address=127.0.0.1 --pg-port="${keeper_ports[$i]}" --pg-bin-path=/usr/lib/postgresql/15/bin \
    --pg-su-username="$pg_user" --pg-su-passwordfile="$state/su-password" \
    --pg-repl-username=repluser --pg-repl-passwordfile="$state/repl-password"
done
for i in 0 1; do start sentinel$i "$bin/stolon-sentinel" "${common[@]}"; done
start proxy "$bin/stolon-proxy" "${common[@]}" --listen-address=127.0.0.1 --port="$proxy_port"

psql_line="PGPASSWORD=\$(cat $state/su-password) psql \"host=127.0.0.1 port=$proxy_port user=$pg_user dbname=postgres\""
say "waiting for the cluster to become healthy: a master elected; every keeper's db reported"
say "(listen address known, converged: current generation == wanted generation); the standbys"
say "streaming from the master; the proxy routing to it"
pg_proxy() {
  PGPASSWORD=$(cat "$state/su-password") PGCONNECT_TIMEOUT=2 \
    psql -Atqc "$1" "host=127.0.0.1 port=$proxy_port user=$pg_user dbname=postgres" 2>/dev/null
}
last=""
healthy=0
for _ in $(seq 1 300); do
  streaming=""
  for ((i=0; i<${#pids[@]}; i++)); do
    kill -0 "${pids[$i]}" 2>/dev/null || die "${names[$i]} exited; see $state/logs/${names[$i]}.log"
  done
  # A db that never reported counts as healthy until failInterval passes: wait for its report
  # (listen address, current generation) rather than for pg_healthy alone.
  json=$(ctl status -f json 2>/dev/null || true)
  msg=$(printf '%s' "$json" | python3 -c '
import json, sys
try:
    s = json.load(sys.stdin)
except Exception:
    print("wait"); print("waiting for clusterdata"); sys.exit()
ks = sorted(s.get("keepers", []), key=lambda k: k["uid"])
c = s.get("cluster", {})
m = c.get("master_keeper_uid") or ""
parts, ready = [], 0
for k in ks:
    addr = k.get("listen_address", "")
    want, cur = k.get("pg_wanted_generation", 0), k.get("pg_current_generation", 0)
    if addr.startswith("("):
        st = "no report yet"
    elif cur != want:
        st = "converging (generation %d of %d)" % (cur, want)
    elif not k.get("pg_healthy"):
        st = "unhealthy"
    else:
        st = "ok"; ready += 1
    parts.append("%s %s" % (k["uid"], st))
ok = m and len(ks) == 3 and ready == 3
print("ok" if ok else "wait")
print("master: %s; keepers reported: %d/3 (%s); sentinels: %d; proxies: %d" % (
    m or "none", ready, ", ".join(parts) or "none yet", len(s.get("sentinels", [])),
    len(s.get("proxies", []))))
' 2>/dev/null || printf 'wait\nwaiting for clusterdata\n')
  state_word=${msg%%$'\n'*}
  msg=${msg#*$'\n'}
  if [[ $state_word == ok ]]; then
    # Through the proxy: it reaches the master, which lists its streaming standbys.
    streaming=$(pg_proxy "select count(*) from pg_stat_replication where state = 'streaming'" || true)
    msg="$msg; standbys streaming: ${streaming:-? (proxy not routing yet)}/2"
  fi
  [[ $msg != "$last" ]] && say "$msg" && last=$msg
  if [[ $state_word == ok && ${streaming:-} == 2 ]]; then
    healthy=1; break
  fi
  sleep 1
done
((healthy)) || die "the cluster did not become healthy in 300 s; see the logs in $state/logs"

echo
ctl status
cat <<MSG

The cluster is up. Connect through the proxy (it always routes to the master):
  $psql_line

Trigger a failover (the sentinel elects a standby within ~failInterval = 6 s):
  $bin/stolonctl ${common[*]} failkeeper <master keeper uid>
or kill the master keeper and its PostgreSQL:
  kill -9 \$(cat $state/run/<master keeper uid>.pid) \$(head -1 $state/<master keeper uid>/postgres/postmaster.pid)
Watch it with:
  watch $bin/stolonctl ${common[*]} status

Logs: $state/logs/. Press Ctrl-C to stop everything.
MSG
wait

#!/usr/bin/python3
"""Failover benchmark: unavailability and lost writes when the master dies (kill -9).

For every run a fresh cluster is built on free loopback ports in a temp state dir:
  stolon:  etcd + 3 stolon-keepers (PostgreSQL 15) + 2 stolon-sentinels + 1 stolon-proxy
  patroni: etcd + 3 Patroni 3.0.2 members (etcd3 DCS, PostgreSQL 15) + HAProxy (httpchk /primary)
One writer connects through the proxy (HAProxy for Patroni) and INSERTs every 20 ms, each insert
with an increasing id, reconnecting after any error. Once writes flow, the master keeper (Patroni)
process, its postmaster and the postmaster's children are killed with SIGKILL. Measured:
  unavailability = first ack of an INSERT sent after the kill - last ack before the kill
  lost           = acknowledged ids missing on the new primary (read through the proxy)
Everything runs as the unprivileged user; every process started is stopped by pid at the end,
on error and on Ctrl-C. Started by bench/failover/run.sh (which installs the packages).
"""

import argparse
import json
import os
import pwd
import select
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

import psycopg2
import psycopg2.extensions

PG_BIN = "/usr/lib/postgresql/15/bin"
USER = "stolon"
WRITE_PERIOD = 0.020
CONNECT_TIMEOUT = 2.0
STATEMENT_DEADLINE = 15.0  # client-side; never a server-side cancel (it would ack an unreplicated commit)

# name -> (stolon spec additions, patroni dcs settings, haproxy check interval in s)
CONFIGS = {
    # stolon defaults: sleepInterval 5s, failInterval 20s, proxyCheckInterval 5s, proxyTimeout 15s
    "defaults": ({}, {"ttl": 20, "loop_wait": 5, "retry_timeout": 7}, 5),
    "fast": ({"sleepInterval": "1s", "failInterval": "3s", "proxyCheckInterval": "1s", "proxyTimeout": "3s"},
             {"ttl": 3, "loop_wait": 1, "retry_timeout": 2}, 1),
    # the literal (b): only sleepInterval and failInterval changed, proxy timers at their defaults
    "fast-proxydefaults": ({"sleepInterval": "1s", "failInterval": "3s"},
                           {"ttl": 3, "loop_wait": 1, "retry_timeout": 2}, 5),
    # "fast" + standbys report every 1s instead of PostgreSQL's 10s (see docs/benchmarks.md, failover)
    "fast-wrsi1": ({"sleepInterval": "1s", "failInterval": "3s", "proxyCheckInterval": "1s", "proxyTimeout": "3s",
                    "pgParameters": {"wal_receiver_status_interval": "1s"}},
                   {"ttl": 3, "loop_wait": 1, "retry_timeout": 2}, 1),
}

T0 = time.monotonic()


def log(msg):
    print(f"[failover {time.strftime('%H:%M:%S', time.gmtime())} +{time.monotonic() - T0:6.1f}s] {msg}", flush=True)


class BenchError(Exception):
    pass


def wait_for(what, timeout, fn, interval=0.2):
    """Polls fn() until it returns a truthy value; raises BenchError after timeout seconds."""
    deadline = time.monotonic() + timeout
    last_exc = None
    while time.monotonic() < deadline:
        try:
            v = fn()
            if v:
                return v
        except Exception as e:  # noqa: BLE001 - report the last failure on timeout
            last_exc = e
        time.sleep(interval)
    raise BenchError(f"timed out after {timeout:.0f}s waiting for {what}"
                     + (f" (last error: {last_exc})" if last_exc else ""))


sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from free_ports import free_port  # noqa: E402  (ports below the ephemeral range)


# ---------------------------------------------------------------------------------------------
# Processes

class Procs:
    """Every process the benchmark starts; stop_all() stops them by pid (TERM, then KILL)."""

    def __init__(self):
        self.procs = []  # (name, Popen)
        self.pg_data_dirs = []

    def start(self, name, argv, logdir, as_user=True, env=None):
        logf = open(os.path.join(logdir, name + ".log"), "ab")
        kw = {}
        if as_user:
            pw = pwd.getpwnam(USER)
            kw = dict(user=pw.pw_uid, group=pw.pw_gid, extra_groups=[])
        e = dict(os.environ)
        e.update({"HOME": "/tmp"} if as_user else {})
        e.update(env or {})
        p = subprocess.Popen(argv, stdout=logf, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                             start_new_session=True, env=e, cwd="/tmp", **kw)
        logf.close()
        self.procs.append((name, p))
        return p

    def get(self, name):
        for n, p in self.procs:
            if n == name:
                return p
        raise KeyError(name)

    def check_alive(self, names):
        for n, p in self.procs:
            if n in names and p.poll() is not None:
                raise BenchError(f"{n} exited with status {p.returncode}; see its log")

    def stop_all(self):
        # Everything but etcd first (so that the daemons can say goodbye to the store), then etcd.
        for wave in ([x for x in self.procs if x[0] != "etcd"], [x for x in self.procs if x[0] == "etcd"]):
            for _, p in reversed(wave):
                if p.poll() is None:
                    try:
                        p.send_signal(signal.SIGTERM)
                    except ProcessLookupError:
                        pass
            deadline = time.monotonic() + 15
            for _, p in wave:
                try:
                    p.wait(timeout=max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait(timeout=5)
        self.procs = []
        # PostgreSQL instances started by our keepers / Patroni members: stop any that survived.
        for d in self.pg_data_dirs:
            pid = postmaster_pid(d)
            if pid and pid_alive(pid):
                kill_tree(pid, signal.SIGKILL)
        self.pg_data_dirs = []


def pid_alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


def postmaster_pid(data_dir):
    try:
        with open(os.path.join(data_dir, "postmaster.pid")) as f:
            return int(f.readline().strip())
    except (OSError, ValueError):
        return None


def children(pid):
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                stat = f.read()
            ppid = int(stat[stat.rindex(")") + 2:].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        if ppid == pid:
            out.append(int(d))
    return out


def kill_tree(pid, sig):
    """Signals pid's children and pid itself (children first listed, then all at once)."""
    pids = children(pid) + [pid]
    for p in pids:
        try:
            os.kill(p, sig)
        except ProcessLookupError:
            pass
    return pids


def make_dir(path, mode=0o700):
    os.makedirs(path, exist_ok=True)
    pw = pwd.getpwnam(USER)
    os.chown(path, pw.pw_uid, pw.pw_gid)
    os.chmod(path, mode)
    return path


def write_user_file(path, text, mode=0o600):
    with open(path, "w") as f:
        f.write(text)
    pw = pwd.getpwnam(USER)
    os.chown(path, pw.pw_uid, pw.pw_gid)
    os.chmod(path, mode)


def start_etcd(procs, state, v2=False):
    port, peer = free_port(), free_port()
    ep = f"http://127.0.0.1:{port}"
    argv = ["/usr/bin/etcd", "--name", "bench", "--data-dir", make_dir(os.path.join(state, "etcd")),
            "--listen-client-urls", ep, "--advertise-client-urls", ep,
            "--listen-peer-urls", f"http://127.0.0.1:{peer}",
            "--initial-advertise-peer-urls", f"http://127.0.0.1:{peer}",
            "--initial-cluster", f"bench=http://127.0.0.1:{peer}"]
    if v2:
        argv.append("--enable-v2")
    procs.start("etcd", argv, os.path.join(state, "logs"))

    def healthy():
        procs.check_alive({"etcd"})
        with urllib.request.urlopen(ep + "/health", timeout=1) as r:
            return json.load(r).get("health") == "true"
    wait_for("etcd health", 30, healthy)
    return port, ep


# ---------------------------------------------------------------------------------------------
# The writer

class Writer(threading.Thread):
    """INSERTs every 20 ms through one connection (opened again after any error)."""

    def __init__(self, dsn):
        super().__init__(daemon=True)
        self.dsn = dsn
        self.stop_evt = threading.Event()
        self.acks = []         # (id, t_sent, t_acked), monotonic
        self.warned = []       # ids acked with a sync-replication cancel warning
        self.errors = 0
        self.last_error = ""
        self.next_id = 1
        self.lock = threading.Lock()
        self.events = []       # (wall time, text): connects, errors (when the message changes), first acks

    def _event(self, text):
        if not self.events or self.events[-1][1] != text:
            self.events.append((time.time(), text))

    @staticmethod
    def _wait(conn, deadline):
        while True:
            state = conn.poll()
            if state == psycopg2.extensions.POLL_OK:
                return
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("client-side deadline")
            if state == psycopg2.extensions.POLL_READ:
                select.select([conn.fileno()], [], [], min(left, 0.5))
            elif state == psycopg2.extensions.POLL_WRITE:
                select.select([], [conn.fileno()], [], min(left, 0.5))

    def run(self):
        conn = None
        next_t = time.monotonic()
        while not self.stop_evt.is_set():
            now = time.monotonic()
            if now < next_t:
                time.sleep(next_t - now)
            next_t = max(next_t + WRITE_PERIOD, time.monotonic())
            try:
                if conn is None:
                    conn = psycopg2.connect(self.dsn, async_=1)
                    self._wait(conn, time.monotonic() + CONNECT_TIMEOUT)
                    self._event("connected")
                wid = self.next_id
                self.next_id += 1
                sent = time.monotonic()
                cur = conn.cursor()
                cur.execute("INSERT INTO bench_writes (id) VALUES (%s)", (wid,))
                self._wait(conn, sent + STATEMENT_DEADLINE)
                acked = time.monotonic()
                self._event("acked")
                if acked - sent > 1.0:
                    self._event(f"acked id {wid} after {acked - sent:.2f}s")
                with self.lock:
                    self.acks.append((wid, sent, acked))
                    if any("synchronous replication" in n for n in conn.notices):
                        self.warned.append(wid)
                del conn.notices[:]
            except Exception as e:  # noqa: BLE001 - any failure: drop the connection, try again
                self.errors += 1
                self.last_error = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
                self._event(f"error: {self.last_error}")
                if conn is not None:
                    try:
                        conn.close()
                    except Exception:  # noqa: BLE001
                        pass
                conn = None
        if conn is not None:
            conn.close()

    def ack_count_after(self, t):
        with self.lock:
            return sum(1 for _, s, _ in self.acks if s > t)

    def stop(self):
        self.stop_evt.set()
        self.join(timeout=STATEMENT_DEADLINE + CONNECT_TIMEOUT + 5)
        if self.is_alive():
            raise BenchError("writer thread did not stop")


def query(dsn, sql, timeout=10):
    conn = psycopg2.connect(dsn, connect_timeout=max(2, int(timeout)))
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(sql)
            return cur.fetchall() if cur.description else None
    finally:
        conn.close()


def wall(t):
    return time.strftime("%H:%M:%S", time.gmtime(t)) + f".{int(t % 1 * 1000):03d}Z"


def run_writer_and_kill(dsn, kill_fn, recover_timeout, logdir, warmup_acks=100):
    """Starts the writer, kills the master, waits for writes to resume. Returns result dict."""
    query(dsn, "CREATE TABLE IF NOT EXISTS bench_writes (id bigint PRIMARY KEY, at timestamptz DEFAULT now())")
    w = Writer(dsn)
    w.start()
    try:
        wait_for(f"{warmup_acks} acknowledged writes before the fault", 60,
                 lambda: len(w.acks) >= warmup_acks, 0.05)
        victim, t_fault = kill_fn()  # t_fault: right after the SIGKILLs were sent
        w._event(f"SIGKILL sent to {victim}")
        log(f"killed {victim}; waiting for writes to resume (at most {recover_timeout:.0f}s)")
        try:
            wait_for("writes to resume after the kill", recover_timeout,
                     lambda: w.ack_count_after(t_fault) >= 50, 0.05)
        except BenchError:
            log(f"no recovery; writer errors {w.errors}, last error: {w.last_error}")
            raise
    finally:
        w.stop()
        with open(os.path.join(logdir, "writer.log"), "w") as f:
            for t, text in w.events:
                f.write(f"{wall(t)} {text}\n")
    before = [a for _, _, a in w.acks if a <= t_fault]
    after = [a for _, s, a in w.acks if s > t_fault]
    t_last, t_first = max(before), min(after)
    acked = {i for i, _, _ in w.acks}
    present = {r[0] for r in wait_for("reading the rows on the new primary", 30,
                                      lambda: query(dsn, "SELECT id FROM bench_writes"))}
    lost = sorted(acked - present)
    return {"unavailability": t_first - t_last, "acked": len(acked), "lost": len(lost), "lost_ids": lost[:20],
            "warned": len(w.warned), "errors": w.errors, "victim": victim}


# ---------------------------------------------------------------------------------------------
# stolon

class StolonCluster:
    def __init__(self, bindir, state, spec, sync):
        self.bindir, self.state, self.spec, self.sync = bindir, state, spec, sync
        self.procs = Procs()
        self.logs = make_dir(os.path.join(state, "logs"), 0o755)
        self.keepers = {}  # uid -> (pg port, data dir)

    def ctl(self, *args, timeout=15):
        r = subprocess.run([os.path.join(self.bindir, "stolonctl"), *self.common, *args],
                           capture_output=True, text=True, timeout=timeout)
        if r.returncode != 0:
            raise BenchError(f"stolonctl {' '.join(args[:2])}: {r.stderr.strip() or r.stdout.strip()}")
        return r.stdout

    def up(self):
        etcd_port, ep = start_etcd(self.procs, self.state)
        self.common = ["--cluster-name=bench", "--store-backend=etcdv3", f"--store-endpoints={ep}"]
        self.su_pw = os.urandom(12).hex()
        write_user_file(os.path.join(self.state, "su-password"), self.su_pw)
        write_user_file(os.path.join(self.state, "repl-password"), os.urandom(12).hex())
        spec = {"initMode": "new", "synchronousReplication": self.sync, **self.spec}
        self.ctl("init", "-y", json.dumps(spec))
        for i in range(3):
            uid, port = f"keeper{i}", free_port()
            d = make_dir(os.path.join(self.state, uid))
            self.keepers[uid] = (port, d)
            self.procs.pg_data_dirs.append(os.path.join(d, "postgres"))
            self.procs.start(uid, [os.path.join(self.bindir, "stolon-keeper"), *self.common, f"--uid={uid}",
                                   f"--data-dir={d}", "--pg-listen-address=127.0.0.1", f"--pg-port={port}",
                                   f"--pg-bin-path={PG_BIN}", f"--pg-su-username={USER}",
                                   f"--pg-su-passwordfile={self.state}/su-password",
                                   "--pg-repl-username=repluser",
                                   f"--pg-repl-passwordfile={self.state}/repl-password"], self.logs)
        for i in range(2):
            self.procs.start(f"sentinel{i}", [os.path.join(self.bindir, "stolon-sentinel"), *self.common],
                             self.logs)
        self.proxy_port = free_port()
        self.procs.start("proxy", [os.path.join(self.bindir, "stolon-proxy"), *self.common,
                                   "--listen-address=127.0.0.1", f"--port={self.proxy_port}"], self.logs)
        self.dsn = (f"host=127.0.0.1 port={self.proxy_port} user={USER} password={self.su_pw} "
                    f"dbname=postgres connect_timeout=2")
        wait_for("the stolon cluster to be ready (3 healthy keepers, sync standby, proxy routing)",
                 240, self.ready, 1.0)

    def cd(self):
        return json.loads(self.ctl("clusterdata", "read"))

    def ready(self):
        self.procs.check_alive({n for n, _ in self.procs.procs})
        cd = self.cd()
        master = cd.get("cluster", {}).get("status", {}).get("master", "")
        dbs = cd.get("dbs", {})
        if not master or master not in dbs or len(dbs) != 3:
            return False
        for db in dbs.values():
            st = db.get("status", {})
            if not st.get("healthy") or st.get("currentGeneration") != db.get("generation"):
                return False
        if self.sync:
            m = dbs[master]
            syncs = m.get("status", {}).get("synchronousStandbys") or []
            if not syncs or (m.get("spec", {}).get("externalSynchronousStandbys") or []):
                return False
        query(self.dsn, "SELECT 1", timeout=2)
        return True

    def master_keeper(self):
        cd = self.cd()
        master = cd["cluster"]["status"]["master"]
        return cd["dbs"][master]["spec"]["keeperUID"]

    def kill_master(self):
        uid = self.master_keeper()
        keeper = self.procs.get(uid)
        pg = postmaster_pid(os.path.join(self.keepers[uid][1], "postgres"))
        if pg is None:
            raise BenchError(f"no postmaster.pid for the master {uid}")
        os.kill(keeper.pid, signal.SIGKILL)
        kill_tree(pg, signal.SIGKILL)
        return f"{uid} (keeper pid {keeper.pid}, postmaster pid {pg})", time.monotonic()

    def down(self):
        self.procs.stop_all()


# ---------------------------------------------------------------------------------------------
# Patroni

PATRONI_YAML = """\
scope: bench
namespace: /service/
name: {name}
log:
  level: INFO
restapi:
  listen: 127.0.0.1:{rest}
  connect_address: 127.0.0.1:{rest}
etcd3:
  hosts: 127.0.0.1:{etcd}
bootstrap:
  dcs:
    ttl: {ttl}
    loop_wait: {loop_wait}
    retry_timeout: {retry_timeout}
    maximum_lag_on_failover: 1048576
    synchronous_mode: {sync}
    synchronous_mode_strict: {strict}
    postgresql:
      use_pg_rewind: true
      use_slots: true
      parameters:
        wal_level: replica
        hot_standby: "on"
        max_wal_senders: 10
        max_replication_slots: 10
        wal_log_hints: "on"
  initdb:
  - encoding: UTF8
  - data-checksums
postgresql:
  listen: 127.0.0.1:{pg}
  connect_address: 127.0.0.1:{pg}
  data_dir: {data}
  bin_dir: {pgbin}
  pgpass: {dir}/pgpass
  authentication:
    replication:
      username: replicator
      password: {repl_pw}
    superuser:
      username: {user}
      password: {su_pw}
    rewind:
      username: {user}
      password: {su_pw}
  parameters:
    unix_socket_directories: {dir}
  pg_hba:
  - local all all trust
  - host replication replicator 127.0.0.1/32 md5
  - host all all 127.0.0.1/32 md5
"""

HAPROXY_CFG = """\
global
    maxconn 200
defaults
    mode tcp
    timeout connect 2s
    timeout client 30m
    timeout server 30m
    timeout check 2s
listen pg
    bind 127.0.0.1:{port}
    option httpchk OPTIONS /primary
    http-check expect status 200
    default-server inter {inter}s fall 3 rise 1 on-marked-down shutdown-sessions
{servers}
"""


class PatroniCluster:
    def __init__(self, state, dcs, inter, sync, strict):
        self.state, self.dcs, self.inter, self.sync, self.strict = state, dcs, inter, sync, strict
        self.procs = Procs()
        self.logs = make_dir(os.path.join(state, "logs"), 0o755)
        self.members = {}  # name -> (pg port, rest port, data dir)

    def up(self):
        etcd_port, _ = start_etcd(self.procs, self.state)
        self.su_pw, repl_pw = os.urandom(12).hex(), os.urandom(12).hex()
        for i in range(3):
            name = f"pg{i}"
            pg, rest = free_port(), free_port()
            d = make_dir(os.path.join(self.state, name))
            data = os.path.join(d, "data")
            self.members[name] = (pg, rest, data)
            self.procs.pg_data_dirs.append(data)
            cfg = PATRONI_YAML.format(name=name, rest=rest, etcd=etcd_port, pg=pg, data=data, pgbin=PG_BIN,
                                      dir=d, user=USER, su_pw=self.su_pw, repl_pw=repl_pw,
                                      sync="true" if self.sync else "false",
                                      strict="true" if self.sync and self.strict else "false", **self.dcs)
            path = os.path.join(d, "patroni.yml")
            write_user_file(path, cfg)
            self.procs.start(name, ["/usr/bin/patroni", path], self.logs)
            if i == 0:  # let the first member bootstrap, so that the others clone from it
                wait_for("the first Patroni member to become the leader", 120,
                         lambda: self.procs.check_alive({"pg0", "etcd"}) or self.role(name) in ("master", "primary"), 0.5)
        self.proxy_port = free_port()
        servers = "\n".join(f"    server {n} 127.0.0.1:{pg} check port {rest}"
                            for n, (pg, rest, _) in self.members.items())
        hcfg = os.path.join(self.state, "haproxy.cfg")
        write_user_file(hcfg, HAPROXY_CFG.format(port=self.proxy_port, inter=self.inter, servers=servers), 0o644)
        self.procs.start("haproxy", ["/usr/sbin/haproxy", "-db", "-f", hcfg], self.logs)
        self.dsn = (f"host=127.0.0.1 port={self.proxy_port} user={USER} password={self.su_pw} "
                    f"dbname=postgres connect_timeout=2")
        wait_for("the Patroni cluster to be ready (leader, streaming replicas, sync standby, HAProxy routing)",
                 240, self.ready, 1.0)

    def role(self, name):
        rest = self.members[name][1]
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{rest}/patroni", timeout=1) as r:
                return json.load(r).get("role")
        except Exception:  # noqa: BLE001
            return None

    def cluster(self):
        for name, (_, rest, _) in self.members.items():
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{rest}/cluster", timeout=1) as r:
                    return json.load(r)
            except Exception:  # noqa: BLE001
                continue
        return None

    def ready(self):
        self.procs.check_alive({n for n, _ in self.procs.procs})
        c = self.cluster()
        if not c:
            return False
        ms = c.get("members", [])
        if len(ms) != 3 or not all(m.get("state") in ("running", "streaming") for m in ms):
            return False
        roles = sorted(m.get("role") for m in ms)
        want = ["leader", "replica", "sync_standby"] if self.sync else ["leader", "replica", "replica"]
        if roles != want:
            return False
        query(self.dsn, "SELECT 1", timeout=2)
        return True

    def leader(self):
        c = self.cluster() or {}
        for m in c.get("members", []):
            if m.get("role") == "leader":
                return m["name"]
        raise BenchError("no Patroni leader")

    def kill_master(self):
        name = self.leader()
        p = self.procs.get(name)
        pg = postmaster_pid(self.members[name][2])
        if pg is None:
            raise BenchError(f"no postmaster.pid for the leader {name}")
        os.kill(p.pid, signal.SIGKILL)
        kill_tree(pg, signal.SIGKILL)
        return f"{name} (patroni pid {p.pid}, postmaster pid {pg})", time.monotonic()

    def down(self):
        self.procs.stop_all()


# ---------------------------------------------------------------------------------------------

def one_run(system, cfg_name, run_no, args, root):
    spec, dcs, inter = CONFIGS[cfg_name]
    state = make_dir(os.path.join(root, f"{system}-{cfg_name}-{'sync' if args.sync else 'async'}-{run_no}"),
                     0o755)
    if system == "stolon":
        c = StolonCluster(args.bin_dir, state, spec, args.sync)
        fail_interval = float(spec.get("failInterval", "20s").rstrip("s"))
    else:
        c = PatroniCluster(state, dcs, inter, args.sync, not args.patroni_nonstrict)
        fail_interval = float(dcs["ttl"])
    global _current
    _current = c
    t = time.monotonic()
    try:
        c.up()
        log(f"{system}/{cfg_name} run {run_no}: cluster ready in {time.monotonic() - t:.0f}s")
        res = run_writer_and_kill(c.dsn, c.kill_master, fail_interval + 90, c.logs)
        res["ok"] = True
    except BenchError as e:
        log(f"{system}/{cfg_name} run {run_no} FAILED: {e} (logs: {state}/logs)")
        res = {"ok": False, "error": str(e)}
    finally:
        c.down()
        _current = None
    keep = (not res.get("ok")) or res.get("lost") or args.keep
    for d in os.listdir(state):  # keep the logs; drop data dirs unless something went wrong
        p = os.path.join(state, d)
        if os.path.isdir(p) and d != "logs" and not keep:
            shutil.rmtree(p, ignore_errors=True)
    if res.get("ok"):
        log(f"{system}/{cfg_name} run {run_no}: unavailability {res['unavailability']:.2f}s, "
            f"acked {res['acked']}, lost {res['lost']}, warned {res['warned']}, killed {res['victim']}")
    return res


_current = None


def fmt_row(system, cfg, mode, results):
    ok = [r for r in results if r.get("ok")]
    u = [r["unavailability"] for r in ok]
    lost = sum(r["lost"] for r in ok)
    acked = sum(r["acked"] for r in ok)
    failed = len(results) - len(ok)
    if not u:
        return [system, cfg, mode, f"0/{len(results)}", "-", "-", "-", "-", "-"], None
    return [system, cfg, mode, f"{len(ok)}/{len(results)}", f"{statistics.median(u):.2f}", f"{min(u):.2f}",
            f"{max(u):.2f}", f"{lost}/{acked}", ", ".join(f"{x:.2f}" for x in u)
            + (f" ({failed} failed)" if failed else "")], statistics.median(u)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=5, help="runs per config (default 5)")
    ap.add_argument("--quick", action="store_true", help="1 run, the 'fast' config only")
    ap.add_argument("--configs", default="defaults,fast",
                    help=f"comma-separated, from {', '.join(CONFIGS)} (default defaults,fast)")
    ap.add_argument("--peer", choices=["patroni"], help="also measure Patroni + HAProxy, same settings")
    ap.add_argument("--async", dest="sync", action="store_false",
                    help="synchronousReplication off (Patroni synchronous_mode off); default is on")
    ap.add_argument("--patroni-nonstrict", action="store_true",
                    help="Patroni synchronous_mode_strict off: after a failover with no streaming replica yet, "
                         "the new leader accepts writes unreplicated (stolon minSynchronousStandbys 0); default "
                         "strict, which matches stolon's default minSynchronousStandbys 1")
    ap.add_argument("--bin-dir", required=True, help="directory with the stolon binaries")
    ap.add_argument("--keep", action="store_true", help="keep the data dirs of every run")
    ap.add_argument("--no-stolon", action="store_true", help="measure only the --peer system")
    args = ap.parse_args()
    if args.quick:
        args.runs, args.configs = 1, "fast"
    configs = [c.strip() for c in args.configs.split(",") if c.strip()]
    for c in configs:
        if c not in CONFIGS:
            sys.exit(f"unknown config '{c}': use one of {', '.join(CONFIGS)}")
    if args.runs < 1:
        sys.exit("--runs must be at least 1")
    systems = ([] if args.no_stolon else ["stolon"]) + ([args.peer] if args.peer else [])
    if not systems:
        sys.exit("--no-stolon needs --peer")
    mode = "sync" if args.sync else "async"
    root = tempfile.mkdtemp(prefix="stolon-failover-bench-")
    os.chmod(root, 0o755)
    log(f"state and logs: {root}; replication mode: {mode}; configs: {', '.join(configs)}; "
        f"runs: {args.runs}; systems: {', '.join(systems)}")

    def on_signal(signum, _frame):
        raise KeyboardInterrupt(f"signal {signum}")
    signal.signal(signal.SIGTERM, on_signal)

    results = {}
    try:
        for cfg in configs:
            for run_no in range(1, args.runs + 1):
                for system in systems:  # interleaved, so both see the same machine load
                    results.setdefault((system, cfg), []).append(one_run(system, cfg, run_no, args, root))
    except KeyboardInterrupt as e:
        log(f"interrupted ({e or 'SIGINT'}); stopping every process started")
        if _current is not None:
            _current.down()
        sys.exit(130)

    elapsed = time.monotonic() - T0
    header = ["system", "config", "replication", "ok runs", "median s", "min s", "max s", "lost/acked", "runs (s)"]
    rows, medians = [], {}
    for (system, cfg), res in results.items():
        row, med = fmt_row(system, cfg, mode, res)
        rows.append(row)
        medians[(system, cfg)] = med
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    print()
    print("Failover: kill -9 of the master (keeper/Patroni + postmaster + backends); writer INSERTs every 20 ms")
    print("through the proxy (stolon-proxy / HAProxy httpchk /primary); unavailability = last ack before")
    print("the kill -> first ack of an INSERT sent after it; lost = acked ids missing on the new primary.")
    for cfg in configs:
        spec, dcs, inter = CONFIGS[cfg]
        print(f"  config {cfg}: stolon spec {json.dumps(spec) if spec else '(defaults)'}"
              + (f"; patroni {json.dumps(dcs)}, synchronous_mode_strict "
                 f"{'on' if args.sync and not args.patroni_nonstrict else 'off'}, haproxy inter {inter}s fall 3 rise 1"
                 if args.peer else ""))
    print()
    print(" | ".join(h.ljust(w) for h, w in zip(header, widths)))
    print("-+-".join("-" * w for w in widths))
    for row in rows:
        print(" | ".join(str(x).ljust(w) for x, w in zip(row, widths)))
    if args.peer:
        print()
        for cfg in configs:
            a, b = medians.get(("stolon", cfg)), medians.get((args.peer, cfg))
            if a and b:
                print(f"ratio stolon/{args.peer} median unavailability, {cfg}: {a / b:.2f}")
    warned = sum(r.get("warned", 0) for res in results.values() for r in res)
    if warned:
        print(f"note: {warned} acks carried a 'canceling wait for synchronous replication' warning")
    print(f"\ntotal run time: {elapsed / 60:.1f} min; logs in {root}")


if __name__ == "__main__":
    main()

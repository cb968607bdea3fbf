#!/usr/bin/env python3
"""What scraping /metrics once per second costs each stolon program, in CPU.

Starts a small cluster on loopback (etcd, one keeper with PostgreSQL 15 run as the unprivileged
user, one sentinel, one proxy; stolon's default timings), each program with
--metrics-listen-address, waits until the keeper is master and the proxy routes to it, then
alternates idle phases (nobody scrapes) and scrape phases (GET /metrics of every program once per
second) and reports each program's CPU% in both, from utime+stime in /proc/<pid>/stat. Phases
alternate so that the machine's background load hits both alike.

    bench/metrics/scrape_cost.py                 # 2 rounds of 30 s idle + 30 s scraping
    BENCH_SECONDS=60 BENCH_ROUNDS=3 bench/metrics/scrape_cost.py
    BUILD_DIR=build                              # where bin/stolon-* are

Run as root from the repository root after `ninja -C build stolon-keeper stolon-sentinel
stolon-proxy stolonctl` (PostgreSQL runs as the user "stolon": scripts/setup.sh creates it).
"""
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.path.join(ROOT, os.environ.get("BUILD_DIR", "build"), "bin")
SECONDS = int(os.environ.get("BENCH_SECONDS", "30"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "2"))
PG_USER = os.environ.get("STOLON_PG_USER", "stolon")
PGBIN = "/usr/lib/postgresql/15/bin"
CLUSTER = "scrapebench"
TICK = os.sysconf("SC_CLK_TCK")


sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from free_ports import free_port  # noqa: E402  (ports below the ephemeral range)


def get(port, path, timeout=2.0):
    """(status, body) of GET http://127.0.0.1:port/path; (0, error) when it fails."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=timeout) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
    except Exception as e:  # connection refused, timeout
        return 0, str(e)


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    # After the ")" closing comm: state is field 3, utime 14 and stime 15 (1-based in proc(5)).
    return (int(fields[11]) + int(fields[12])) / TICK


def wait_for(what, pred, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return
        time.sleep(0.5)
    sys.exit(f"scrape_cost: timed out waiting for {what}")


def main():
    if os.geteuid() != 0:
        sys.exit("scrape_cost: run as root (PostgreSQL runs as the unprivileged user)")
    pg = pwd.getpwnam(PG_USER)
    work = tempfile.mkdtemp(prefix="stolon-scrape-")
    os.chown(work, pg.pw_uid, pg.pw_gid)
    procs = []

    def start(name, argv, as_pg_user=False):
        log = open(os.path.join(work, name + ".log"), "w")
        kw = {"user": pg.pw_uid, "group": pg.pw_gid, "extra_groups": []} if as_pg_user else {}
        p = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, **kw)
        procs.append(p)
        return p

    try:
        etcd_port, peer_port = free_port(), free_port()
        endpoints = f"http://127.0.0.1:{etcd_port}"
        etcd_dir = os.path.join(work, "etcd")
        start("etcd", ["/usr/bin/etcd", "--name", "b", "--data-dir", etcd_dir,
                       "--listen-client-urls", endpoints, "--advertise-client-urls", endpoints,
                       "--listen-peer-urls", f"http://127.0.0.1:{peer_port}",
                       "--initial-advertise-peer-urls", f"http://127.0.0.1:{peer_port}",
                       "--initial-cluster", f"b=http://127.0.0.1:{peer_port}"])
        common = [f"--cluster-name={CLUSTER}", "--store-backend=etcdv3",
                  f"--store-endpoints={endpoints}"]
        wait_for("etcd", lambda: get(etcd_port, "/health")[0] == 200, 30)
        subprocess.run([os.path.join(BIN, "stolonctl"), *common, "init", "-y", '{"initMode":"new"}'],
                       check=True, capture_output=True)

        ports = {n: free_port() for n in ("keeper", "sentinel", "proxy")}
        data = os.path.join(work, "keeper0")
        os.mkdir(data, 0o700)
        os.chown(data, pg.pw_uid, pg.pw_gid)
        programs = {
            "keeper": start("keeper", [
                os.path.join(BIN, "stolon-keeper"), *common, "--uid=keeper0", f"--data-dir={data}",
                "--pg-listen-address=127.0.0.1", f"--pg-port={free_port()}",
                f"--pg-bin-path={PGBIN}", "--pg-su-username=stolon", "--pg-su-password=su",
                "--pg-repl-username=repl", "--pg-repl-password=repl",
                f"--metrics-listen-address=127.0.0.1:{ports['keeper']}"], as_pg_user=True),
            "sentinel": start("sentinel", [
                os.path.join(BIN, "stolon-sentinel"), *common,
                f"--metrics-listen-address=127.0.0.1:{ports['sentinel']}"]),
            "proxy": start("proxy", [
                os.path.join(BIN, "stolon-proxy"), *common, "--listen-address=127.0.0.1",
                f"--port={free_port()}", f"--metrics-listen-address=127.0.0.1:{ports['proxy']}"]),
        }
        print(f"scrape_cost: cluster starting in {work} (stolon default timings)", flush=True)
        wait_for("the keeper to be master",
                 lambda: 'stolon_keeper_local_role{role="master"} 1' in get(ports["keeper"], "/metrics")[1], 180)
        wait_for("the proxy to route", lambda: get(ports["proxy"], "/master")[0] == 200, 60)
        sizes = {n: len(get(p, "/metrics")[1]) for n, p in ports.items()}
        print("scrape_cost: cluster up; /metrics sizes: " +
              ", ".join(f"{n} {s} B" for n, s in sizes.items()), flush=True)
        time.sleep(5)  # let the start-up settle

        used = {n: {"idle": 0.0, "scrape": 0.0} for n in programs}
        wall = {"idle": 0.0, "scrape": 0.0}
        scrapes = 0
        for r in range(ROUNDS):
            for phase in ("idle", "scrape"):
                before = {n: cpu_seconds(p.pid) for n, p in programs.items()}
                t0 = time.monotonic()
                next_tick = t0
                while time.monotonic() - t0 < SECONDS:
                    if phase == "scrape":
                        for port in ports.values():
                            status, _ = get(port, "/metrics")
                            if status != 200:
                                sys.exit(f"scrape_cost: /metrics answered {status}")
                            scrapes += 1
                    next_tick += 1.0
                    time.sleep(max(0.0, next_tick - time.monotonic()))
                elapsed = time.monotonic() - t0
                wall[phase] += elapsed
                for n, p in programs.items():
                    if p.poll() is not None:
                        sys.exit(f"scrape_cost: {n} exited; see {work}/{n}.log")
                    used[n][phase] += cpu_seconds(p.pid) - before[n]
                print(f"scrape_cost: round {r + 1}/{ROUNDS} {phase:6s} {elapsed:5.1f} s", flush=True)

        load = os.getloadavg()
        print(f"\nCPU of one core, {ROUNDS} x {SECONDS} s per phase, {scrapes} scrapes "
              f"(load average at the end: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}, "
              f"clock tick {1000 // TICK} ms)")
        print(f"| program | idle CPU % | scraped 1/s CPU % | difference (points) |")
        print(f"|---|---:|---:|---:|")
        for n in programs:
            idle = 100 * used[n]["idle"] / wall["idle"]
            scraped = 100 * used[n]["scrape"] / wall["scrape"]
            print(f"| stolon-{n} | {idle:.3f} | {scraped:.3f} | {scraped - idle:+.3f} |")
    finally:
        for p in reversed(procs):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in reversed(procs):
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
        if os.environ.get("BENCH_KEEP") != "1":
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

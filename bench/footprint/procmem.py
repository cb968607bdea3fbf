#!/usr/bin/env python3
"""Memory and CPU of one process, read from /proc (nothing is paged out or changed).

  procmem.py rss <pid>                     VmRSS in KiB
  procmem.py breakdown <pid> [top]         VmRSS, smaps_rollup totals and the Rss of each mapped
                                           file (summed over its mappings) / anonymous kind
  procmem.py cpu <pid> <seconds>           CPU% of one core used by the process (all its threads)
                                           over <seconds>, plus its waited-for children's CPU
"""
import collections
import os
import sys
import time


def status_kb(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def rollup(pid):
    out = {}
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            parts = line.split()
            if len(parts) == 3 and parts[2] == "kB":
                out[parts[0].rstrip(":")] = int(parts[1])
    return out


def per_mapping(pid):
    """{name: [rss, private_dirty, private_clean+shared_clean]} summed over the mappings."""
    sums = collections.defaultdict(lambda: [0, 0, 0])
    name = None
    with open(f"/proc/{pid}/smaps") as f:
        for line in f:
            first = line.split(None, 1)[0]
            if "-" in first and not first.endswith(":"):  # a mapping header
                fields = line.split()
                name = fields[5] if len(fields) > 5 else "[anon]"
                name = os.path.basename(name) if name.startswith("/") else name
                continue
            key, _, rest = line.partition(":")
            if key == "Rss":
                sums[name][0] += int(rest.split()[0])
            elif key == "Private_Dirty":
                sums[name][1] += int(rest.split()[0])
            elif key in ("Private_Clean", "Shared_Clean"):
                sums[name][2] += int(rest.split()[0])
    return sums


def breakdown(pid, top):
    r = rollup(pid)
    print(f"  VmRSS {status_kb(pid, 'VmRSS')} KiB (anon {status_kb(pid, 'RssAnon')}, file "
          f"{status_kb(pid, 'RssFile')}, shmem {status_kb(pid, 'RssShmem')}); Pss {r.get('Pss', 0)}; "
          f"Private_Dirty {r.get('Private_Dirty', 0)}; VmSize {status_kb(pid, 'VmSize')}; "
          f"threads {status_kb(pid, 'Threads')}")
    rows = sorted(per_mapping(pid).items(), key=lambda kv: -kv[1][0])
    print(f"  {'mapping':<40} {'Rss':>7} {'dirty':>7} {'clean':>7}  (KiB)")
    for name, (rss, dirty, clean) in rows[:top]:
        print(f"  {name:<40} {rss:>7} {dirty:>7} {clean:>7}")
    rest = rows[top:]
    if rest:
        print(f"  {'(%d more)' % len(rest):<40} {sum(v[0] for _, v in rest):>7}")


def cpu_ticks(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    # fields[0] is field 3 (state): utime=14, stime=15, cutime=16, cstime=17
    return int(fields[11]) + int(fields[12]), int(fields[13]) + int(fields[14])


def cpu(pid, seconds):
    hz = os.sysconf("SC_CLK_TCK")
    own0, ch0 = cpu_ticks(pid)
    t0 = time.monotonic()
    time.sleep(seconds)
    own1, ch1 = cpu_ticks(pid)
    dt = time.monotonic() - t0
    own = 100.0 * (own1 - own0) / hz / dt
    children = 100.0 * (ch1 - ch0) / hz / dt
    print(f"{own:.2f} {children:.2f}")


def main():
    cmd, pid = sys.argv[1], int(sys.argv[2])
    if cmd == "rss":
        print(status_kb(pid, "VmRSS"))
    elif cmd == "breakdown":
        breakdown(pid, int(sys.argv[3]) if len(sys.argv) > 3 else 12)
    elif cmd == "cpu":
        cpu(pid, float(sys.argv[3]))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()

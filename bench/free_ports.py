#!/usr/bin/env python3
"""Prints N distinct TCP ports free on 127.0.0.1, one line, space-separated.

Ports come from below the kernel's ephemeral range (ip_local_port_range): a port from inside it
can be taken by any outgoing connection (pgbench -C opens thousands) between this pick and the
server's bind.
"""
import random
import socket
import sys


def ephemeral_range():
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            lo, hi = (int(x) for x in f.read().split())
            return lo, hi
    except (OSError, ValueError):
        return 32768, 60999


_taken = set()


def free_port():
    """One free loopback port below the ephemeral range, never one this process already got."""
    lo, hi = 10000, ephemeral_range()[0] - 1
    if hi - lo < 2000:
        lo, hi = ephemeral_range()[1] + 1, 65535
    for _ in range(10000):
        port = random.randint(lo, hi)
        if port in _taken or port in (5432, 2379, 2380, 8008):
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        _taken.add(port)
        return port
    raise RuntimeError("free_ports: no free loopback port below the ephemeral range")


if __name__ == "__main__":
    try:
        count = int(sys.argv[1]) if len(sys.argv) > 1 else 1
        print(" ".join(str(free_port()) for _ in range(count)))
    except RuntimeError as e:
        sys.exit(str(e))

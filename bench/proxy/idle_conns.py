#!/usr/bin/env python3
"""Opens N PostgreSQL sessions (startup + trust auth, up to ReadyForQuery) on host:port, prints
"ready N" and holds them idle until stdin closes. Used to measure a proxy's RSS per idle session.
usage: idle_conns.py <host> <port> <count> <user> <database>"""
import socket
import struct
import sys


def startup(host, port, user, db):
    s = socket.create_connection((host, port), timeout=30)
    params = b"user\0" + user.encode() + b"\0database\0" + db.encode() + b"\0\0"
    body = struct.pack("!I", 196608) + params
    s.sendall(struct.pack("!I", len(body) + 4) + body)
    buf = b""
    while True:  # read messages until ReadyForQuery ('Z')
        chunk = s.recv(65536)
        if not chunk:
            raise RuntimeError("server closed during startup")
        buf += chunk
        while len(buf) >= 5:
            typ, ln = buf[0:1], struct.unpack("!I", buf[1:5])[0]
            if len(buf) < 1 + ln:
                break
            if typ == b"E":
                raise RuntimeError("startup error: %r" % buf[5:1 + ln])
            if typ == b"Z":
                return s
            buf = buf[1 + ln:]


def main():
    host, port, count, user, db = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
    conns = [startup(host, port, user, db) for _ in range(count)]
    print("ready", len(conns), flush=True)
    sys.stdin.read()
    for c in conns:
        c.close()


if __name__ == "__main__":
    main()

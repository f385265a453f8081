#!/usr/bin/env python3
"""Worst-case inputs, side by side: cinnabar-server and redis-server on the same hostile
requests, in interleaved rounds, reporting microseconds per command (median of rounds).

Each case sets up a small dataset, then sends one pipelined batch of the same command and
times the whole batch on the client, so a super-linear path shows as a large per-command
figure (the old glob matcher took forever on the first case). Servers are pinned to CPU 0,
the client to CPU 1.

Usage: bench/hostile.py [--rounds 5] [--batch 200] [--out FILE]
Needs target/release/cinnabar-server (cargo build --release) and redis-server.
"""
import argparse
import os
import shutil
import socket
import statistics
import subprocess
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def enc(*args):
    out = b"*%d\r\n" % len(args)
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    return out


class Conn:
    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=120)
        self.buf = b""

    def _line(self):
        while b"\r\n" not in self.buf:
            self.buf += self.s.recv(1 << 20)
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _skip(self):
        """Reads one reply without decoding it."""
        line = self._line()
        t, rest = line[:1], line[1:]
        if t == b"$":
            n = int(rest)
            if n >= 0:
                while len(self.buf) < n + 2:
                    self.buf += self.s.recv(1 << 20)
                self.buf = self.buf[n + 2:]
        elif t in (b"*", b"%", b">", b"~"):
            n = int(rest)
            for _ in range(max(n, 0) * (2 if t == b"%" else 1)):
                self._skip()

    def run(self, reqs):
        self.s.sendall(b"".join(reqs))
        for _ in reqs:
            self._skip()


def start(cmd, port, tmp):
    p = subprocess.Popen(
        ["taskset", "-c", "0"] + cmd + ["--port", str(port), "--save", "", "--appendonly", "no",
                                       "--dir", tmp],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return p
        except OSError:
            time.sleep(0.02)
    p.kill()
    raise SystemExit(f"{cmd[0]} did not start")


# (name, setup requests, the command repeated in the batch)
A40 = b"a" * 40
A10K = b"a" * 10_000
CASES = [
    ("KEYS a*a*...a*b (20 stars), 40-byte key",
     [enc("SET", A40, 1)], enc("KEYS", b"a*" * 20 + b"b")),
    ("KEYS (*a)x500 b, 10 kB key",
     [enc("SET", A10K, 1)], enc("KEYS", b"*a" * 500 + b"b")),
    ("SCAN MATCH (*a)x500 b over 1 key",
     [enc("SET", A10K, 1)], enc("SCAN", 0, "MATCH", b"*a" * 500 + b"b", "COUNT", 10)),
    ("HSCAN MATCH a*...b, 100 40-byte fields",
     [enc("HSET", "h", *sum(([A40 + b"%d" % i, 1] for i in range(100)), []))],
     enc("HSCAN", "h", 0, "MATCH", b"a*" * 20 + b"b", "COUNT", 100)),
    ("PUBSUB CHANNELS a*...b", [], enc("PUBSUB", "CHANNELS", b"a*" * 20 + b"b")),
    ("CONFIG GET a*...b", [], enc("CONFIG", "GET", b"a*" * 20 + b"b")),
    ("LCS of two 2 kB strings",
     [enc("SET", "x", os.urandom(1024).hex()), enc("SET", "y", os.urandom(1024).hex())],
     enc("LCS", "x", "y", "LEN")),
    # Counted inside a script so the client does not parse 100,000 replies per call.
    ("SRANDMEMBER s -100000 (10 members), via EVAL",
     [enc("SADD", "s", *range(10))],
     enc("EVAL", "return #redis.call('srandmember', KEYS[1], -100000)", 1, "s")),
]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--batch", type=int, default=200)
    ap.add_argument("--out")
    args = ap.parse_args()
    ours = os.path.join(ROOT, "target/release/cinnabar-server")
    servers = [("redis", [shutil.which("redis-server")]), ("cinnabar", [ours])]
    tmp = tempfile.mkdtemp()
    procs, conns = {}, {}
    try:
        for name, cmd in servers:
            port = free_port()
            procs[name] = start(cmd, port, tmp)
            conns[name] = Conn(port)
        times = {(c[0], s): [] for c in CASES for s, _ in servers}
        for _ in range(args.rounds):
            for case, setup, req in CASES:
                for name, _ in servers:
                    c = conns[name]
                    c.run([enc("FLUSHALL")] + setup)
                    t0 = time.perf_counter()
                    c.run([req] * args.batch)
                    times[(case, name)].append((time.perf_counter() - t0) / args.batch * 1e6)
        lines = ["| case | redis-server µs/cmd | cinnabar µs/cmd | ratio |", "|---|---|---|---|"]
        for case, _, _ in CASES:
            r = statistics.median(times[(case, "redis")])
            o = statistics.median(times[(case, "cinnabar")])
            lines.append(f"| {case} | {r:.1f} | {o:.1f} | {o / r:.2f} |")
        text = "\n".join(lines)
        print(text)
        if args.out:
            with open(args.out, "w") as f:
                f.write(text + "\n")
    finally:
        for p in procs.values():
            p.kill()
            p.wait()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()

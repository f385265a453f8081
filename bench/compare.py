#!/usr/bin/env python3
"""Side-by-side benchmark of cinnabar-server and redis-server.

What it measures, for each server, in interleaved rounds (redis, cinnabar, redis, ...):
  - throughput of redis-benchmark for each test at each pipeline depth;
  - server CPU time per request (utime+stime of the server process from /proc, divided by the
    number of requests), the figure that says "faster per core";
  - RSS bytes per key after loading N keys (key:%012d -> "xxx", like redis-benchmark's keys).

Servers are pinned to CPU 0, the client to CPU 1 (taskset), so they do not share a core.
Prints a markdown table; `--out FILE` also writes it. Needs redis-server, redis-benchmark.

Usage: bench/compare.py [--rounds 3] [--requests 200000] [--tests ping_mbulk,set,get,lpush,publish,...]
                        [--pipelines 1,16] [--keys 1000000] [--out docs/perf-run.md]
"""
import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CLK_TCK = os.sysconf("SC_CLK_TCK")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def rss_bytes(pid):
    with open(f"/proc/{pid}/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


class Server:
    def __init__(self, name, binary, cpu):
        self.name = name
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix=f"bench-{name}-")
        args = [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                "--appendonly", "no", "--dir", self.dir]
        self.proc = subprocess.Popen(["taskset", "-c", str(cpu)] + args,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 20
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"{name} did not start")

    def cli(self, *args, stdin=None):
        return subprocess.run(["redis-cli", "-p", str(self.port)] + list(args), input=stdin,
                              capture_output=True, timeout=600, check=True).stdout

    def stop(self):
        self.proc.kill()
        self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


# Tests that are not redis-benchmark -t names: the command line to send instead.
CUSTOM_TESTS = {"publish": ["PUBLISH", "bench:chan", "hello-subscriber"]}


def start_subscriber(server, client_cpu):
    """One subscriber for the publish test: redis-cli reading into /dev/null."""
    sub = subprocess.Popen(["taskset", "-c", str(client_cpu), "redis-cli", "-p", str(server.port),
                            "SUBSCRIBE", "bench:chan"], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
    deadline = time.time() + 10
    while time.time() < deadline:
        if server.cli("PUBSUB", "NUMSUB", "bench:chan").split()[-1] == b"1":
            return sub
        time.sleep(0.05)
    sub.kill()
    raise RuntimeError("subscriber did not subscribe")


def run_benchmark(server, test, pipeline, requests, client_cpu):
    cmd = ["taskset", "-c", str(client_cpu), "redis-benchmark", "-p", str(server.port),
           "-n", str(requests), "-P", str(pipeline), "-c", "50", "-r", "100000", "-q", "--csv"]
    sub = None
    if test in CUSTOM_TESTS:
        cmd += CUSTOM_TESTS[test]
        if test == "publish":
            sub = start_subscriber(server, client_cpu)
    else:
        cmd += ["-t", test]
    before = cpu_seconds(server.proc.pid)
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=600, check=True).stdout
    finally:
        if sub is not None:
            sub.kill()
            sub.wait()
    after = cpu_seconds(server.proc.pid)
    rps = None
    for line in out.splitlines():
        parts = [p.strip('"') for p in line.split(",")]
        if len(parts) >= 2 and parts[0] != "test":
            rps = float(parts[1])
    return rps, (after - before) / requests


def load_keys(server, n):
    """Loads n keys through redis-cli --pipe and returns RSS growth per key."""
    server.cli("FLUSHALL")
    time.sleep(0.5)
    before = rss_bytes(server.proc.pid)
    chunk = []
    for i in range(n):
        key = f"key:{i:012d}"
        chunk.append(f"*3\r\n$3\r\nSET\r\n${len(key)}\r\n{key}\r\n$3\r\nxxx\r\n")
    server.cli("--pipe", stdin="".join(chunk).encode())
    dbsize = int(server.cli("DBSIZE").strip() or 0)
    time.sleep(0.5)
    after = rss_bytes(server.proc.pid)
    return (after - before) / n, dbsize


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--requests", type=int, default=200000)
    ap.add_argument("--tests", default="ping_mbulk,set,get,lpush,lpop,hset,sadd,zadd")
    ap.add_argument("--pipelines", default="1,16")
    ap.add_argument("--keys", type=int, default=1000000)
    ap.add_argument("--cinnabar", default=os.path.join(ROOT, "target/release/cinnabar-server"))
    ap.add_argument("--out")
    a = ap.parse_args()
    if os.cpu_count() < 2:
        sys.exit("needs at least 2 CPUs (server and client on different cores)")
    servers = [Server("redis", shutil.which("redis-server"), 0), Server("cinnabar", a.cinnabar, 0)]
    version = subprocess.run(["redis-server", "--version"], capture_output=True, text=True).stdout.split()[2]
    results = {}
    try:
        for test in a.tests.split(","):
            for p in [int(x) for x in a.pipelines.split(",")]:
                for _ in range(a.rounds):
                    for s in servers:
                        rps, cpu = run_benchmark(s, test, p, a.requests, 1)
                        results.setdefault((test, p, s.name), []).append((rps, cpu))
        memory = {}
        if a.keys:
            for s in servers:
                memory[s.name] = load_keys(s, a.keys)
    finally:
        for s in servers:
            s.stop()

    lines = [f"redis-server {version} vs cinnabar, {a.rounds} interleaved rounds of {a.requests} "
             f"requests, 50 clients, server on CPU 0, redis-benchmark on CPU 1. Medians.", "",
             "| test | -P | redis rps | cinnabar rps | redis CPU µs/req | cinnabar CPU µs/req | CPU ratio (cinnabar/redis) |",
             "|---|---|---|---|---|---|---|"]
    for test in a.tests.split(","):
        for p in [int(x) for x in a.pipelines.split(",")]:
            r = results[(test, p, "redis")]
            c = results[(test, p, "cinnabar")]
            r_rps, c_rps = statistics.median(x[0] for x in r), statistics.median(x[0] for x in c)
            r_cpu, c_cpu = statistics.median(x[1] for x in r), statistics.median(x[1] for x in c)
            lines.append(f"| {test} | {p} | {r_rps:,.0f} | {c_rps:,.0f} | {r_cpu*1e6:.3f} | "
                         f"{c_cpu*1e6:.3f} | {c_cpu / r_cpu:.2f} |")
    if memory:
        lines += ["", f"Memory after loading {a.keys:,} keys (16-byte keys, 3-byte values), RSS growth:", "",
                  "| server | keys | RSS bytes/key |", "|---|---|---|"]
        for name, (per_key, dbsize) in memory.items():
            lines.append(f"| {name} | {dbsize:,} | {per_key:.1f} |")
        lines.append(f"\nRSS ratio (cinnabar/redis): {memory['cinnabar'][0] / memory['redis'][0]:.2f}")
    text = "\n".join(lines)
    print(text)
    if a.out:
        with open(a.out, "w") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    main()

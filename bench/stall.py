#!/usr/bin/env python3
"""Worst-case latency while the keyspace grows, and while a million keys expire at once.

For each server (redis-server, then cinnabar): redis-benchmark pipelines SETs of random keys
(-r 100M, so about N unique keys; every table doubling happens during the run) while a probe
client sends PING every millisecond and records each round trip. Prints the probe's p50, p99,
p99.9 and max latency per server: a stop-the-world resize would show as a max of many ms.
Then (expiry scenario) ~1M keys are written with `PX 3000` in about a second, and the probe
runs for 6 s while they all expire, so the active expiry cycle's bound is what is measured.

Usage: bench/stall.py [--requests 12000000] [--cinnabar target/release/cinnabar-server]
"""
import argparse
import os
import shutil
import socket
import subprocess
import threading
import time

from compare import Server, ROOT


def probe(port, stop, samples):
    s = socket.create_connection(("127.0.0.1", port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    while not stop.is_set():
        t0 = time.perf_counter()
        s.sendall(b"PING\r\n")
        buf = b""
        while not buf.endswith(b"\r\n"):
            buf += s.recv(64)
        samples.append(time.perf_counter() - t0)
        time.sleep(0.001)
    s.close()


def run(server, requests):
    stop = threading.Event()
    samples = []
    t = threading.Thread(target=probe, args=(server.port, stop, samples))
    t.start()
    t0 = time.time()
    subprocess.run(["taskset", "-c", "1", "redis-benchmark", "-p", str(server.port), "-t", "set",
                    "-n", str(requests), "-r", "100000000", "-P", "64", "-c", "4", "-q"],
                   capture_output=True, timeout=1800, check=True)
    elapsed = time.time() - t0
    stop.set()
    t.join()
    keys = int(server.cli("DBSIZE").strip())
    samples.sort()
    pct = lambda p: samples[min(len(samples) - 1, int(len(samples) * p))] * 1000
    return keys, elapsed, len(samples), pct(0.5), pct(0.99), pct(0.999), samples[-1] * 1000


def run_expiry(server, keys):
    server.cli("FLUSHALL")
    subprocess.run(["taskset", "-c", "1", "redis-benchmark", "-p", str(server.port), "-n", str(keys),
                    "-r", str(keys * 10), "-P", "64", "-c", "4", "-q", "SET", "exp:__rand_int__", "x",
                    "PX", "3000"], capture_output=True, timeout=600, check=True)
    loaded = int(server.cli("DBSIZE").strip())
    stop = threading.Event()
    samples = []
    t = threading.Thread(target=probe, args=(server.port, stop, samples))
    t.start()
    time.sleep(6)
    stop.set()
    t.join()
    left = int(server.cli("DBSIZE").strip())
    samples.sort()
    pct = lambda p: samples[min(len(samples) - 1, int(len(samples) * p))] * 1000
    return loaded, left, len(samples), pct(0.5), pct(0.99), pct(0.999), samples[-1] * 1000


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=12000000)
    ap.add_argument("--expire-keys", type=int, default=1000000)
    ap.add_argument("--cinnabar", default=os.path.join(ROOT, "target/release/cinnabar-server"))
    a = ap.parse_args()
    print("| server | keys | load s | probes | p50 ms | p99 ms | p99.9 ms | max ms |")
    print("|---|---|---|---|---|---|---|---|")
    for name, binary in [("redis", shutil.which("redis-server")), ("cinnabar", a.cinnabar)]:
        s = Server(name, binary, 0)
        try:
            keys, el, n, p50, p99, p999, mx = run(s, a.requests)
            print(f"| {name} | {keys:,} | {el:.1f} | {n} | {p50:.3f} | {p99:.3f} | {p999:.3f} | {mx:.3f} |",
                  flush=True)
        finally:
            s.stop()
    print()
    print("| server | keys with PX 3000 | left after 6 s | probes | p50 ms | p99 ms | p99.9 ms | max ms |")
    print("|---|---|---|---|---|---|---|---|")
    for name, binary in [("redis", shutil.which("redis-server")), ("cinnabar", a.cinnabar)]:
        s = Server(name, binary, 0)
        try:
            loaded, left, n, p50, p99, p999, mx = run_expiry(s, a.expire_keys)
            print(f"| {name} | {loaded:,} | {left:,} | {n} | {p50:.3f} | {p99:.3f} | {p999:.3f} | {mx:.3f} |",
                  flush=True)
        finally:
            s.stop()


if __name__ == "__main__":
    main()

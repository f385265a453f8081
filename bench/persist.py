#!/usr/bin/env python3
"""Persistence benchmark: cinnabar-server and redis-server side by side.

For each server (same arguments, its own temp dir, port on 127.0.0.1):
  - SAVE time and RDB size for N keys (DEBUG POPULATE N, default 1,000,000);
  - restart load time: from spawning the process on that RDB until PING answers PONG (not
    -LOADING), with DBSIZE checked afterwards;
  - memory during BGSAVE under a write load: the parent's RSS rise plus the child's private
    (copy-on-write) pages at their peak, sampled every 10 ms from /proc while redis-benchmark
    writes random keys (`key:000000NNNNNN`: mostly new keys next to POPULATE's `key:N`);
  - SET throughput with `appendonly yes`, `appendfsync always`, 50 clients
    (`redis-benchmark -c 50 -n 200000 -t set`).

Prints a markdown table with both figures and the ratio cinnabar / redis; `--out FILE` also
writes it. Every external command is wrapped in a timeout; servers are killed at the end.
Needs redis-server, redis-cli and redis-benchmark (Debian's redis-server / redis-tools), and a
release build: cargo build --release -p cinnabar-server.

Usage: bench/persist.py [--keys 1000000] [--requests 200000] [--out FILE]
"""
import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CINNABAR = os.path.join(ROOT, "target", "release", "cinnabar-server")
PAGE = os.sysconf("SC_PAGE_SIZE")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def cli(port, *args, timeout=600):
    out = subprocess.run(
        ["timeout", str(timeout), "redis-cli", "-p", str(port), *args],
        capture_output=True,
        text=True,
    )
    return out.stdout.strip()


def rss(pid):
    try:
        with open(f"/proc/{pid}/statm") as f:
            return int(f.read().split()[1]) * PAGE
    except OSError:
        return 0


def private_bytes(pid):
    """Private_Clean + Private_Dirty of a process (its copy-on-write copies, for a fork child)."""
    total = 0
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith(("Private_Clean:", "Private_Dirty:")):
                    total += int(line.split()[1]) * 1024
    except OSError:
        pass
    return total


def children(pid):
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(p) for p in f.read().split()]
    except OSError:
        return []


class Server:
    def __init__(self, binary, name, extra=()):
        self.binary = binary
        self.name = name
        self.dir = tempfile.mkdtemp(prefix=f"persist-bench-{name}-")
        self.port = free_port()
        self.extra = list(extra)
        self.proc = None

    def start(self, extra=()):
        args = [
            self.binary,
            "--port", str(self.port),
            "--bind", "127.0.0.1",
            "--dir", self.dir,
            "--save", "",
            "--enable-debug-command", "yes",
            "--logfile", os.path.join(self.dir, "server.log"),
            *self.extra,
            *extra,
        ]
        t0 = time.monotonic()
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = t0 + 600
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited during start-up")
            if cli(self.port, "PING", timeout=5) == "PONG":
                return time.monotonic() - t0
            time.sleep(0.005)
        raise RuntimeError(f"{self.name} did not start")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.proc = None

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


def save_and_load(srv, keys):
    srv.start()
    assert cli(srv.port, "DEBUG", "POPULATE", str(keys)) == "OK"
    t0 = time.monotonic()
    assert cli(srv.port, "SAVE") == "OK"
    save_s = time.monotonic() - t0
    size = os.path.getsize(os.path.join(srv.dir, "dump.rdb"))
    srv.stop()
    load_s = srv.start()
    n = int(cli(srv.port, "DBSIZE"))
    assert n == keys, f"{srv.name}: {n} keys after restart"
    return save_s, size, load_s


def bgsave_memory(srv, keys, requests):
    """Server already running with `keys` keys. Return value: (bytes, BGSAVE seconds)."""
    pid = srv.proc.pid
    base = rss(pid)
    writer = subprocess.Popen(
        ["timeout", "300", "redis-benchmark", "-p", str(srv.port), "-t", "set",
         "-r", str(keys), "-n", str(requests * 20), "-c", "10", "-d", "3", "-q"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(0.5)
    peak_parent, peak_child = rss(pid), 0
    t0 = time.monotonic()
    cli(srv.port, "BGSAVE")
    seen_child = False
    while time.monotonic() - t0 < 300:
        kids = [c for c in children(pid) if c != writer.pid]
        peak_parent = max(peak_parent, rss(pid))
        if kids:
            seen_child = True
            peak_child = max(peak_child, sum(private_bytes(k) for k in kids))
        elif seen_child or time.monotonic() - t0 > 2:
            if "rdb_bgsave_in_progress:0" in cli(srv.port, "INFO", "persistence"):
                break
        time.sleep(0.01)
    took = time.monotonic() - t0
    writer.kill()
    writer.wait()
    print(f"[{srv.name}] BGSAVE: parent RSS {mib(base)} -> peak {mib(peak_parent)}, "
          f"child private peak {mib(peak_child)}", file=sys.stderr)
    return (peak_parent - base) + peak_child, took


def set_always(srv, requests):
    srv.start(["--appendonly", "yes", "--appendfsync", "always"])
    out = subprocess.run(
        ["timeout", "600", "redis-benchmark", "-p", str(srv.port), "-c", "50",
         "-n", str(requests), "-t", "set", "-q"],
        capture_output=True,
        text=True,
    ).stdout
    srv.stop()
    # "SET: 12345.67 requests per second, p50=..." (redis-benchmark -q; \r-separated progress)
    for part in out.replace("\r", "\n").splitlines():
        if part.startswith("SET:") and "requests per second" in part:
            return float(part.split()[1])
    raise RuntimeError(f"no SET figure in: {out!r}")


def mib(b):
    return f"{b / (1 << 20):.1f} MiB"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--keys", type=int, default=1_000_000)
    ap.add_argument("--requests", type=int, default=200_000)
    ap.add_argument("--out")
    a = ap.parse_args()
    if not os.path.exists(CINNABAR):
        sys.exit("build first: cargo build --release -p cinnabar-server")
    results = {}
    for name, binary in (("redis", shutil.which("redis-server")), ("cinnabar", CINNABAR)):
        srv = Server(binary, name)
        try:
            print(f"[{name}] SAVE / load of {a.keys} keys", file=sys.stderr)
            save_s, size, load_s = save_and_load(srv, a.keys)
            print(f"[{name}] BGSAVE under writes", file=sys.stderr)
            mem, bg_s = bgsave_memory(srv, a.keys, a.requests)
            srv.stop()
            # A fresh directory for the AOF run (no RDB to load).
            shutil.rmtree(srv.dir, ignore_errors=True)
            os.makedirs(srv.dir)
            print(f"[{name}] SET, appendfsync always, 50 clients", file=sys.stderr)
            rps = set_always(srv, a.requests)
            results[name] = dict(save=save_s, size=size, load=load_s, mem=mem, bg=bg_s, rps=rps)
        finally:
            srv.cleanup()
    c, r = results["cinnabar"], results["redis"]
    rows = [
        (f"SAVE, {a.keys:,} keys", f"{c['save']:.2f} s", f"{r['save']:.2f} s", c["save"] / r["save"]),
        ("RDB file size", mib(c["size"]), mib(r["size"]), c["size"] / r["size"]),
        ("restart: spawn to PONG (load)", f"{c['load']:.2f} s", f"{r['load']:.2f} s", c["load"] / r["load"]),
        ("BGSAVE under writes: duration", f"{c['bg']:.2f} s", f"{r['bg']:.2f} s", c["bg"] / r["bg"]),
        ("BGSAVE under writes: memory rise (parent RSS + child private)", mib(c["mem"]), mib(r["mem"]),
         c["mem"] / max(r["mem"], 1)),
        ("SET/s, appendfsync always, 50 clients", f"{c['rps']:,.0f}", f"{r['rps']:,.0f}", c["rps"] / r["rps"]),
    ]
    lines = ["| metric | cinnabar | redis 7.0 | cinnabar / redis |", "|---|---|---|---|"]
    lines += [f"| {m} | {cv} | {rv} | {ratio:.2f} |" for m, cv, rv, ratio in rows]
    table = "\n".join(lines)
    print(table)
    if a.out:
        with open(a.out, "w") as f:
            f.write(table + "\n")


if __name__ == "__main__":
    main()

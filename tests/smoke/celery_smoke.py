#!/usr/bin/env python3
"""Smoke test: a real Celery worker with broker and result backend on the server under test.

Starts the server on a free loopback port, starts `celery worker` (solo pool) against it, and
checks plain tasks, countdown (ETA) tasks, retries, failures, groups and chords, and the worker's
remote control (which goes over pub/sub). Celery's redis transport uses lists with BRPOP, sorted
sets and hashes for unacked messages, pub/sub for results and broadcasts, and transactions.

Usage: tests/smoke/celery_smoke.py path/to/cinnabar-server   (redis-server works too)
"""
import os
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def wait_port(port, seconds=20):
    deadline = time.time() + seconds
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if time.time() > deadline:
                raise
            time.sleep(0.05)


def main():
    binary = sys.argv[1]
    port = free_port()
    workdir = tempfile.mkdtemp(prefix="cinnabar-celery-")
    server = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                               "--dir", workdir], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    worker = None
    worker_log = open(os.path.join(workdir, "worker.log"), "w+")
    try:
        wait_port(port)
        url = f"redis://127.0.0.1:{port}/0"
        os.environ["CELERY_URL"] = url
        sys.path.insert(0, HERE)
        env = dict(os.environ, PYTHONPATH=HERE)
        worker = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "celery_tasks", "worker", "--pool=solo",
             "--loglevel=INFO", "--without-heartbeat", "--without-gossip", "--without-mingle"],
            cwd=HERE, env=env, stdout=worker_log, stderr=subprocess.STDOUT)

        import celery_tasks as t
        from celery import chord, group

        checks = 0
        # Remote control over pub/sub: wait until the worker answers a ping.
        deadline = time.time() + 60
        while not t.app.control.ping(timeout=1.0):
            if time.time() > deadline or worker.poll() is not None:
                raise AssertionError("worker did not answer ping")
        checks += 1

        assert t.add.delay(2, 3).get(timeout=30) == 5
        checks += 1
        results = [t.add.delay(i, i) for i in range(20)]
        assert [r.get(timeout=30) for r in results] == [2 * i for i in range(20)]
        checks += 1
        started = time.time()
        assert t.add.apply_async((1, 1), countdown=1).get(timeout=30) == 2
        assert time.time() - started >= 0.9
        checks += 1
        try:
            t.fail.delay("boom").get(timeout=30)
            raise AssertionError("failure not propagated")
        except ValueError as e:
            assert "boom" in str(e)
        checks += 1
        assert t.flaky.delay("celery-smoke:attempts").get(timeout=30) == 3
        checks += 1
        assert group(t.add.s(i, 1) for i in range(10))().get(timeout=30) == list(range(1, 11))
        checks += 1
        assert chord(t.add.s(i, i) for i in range(10))(t.total.s()).get(timeout=30) == 90
        checks += 1
        print(f"celery: {checks} passed, 0 failed")
    except BaseException:
        worker_log.flush()
        worker_log.seek(0)
        sys.stderr.write(worker_log.read()[-4000:])
        raise
    finally:
        if worker is not None:
            worker.terminate()
            try:
                worker.wait(timeout=10)
            except subprocess.TimeoutExpired:
                worker.kill()
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Smoke test with a real client library: redis-py against cinnabar-server, RESP2 and RESP3.

redis-py sends HELLO 3 and CLIENT SETINFO on connect (RESP3) and parses every reply type, so
this catches reply-shape mistakes the byte-level tests might not. Starts the server itself on
a free loopback port and stops it at the end.

Usage: tests/smoke/redis_py.py path/to/cinnabar-server
"""
import socket
import subprocess
import sys
import tempfile
import time

import redis


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def check_lock_and_transactions(r):
    """redis-py's Lock (SET NX PX + EVALSHA scripts), transactions with WATCH, pub/sub."""
    from redis.exceptions import LockNotOwnedError

    lock = r.lock("smoke:lock", timeout=5, blocking_timeout=2)
    assert lock.acquire() is True
    other = r.lock("smoke:lock", timeout=5)
    assert other.acquire(blocking=False) is False
    assert lock.owned() and lock.locked()
    assert lock.extend(10) is True and r.pttl("smoke:lock") > 10000
    assert lock.reacquire() is True and r.pttl("smoke:lock") <= 5000
    lock.release()
    assert not lock.locked()
    assert other.acquire(blocking=False) is True
    r.set("smoke:lock", "someone-else")
    try:
        other.release()
        raise AssertionError("released a lock it does not own")
    except LockNotOwnedError:
        pass
    r.delete("smoke:lock")
    with r.lock("smoke:lock2", timeout=5) as held:
        assert held.locked()
    assert not r.exists("smoke:lock2")

    def incr_twice(pipe):
        value = int(pipe.get("smoke:counter") or 0)
        pipe.multi()
        pipe.set("smoke:counter", value + 2)

    assert r.transaction(incr_twice, "smoke:counter") == [True]
    assert r.get("smoke:counter") == "2"
    p = r.pipeline(transaction=True)
    p.incr("smoke:counter").lpush("smoke:list", "a", "b").lrange("smoke:list", 0, -1)
    assert p.execute() == [3, 2, ["b", "a"]]

    ps = r.pubsub()
    ps.subscribe("smoke:chan")
    deadline = time.time() + 5
    msg = ps.get_message(timeout=1)
    assert msg and msg["type"] == "subscribe"
    assert r.publish("smoke:chan", "hello") == 1
    while True:
        msg = ps.get_message(timeout=1)
        if msg or time.time() > deadline:
            break
    assert msg and msg["type"] == "message" and msg["data"] == "hello"
    ps.close()


def main():
    binary = sys.argv[1]
    port = free_port()
    workdir = tempfile.mkdtemp(prefix="cinnabar-smoke-")
    proc = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--dir", workdir], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.time() > deadline:
                    raise
                time.sleep(0.05)
        checks = 0
        for protocol in (2, 3):
            r = redis.Redis(host="127.0.0.1", port=port, protocol=protocol, decode_responses=True)
            assert r.ping() is True
            r.flushall()
            assert r.set("k", "v", ex=100) is True
            assert r.get("k") == "v"
            assert 0 < r.ttl("k") <= 100
            assert r.set("lock", "token", nx=True, ex=30) is True
            assert r.set("lock", "other", nx=True, ex=30) is None
            assert r.incr("n") == 1 and r.incrby("n", 41) == 42
            assert abs(r.incrbyfloat("f", 0.1) - 0.1) < 1e-12
            assert r.mset({"a": "1", "b": "2"}) is True
            assert r.mget("a", "b", "missing") == ["1", "2", None]
            assert r.append("a", "x") == 2 and r.strlen("a") == 2
            assert r.getrange("a", 0, 0) == "1"
            assert r.exists("a", "b", "missing") == 2
            assert sorted(r.keys("*")) == sorted(["k", "lock", "n", "f", "a", "b"])
            assert set(r.scan_iter(match="*")) == {"k", "lock", "n", "f", "a", "b"}
            assert r.type("a") == "string"
            assert r.object("encoding", "n") == "int"
            assert r.delete("a", "b") == 2
            assert r.rename("k", "k2") is True and r.get("k2") == "v"
            assert r.expire("k2", 50) is True and r.persist("k2") is True
            assert r.dbsize() == 4
            assert r.client_setname("smoke") is True and r.client_getname() == "smoke"
            assert any(c.get("name") == "smoke" for c in r.client_list())
            assert r.info("server")["redis_version"] == "7.0.15"
            assert r.config_get("maxmemory-policy") == {"maxmemory-policy": "noeviction"}
            assert r.lcs("a", "b") == ""
            p = r.pipeline(transaction=False)
            for i in range(100):
                p.set(f"p{i}", i)
            assert all(p.execute())
            assert r.get("p99") == "99"
            checks += 1
            check_lock_and_transactions(r)
            checks += 1
            r.close()
        print(f"(redis-py {redis.__version__} against cinnabar, RESP2 and RESP3)")
        print(f"redis-py: {checks} passed, 0 failed")
    finally:
        proc.terminate()
        proc.wait(timeout=10)


if __name__ == "__main__":
    main()

// Smoke test with ioredis (Node) against cinnabar-server: basic string and key commands,
// pipelines and INFO parsing, as an ioredis application would use them.
// Usage: node tests/smoke/ioredis.mjs path/to/cinnabar-server  (ioredis installed beside it)
import { spawn } from "node:child_process";
import net from "node:net";
import os from "node:os";
import fs from "node:fs";
import path from "node:path";
import Redis from "ioredis";

const binary = process.argv[2];
const freePort = () =>
  new Promise((resolve) => {
    const s = net.createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });

const port = await freePort();
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cinnabar-ioredis-"));
const server = spawn(binary, ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--dir", dir], {
  stdio: "ignore",
});
const assert = (cond, what) => {
  if (!cond) throw new Error(`check failed: ${what}`);
};
let redis;
try {
  const deadline = Date.now() + 20000;
  for (;;) {
    const ok = await new Promise((resolve) => {
      const c = net.connect(port, "127.0.0.1", () => { c.end(); resolve(true); });
      c.on("error", () => resolve(false));
    });
    if (ok) break;
    if (Date.now() > deadline) throw new Error("server did not start");
    await new Promise((r) => setTimeout(r, 50));
  }
  redis = new Redis({ port, host: "127.0.0.1", maxRetriesPerRequest: 1 });
  assert((await redis.ping()) === "PONG", "ping");
  await redis.flushall();
  assert((await redis.set("k", "v", "EX", 100)) === "OK", "set ex");
  assert((await redis.get("k")) === "v", "get");
  assert((await redis.set("lock", "t", "NX", "PX", 30000)) === "OK", "lock");
  assert((await redis.set("lock", "t", "NX", "PX", 30000)) === null, "lock taken");
  assert((await redis.incr("n")) === 1, "incr");
  assert((await redis.mget("k", "n", "nope")).join(",") === "v,1,", "mget");
  const res = await redis.pipeline().set("a", "1").incr("a").get("a").exec();
  assert(res.map((r) => r[1]).join(",") === "OK,2,2", "pipeline");
  assert((await redis.exists("a", "k", "zz")) === 2, "exists");
  assert((await redis.ttl("k")) > 0, "ttl");
  assert((await redis.info("server")).includes("redis_version:7.0.15"), "info");
  assert((await redis.dbsize()) === 4, "dbsize");
  console.log("ioredis: 1 passed, 0 failed");
} finally {
  if (redis) redis.disconnect();
  server.kill("SIGTERM");
}

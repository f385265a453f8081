// Smoke test: BullMQ (a Node job queue built almost entirely on Lua scripts, with cmsgpack,
// streams for events, and blocking commands) against the server under test.
// Not run by scripts/test.sh yet: BullMQ logs job events with XADD (and XDEL/XLEN/XRANGE/
// XREAD/XTRIM), and streams are not implemented; every other command its scripts call is.
// Against redis-server it passes 8 checks.
// Starts the server on a free loopback port and stops it at the end.
// Usage: node tests/smoke/bullmq.mjs path/to/cinnabar-server
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue, Worker, QueueEvents, FlowProducer } from 'bullmq';

function freePort() {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => resolve(p)); });
  });
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const binary = process.argv[2];
const port = await freePort();
const dir = mkdtempSync(join(tmpdir(), 'cinnabar-bullmq-'));
const server = spawn(binary, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--dir', dir],
  { stdio: 'ignore' });
const connection = { host: '127.0.0.1', port, maxRetriesPerRequest: null };
const watchdog = setTimeout(() => { console.error('bullmq: timed out'); server.kill('SIGKILL'); process.exit(1); }, 120000);
let checks = 0;
const closers = [];
try {
  await sleep(300);
  const queue = new Queue('smoke', { connection });
  closers.push(() => queue.close());
  const events = new QueueEvents('smoke', { connection });
  closers.push(() => events.close());
  await events.waitUntilReady();
  const worker = new Worker('smoke', async (job) => {
    if (job.name === 'fail') throw new Error('boom');
    if (job.name === 'retry' && job.attemptsMade < 2) throw new Error('again');
    return job.data.x * 2;
  }, { connection, concurrency: 4 });
  closers.push(() => worker.close());

  const job = await queue.add('double', { x: 21 });
  if ((await job.waitUntilFinished(events, 30000)) !== 42) throw new Error('wrong result');
  checks++;

  const many = await queue.addBulk(Array.from({ length: 50 }, (_, i) => ({ name: 'double', data: { x: i } })));
  const results = await Promise.all(many.map((j) => j.waitUntilFinished(events, 30000)));
  if (results.some((r, i) => r !== i * 2)) throw new Error('bulk results wrong');
  checks++;

  const delayed = await queue.add('double', { x: 1 }, { delay: 500 });
  const t0 = Date.now();
  if ((await delayed.waitUntilFinished(events, 30000)) !== 2 || Date.now() - t0 < 400) throw new Error('delay');
  checks++;

  const failing = await queue.add('fail', { x: 0 });
  try { await failing.waitUntilFinished(events, 30000); throw new Error('no failure'); }
  catch (e) { if (!String(e.message).includes('boom')) throw e; }
  checks++;

  const retried = await queue.add('retry', { x: 5 }, { attempts: 3, backoff: { type: 'fixed', delay: 50 } });
  if ((await retried.waitUntilFinished(events, 30000)) !== 10) throw new Error('retry');
  checks++;

  const prio = await queue.add('double', { x: 7 }, { priority: 3 });
  if ((await prio.waitUntilFinished(events, 30000)) !== 14) throw new Error('priority');
  checks++;

  const flow = new FlowProducer({ connection });
  closers.push(() => flow.close());
  const tree = await flow.add({ name: 'double', queueName: 'smoke', data: { x: 100 },
    children: [{ name: 'double', queueName: 'smoke', data: { x: 1 } }, { name: 'double', queueName: 'smoke', data: { x: 2 } }] });
  if ((await tree.job.waitUntilFinished(events, 30000)) !== 200) throw new Error('flow');
  checks++;

  const counts = await queue.getJobCounts('completed', 'failed', 'waiting', 'delayed');
  if (counts.failed !== 1 || counts.waiting !== 0 || counts.delayed !== 0) throw new Error(`counts ${JSON.stringify(counts)}`);
  checks++;
  console.log(`bullmq: ${checks} passed, 0 failed`);
} catch (e) {
  console.error('bullmq: failed after', checks, 'checks:', e);
  process.exitCode = 1;
} finally {
  for (const close of closers.reverse()) { try { await close(); } catch { /* closing */ } }
  clearTimeout(watchdog);
  server.kill('SIGTERM');
}

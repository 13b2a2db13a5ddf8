/**
 * Is the RSS left behind by many SSE streams a leak or uncollected garbage? (issue 19, bug 12)
 *
 *   node --expose-gc bench/sse-memory.ts [streams=1000] [rounds=4]
 *
 * Runs the real server in this process (so it can force a GC and read its own heap) and the
 * clients in a child process (so their memory is not counted). Each round opens `streams`
 * streamed runs over HTTPS at once and waits for all of them to end. After each round it prints
 * RSS and heap before and after a forced full GC. A leak shows as heapUsed after GC growing round
 * after round; garbage shows as a heap that falls back after GC while RSS stays high (V8 and the
 * allocator keep pages they have used: RSS is a high-water mark, not live memory).
 */
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseConfig } from '../src/config.ts';
import { startServer } from '../src/server.ts';

const MB = 1024 * 1024;

async function client(port: number, ca: string, key: string, agentId: string, n: number) {
  const agent = new https.Agent({ keepAlive: false, maxSockets: Infinity });
  const one = () =>
    new Promise<number>((resolve) => {
      const req = https.request(
        {
          host: '127.0.0.1',
          port,
          path: '/v2/runs',
          method: 'POST',
          ca,
          agent,
          headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        },
        (res) => {
          let events = 0;
          res.setEncoding('utf8');
          res.on('data', (d: string) => {
            events += d.split('\n\n').length - 1;
          });
          res.on('end', () => resolve(events));
        },
      );
      req.on('error', () => resolve(-1)); // counted: a connection refused or reset under the burst
      req.end(JSON.stringify({ agent_id: agentId, input: { q: 'mem' }, stream: true }));
    });
  const counts = await Promise.all(Array.from({ length: n }, one));
  return {
    events: counts.filter((c) => c >= 0).reduce((a, b) => a + b, 0),
    failed: counts.filter((c) => c < 0).length,
  };
}

if (process.argv[2] === 'client') {
  process.on('message', async (m: { port: number; ca: string; key: string; agentId: string; n: number }) => {
    process.send!(await client(m.port, m.ca, m.key, m.agentId, m.n));
    process.exit(0);
  });
} else {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run with node --expose-gc');
  const streams = Number(process.argv[2] ?? 1000);
  const rounds = Number(process.argv[3] ?? 4);
  const dir = mkdtempSync(path.join(tmpdir(), 'airmy-sse-mem-'));
  const config = parseConfig({
    AIRMY_DATA_DIR: dir,
    AIRMY_PORT: '0',
    AIRMY_LOG_LEVEL: 'warn',
    AIRMY_WORKER_CONCURRENCY: '64',
  });
  const server = await startServer(config);
  const { readFileSync } = await import('node:fs');
  const ca = readFileSync(server.caFile, 'utf8');
  const org = await server.resources.services.organizations.create({
    name: 'mem',
    plan: 'enterprise',
    rpm: 1_000_000,
    burst: 1_000_000,
  });
  const key = (await server.resources.services.apiKeys.create(org.id, { name: 'mem' })).secret;
  const agent = await server.resources.services.agents.create(org.id, {
    name: 'streamer',
    model: 'mock/streamer',
    parameters: { mock_reply: 'one two three four five six seven eight nine ten', mock_latency_ms: 200 },
  });
  const sample = () => {
    const m = process.memoryUsage();
    return {
      rss: m.rss / MB,
      heap: m.heapUsed / MB,
      total: m.heapTotal / MB,
      external: m.external / MB,
      buffers: m.arrayBuffers / MB,
    };
  };
  const fmt = (s: ReturnType<typeof sample>) =>
    `rss ${s.rss.toFixed(1)} MB, heapUsed ${s.heap.toFixed(1)} MB, heapTotal ${s.total.toFixed(1)} MB, external ${s.external.toFixed(1)} MB, arrayBuffers ${s.buffers.toFixed(1)} MB`;
  const fullGc = async () => {
    for (let i = 0; i < 3; i++) {
      gc();
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  await fullGc();
  const base = sample();
  console.log(`baseline (after GC):  ${fmt(base)}`);
  for (let round = 1; round <= rounds; round++) {
    const child = fork(import.meta.filename, ['client'], { execArgv: [] });
    const done = new Promise<{ events: number; failed: number }>((resolve) =>
      child.once('message', resolve as never),
    );
    child.send({ port: server.port, ca, key, agentId: agent.id, n: streams });
    const { events, failed } = await done;
    await server.resources.executor.flush();
    await new Promise((r) => setTimeout(r, 500));
    const before = sample();
    await fullGc();
    const after = sample();
    console.log(`round ${round}: ${streams} streams (${failed} refused or reset), ${events} events`);
    console.log(`  before GC: ${fmt(before)}`);
    console.log(`  after GC:  ${fmt(after)}   (heap vs baseline: ${(after.heap - base.heap).toFixed(1)} MB)`);
  }
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
  process.exit(0);
}

/**
 * Soak: mixed load against the real `airmy serve` in a child process for a long time, sampling its
 * RSS and event-loop lag, to catch slow leaks and creeping latency (issue 19, reliability suite).
 *
 *   npm run soak                          # 30 minutes
 *   SOAK_SECONDS=120 npm run soak         # shorter
 *   SOAK_DB=postgres npm run soak         # on Postgres (AIRMY_TEST_DATABASE_URL)
 *   SOAK_USERS=8                          # concurrent clients (default 8)
 *
 * Load, per client in a loop: sync runs (most), background runs, streamed runs, pipeline triggers,
 * reads. Samples every 5 s: the child's RSS (/proc/<pid>/status) and the event-loop lag p99 that
 * its Prometheus endpoint reports. The first fifth of the time (at most 5 min) is warm-up. It fails
 * (exit 1) when RSS at the end is 10 % or more above RSS just after warm-up (medians of three
 * samples each), or when any request got a 5xx or no answer. Not part of `npm test`.
 */
import { readFileSync } from 'node:fs';
import https from 'node:https';
import { type DbName, prepareTarget } from '../test/support/durable-target.ts';

const SECONDS = Number(process.env.SOAK_SECONDS ?? 1800);
const USERS = Number(process.env.SOAK_USERS ?? 8);
const DB = (process.env.SOAK_DB ?? 'sqlite') as DbName;
const SAMPLE_MS = 5_000;
const WARMUP_MS = Math.min(SECONDS * 200, 300_000);
const MAX_GROWTH = 0.1;

const t = await prepareTarget(DB, { AIRMY_WORKER_CONCURRENCY: '16' });
const server = await t.live();
const agent = new https.Agent({ keepAlive: true, maxSockets: USERS * 2 });

function call(method: string, path: string, body?: unknown): Promise<{ status: number; body: string }> {
  return new Promise((resolve) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = https.request(
      {
        host: '127.0.0.1',
        port: server.port,
        path,
        method,
        ca: server.ca,
        agent,
        headers: {
          authorization: `Bearer ${t.key}`,
          ...(payload ? { 'content-type': 'application/json' } : {}),
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d) => {
          text += d;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
        res.on('error', () => resolve({ status: 0, body: '' }));
      },
    );
    req.on('error', () => resolve({ status: 0, body: '' }));
    req.end(payload);
  });
}

const made = async (path: string, body: unknown) => {
  const r = await call('POST', path, body);
  if (r.status !== 201) throw new Error(`${path}: ${r.status} ${r.body}`);
  return JSON.parse(r.body).id as string;
};
const quick = await made('/v2/agents', {
  name: 'quick',
  model: 'mock/quick',
  parameters: { mock_latency_ms: 20 },
});
const chatty = await made('/v2/agents', {
  name: 'chatty',
  model: 'mock/chatty',
  parameters: { mock_reply: 'a b c d e f g h i j k l m n o p', mock_latency_ms: 300 },
});
const pipeline = await made('/v2/pipelines', {
  name: 'soak',
  steps: [
    { id: 'a', agent_id: quick, input: { q: 'a' } },
    { id: 'b', agent_id: quick, depends_on: ['a'], input: { q: '{{ steps.a.output.result }}' } },
  ],
});

const counts = new Map<string, number>();
const bad: string[] = [];
const count = (kind: string, status: number) => {
  counts.set(kind, (counts.get(kind) ?? 0) + 1);
  if (status === 0 || status >= 500) bad.push(`${kind} → ${status}`);
};
const actions: [number, string, () => Promise<{ status: number }>][] = [
  [50, 'sync run', () => call('POST', '/v2/runs', { agent_id: quick, input: { q: 'soak' } })],
  [
    15,
    'background run',
    () => call('POST', '/v2/runs', { agent_id: quick, input: { q: 'bg' }, background: true }),
  ],
  [
    15,
    'streamed run',
    () => call('POST', '/v2/runs', { agent_id: chatty, input: { q: 'st' }, stream: true }),
  ],
  [5, 'pipeline trigger', () => call('POST', `/v2/pipelines/${pipeline}/trigger`, { input: {} })],
  [15, 'list runs', () => call('GET', '/v2/runs?limit=20')],
];
const totalWeight = actions.reduce((n, [w]) => n + w, 0);
const pick = () => {
  let r = Math.random() * totalWeight;
  for (const a of actions) {
    r -= a[0];
    if (r < 0) return a;
  }
  return actions[0];
};

const started = Date.now();
const endAt = started + SECONDS * 1000;
const users = Array.from({ length: USERS }, async () => {
  while (Date.now() < endAt) {
    const [, kind, run] = pick();
    count(kind, (await run()).status);
  }
});

interface Sample {
  at: number;
  rssMb: number;
  lagP99Ms: number;
}
const samples: Sample[] = [];
const rssMb = () => {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${server.proc.pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : Number.NaN;
};
const lagMs = async () => {
  const text = (await call('GET', '/internal/metrics')).body;
  const m = /^nodejs_eventloop_lag_p99_seconds ([\d.e+-]+)$/m.exec(text);
  return m ? Number(m[1]) * 1000 : Number.NaN;
};
const sampler = (async () => {
  while (Date.now() < endAt) {
    await new Promise((r) => setTimeout(r, SAMPLE_MS));
    const s = { at: Date.now() - started, rssMb: rssMb(), lagP99Ms: await lagMs() };
    samples.push(s);
    process.stderr.write(
      `  t=${(s.at / 1000).toFixed(0)}s rss=${s.rssMb.toFixed(1)} MB lag_p99=${s.lagP99Ms.toFixed(1)} ms requests=${[...counts.values()].reduce((a, b) => a + b, 0)}\n`,
    );
  }
})();
await Promise.all([...users, sampler]);
const code = await server.kill('SIGTERM');
await t.cleanup();

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const after = samples.filter((s) => s.at >= WARMUP_MS);
const warm = median(after.slice(0, 3).map((s) => s.rssMb));
const end = median(samples.slice(-3).map((s) => s.rssMb));
const growth = (end - warm) / warm;
const lags = after.map((s) => s.lagP99Ms).filter(Number.isFinite);
const total = [...counts.values()].reduce((a, b) => a + b, 0);
const lines = [
  `soak: ${SECONDS} s on ${DB}, ${USERS} clients, warm-up ${(WARMUP_MS / 1000).toFixed(0)} s`,
  `requests: ${total} (${(total / SECONDS).toFixed(1)}/s): ${[...counts].map(([k, n]) => `${k} ${n}`).join(', ')}`,
  `5xx or unanswered: ${bad.length}${bad.length ? ` (${bad.slice(0, 5).join('; ')})` : ''}`,
  `RSS: start ${samples[0]?.rssMb.toFixed(1)} MB, after warm-up ${warm.toFixed(1)} MB, end ${end.toFixed(1)} MB, growth ${(growth * 100).toFixed(1)} % (limit ${MAX_GROWTH * 100} %)`,
  `event-loop lag p99 after warm-up: median ${median(lags)?.toFixed(1)} ms, max ${Math.max(...lags).toFixed(1)} ms`,
  `SIGTERM exit code: ${code}`,
];
process.stdout.write(`${lines.join('\n')}\n`);
const ok = after.length >= 4 && growth < MAX_GROWTH && bad.length === 0 && code === 0;
process.stdout.write(ok ? 'soak: PASS\n' : 'soak: FAIL\n');
process.exit(ok ? 0 : 1);

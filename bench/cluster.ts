/**
 * `npm run bench -- cluster`: embedded mode on Postgres (one `airmy serve`, no Redis) and a cluster
 * (2 API nodes `serve --no-worker` + 1, then 2 `airmy worker`s, one Postgres, the machine's Redis),
 * measured in the same run on the same machine, through test/support/cluster.ts (real processes,
 * fresh databases, dropped at the end). A mock model (0 ms), so what is measured is AIRMY.
 *
 * - background runs: BENCH_CLUSTER_RUNS (1000) `background: true` POSTs as fast as 32 connections
 *   spread over the API nodes send them; accepted/s over the accepting, completed/s from the first
 *   accept to the last completion (runs.completed_at), queue wait (accepted → its run.started event)
 *   p50/p99 — at saturation that is the backlog, so:
 * - sustained: the same at a fixed offered rate (70 % of that setup's completed/s) for
 *   BENCH_CLUSTER_WINDOW seconds (10; 60 for the check), sampling the backlog (runs accepted
 *   and not ended) every second: it keeps up when the backlog does not grow (its slope ≈ 0/s), and
 *   queue wait below saturation is measured there;
 * - SSE first event across nodes: submit on A, stream `GET /v2/runs/{id}/events` on B, time from the
 *   POST to the first event and to the terminal one (embedded: the one node);
 * - sync `POST /v2/runs` on both API nodes at once against embedded Postgres, as a ratio (and one
 *   connection alone: the fixed cost of a run's round trip through the queue and the bus);
 * - bytes written per run: database size, WAL (the whole Postgres instance: other load on the
 *   machine counts too), rows written (pg_stat_database), and the tables that grew most;
 * - the 2-worker cluster again with graphile-worker's batching (AIRMY_QUEUE_LOCAL_SIZE = concurrency
 *   + 1, AIRMY_QUEUE_COMPLETE_BATCH_MS = 250, as its performance page suggests starting).
 *
 * Not a test: no thresholds; the targets are printed next to the figures.
 */
import https from 'node:https';
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import autocannon from 'autocannon';
import type { ChildServer } from '../test/support/child-server.ts';
import { type Cluster, clusterServices, startCluster, until } from '../test/support/cluster.ts';

const RUNS = Number(process.env.BENCH_CLUSTER_RUNS ?? 1000);
const WINDOW_S = Number(process.env.BENCH_CLUSTER_WINDOW ?? 10);
const SYNC_S = Number(process.env.BENCH_CLUSTER_SYNC_SECONDS ?? 5);
const BYTES_RUNS = 500;
const CONNECTIONS = 32;
const CONCURRENCY = 32;
const SSE_SAMPLES = 20;
const TERMINAL = `('completed','failed','cancelled','timed_out','expired')`;

interface Setup {
  name: string;
  c: Cluster;
  apis: ChildServer[];
  key: string;
  agentId: string;
}

const quantile = (xs: number[], q: number) => {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
};
const f0 = (n: number) => (Number.isFinite(n) ? n.toFixed(0) : '–');
const f1 = (n: number) => (Number.isFinite(n) ? n.toFixed(1) : '–');

async function prepare(name: string, c: Cluster, apis: ChildServer[]): Promise<Setup> {
  // limits far above what one machine can send: the limiter is measured by `bench -- limiter`
  const org = await c.airmy(
    ...[
      'orgs',
      'create',
      '--name',
      'bench',
      '--plan',
      'enterprise',
      '--rpm',
      '100000000',
      '--burst',
      '100000000',
    ],
  );
  const key = await c.airmy('keys', 'create', '--org', org);
  const res = await apis[0].request('POST', '/v2/agents', {
    key,
    body: { name: 'bench', model: 'mock/bench' },
  });
  if (res.status !== 201) throw new Error(`agent: ${res.status} ${res.body}`);
  return { name, c, apis, key, agentId: res.json().id };
}

/** autocannon on every API node at once, `connections` spread over them */
async function load(
  s: Setup,
  body: object,
  opts: { amount?: number; seconds?: number; rate?: number; connections?: number },
) {
  const n = s.apis.length;
  const connections = Math.max(1, Math.floor((opts.connections ?? CONNECTIONS) / n));
  const t0 = performance.now();
  const results = await Promise.all(
    s.apis.map((api) =>
      autocannon({
        url: `https://127.0.0.1:${api.port}/v2/runs`,
        method: 'POST',
        headers: { authorization: `Bearer ${s.key}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
        connections,
        ...(opts.amount !== undefined && { amount: Math.ceil(opts.amount / n) }),
        ...(opts.seconds !== undefined && { duration: opts.seconds }),
        ...(opts.rate !== undefined && { overallRate: Math.max(1, Math.round(opts.rate / n)) }),
      }),
    ),
  );
  const ms = performance.now() - t0;
  return {
    ok: results.reduce((a, r) => a + r['2xx'], 0),
    bad: results.reduce((a, r) => a + r.non2xx + r.errors + r.timeouts, 0),
    ms,
    p50: Math.max(...results.map((r) => r.latency.p50)),
    p99: Math.max(...results.map((r) => r.latency.p99)),
  };
}

const num = async (s: Setup, text: string, params: unknown[] = []) =>
  Number(Object.values((await s.c.query(text, params))[0] ?? { n: 0 })[0] ?? 0);

/** runs created since `since`: how many, how many ended, the last completion */
async function progress(s: Setup, since: number) {
  const [r] = await s.c.query<{ n: string; done: string; last: string | null }>(
    `SELECT count(*) AS n, count(*) FILTER (WHERE status IN ${TERMINAL}) AS done, max(completed_at) AS last
     FROM runs WHERE created_at >= $1`,
    [since],
  );
  return { n: Number(r.n), done: Number(r.done), last: r.last === null ? null : Number(r.last) };
}

/** accepted → started (the run.started event), for runs created in [from, to) */
async function queueWait(s: Setup, from: number, to = Number.MAX_SAFE_INTEGER) {
  const rows = await s.c.query<{ w: string }>(
    `SELECT e.created_at - r.created_at AS w FROM runs r
     JOIN run_events e ON e.run_id = r.id AND e.type = 'run.started'
     WHERE r.created_at >= $1 AND r.created_at < $2`,
    [from, to],
  );
  const ws = rows.map((r) => Number(r.w));
  return { p50: quantile(ws, 0.5), p99: quantile(ws, 0.99) };
}

async function drained(s: Setup, since: number, expected: number) {
  return until(
    async () => {
      const p = await progress(s, since);
      return p.done >= expected ? p : undefined;
    },
    300_000,
    () => `${s.name}: ${expected} runs never ended`,
  );
}

/** RUNS background runs as fast as they are accepted; completed/s over first accept → last end */
async function saturate(s: Setup) {
  const since = Date.now();
  const l = await load(s, { agent_id: s.agentId, input: { q: 'bench' }, background: true }, { amount: RUNS });
  const p = await drained(s, since, l.ok);
  const wait = await queueWait(s, since);
  return {
    accepted: l.ok,
    bad: l.bad,
    acceptedPerS: (l.ok / l.ms) * 1000,
    completedPerS: (p.done / Math.max(1, (p.last ?? Date.now()) - since)) * 1000,
    wait,
  };
}

/** a fixed offered rate for WINDOW_S: does completion keep up (no backlog growth)? */
async function sustain(s: Setup, rate: number) {
  const since = Date.now();
  const backlog: { t: number; n: number }[] = [];
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      const p = await progress(s, since);
      backlog.push({ t: (Date.now() - since) / 1000, n: p.n - p.done });
      await new Promise((r) => setTimeout(r, 1_000));
    }
  })();
  const l = await load(
    s,
    { agent_id: s.agentId, input: { q: 'bench' }, background: true },
    { seconds: WINDOW_S, rate, connections: 16 },
  );
  const end = Date.now();
  sampling = false;
  await sampler;
  const ended = await num(
    s,
    `SELECT count(*) FROM runs WHERE created_at >= $1 AND completed_at IS NOT NULL AND completed_at < $2`,
    [since, end],
  );
  await drained(s, since, l.ok);
  // least-squares slope of the backlog over the window's second half (the first is the ramp)
  const half = backlog.filter((b) => b.t >= WINDOW_S / 2);
  const mt = half.reduce((a, b) => a + b.t, 0) / Math.max(1, half.length);
  const mn = half.reduce((a, b) => a + b.n, 0) / Math.max(1, half.length);
  const slope =
    half.reduce((a, b) => a + (b.t - mt) * (b.n - mn), 0) /
    Math.max(
      1e-9,
      half.reduce((a, b) => a + (b.t - mt) ** 2, 0),
    );
  return {
    rate,
    acceptedPerS: (l.ok / (end - since)) * 1000,
    completedPerS: (ended / (end - since)) * 1000,
    backlogMax: Math.max(0, ...backlog.map((b) => b.n)),
    backlogEnd: backlog.at(-1)?.n ?? 0,
    slope,
    wait: await queueWait(s, since, end),
    bad: l.bad,
  };
}

/** POST on `submit`, GET /v2/runs/{id}/events on `stream`: ms to the first event and to the last */
async function sseLatency(s: Setup, submit: ChildServer, stream: ChildServer) {
  const first: number[] = [];
  const last: number[] = [];
  for (let i = 0; i < SSE_SAMPLES; i++) {
    const t0 = performance.now();
    const res = await submit.request('POST', '/v2/runs', {
      key: s.key,
      body: { agent_id: s.agentId, input: { q: `sse ${i}` }, background: true },
    });
    const id = res.json().id as string;
    await new Promise<void>((resolve, reject) => {
      const req = https.request(
        {
          host: '127.0.0.1',
          port: stream.port,
          path: `/v2/runs/${id}/events`,
          ca: stream.ca,
          headers: { authorization: `Bearer ${s.key}`, accept: 'text/event-stream' },
        },
        (r) => {
          let text = '';
          r.on('data', (d: Buffer) => {
            if (first.length === i && d.includes('data:')) first.push(performance.now() - t0);
            text += d;
            if (/event: run\.(completed|failed|cancelled|timed_out|expired)/.test(text)) {
              last.push(performance.now() - t0);
              r.destroy();
              resolve();
            }
          });
          r.on('end', () => resolve());
          r.on('error', () => resolve());
        },
      );
      req.on('error', reject);
      req.end();
    });
  }
  return { firstP50: quantile(first, 0.5), firstP99: quantile(first, 0.99), lastP50: quantile(last, 0.5) };
}

async function sync(s: Setup) {
  await load(s, { agent_id: s.agentId, input: { q: 'warm' } }, { seconds: 1 });
  const l = await load(s, { agent_id: s.agentId, input: { q: 'sync' } }, { seconds: SYNC_S });
  // one connection on one node: no queueing, only the path's own latency
  const one = await load(
    { ...s, apis: s.apis.slice(0, 1) },
    { agent_id: s.agentId, input: { q: 'one' } },
    { seconds: 2, connections: 1 },
  );
  return { perS: (l.ok / l.ms) * 1000, p50: l.p50, p99: l.p99, bad: l.bad, oneP50: one.p50 };
}

/** what the database holds and has written, for bytes per run */
async function footprint(s: Setup) {
  const [db] = await s.c.query<Record<string, string>>(
    `SELECT pg_database_size(current_database()) AS size, pg_current_wal_lsn()::text AS lsn,
       tup_inserted + tup_updated + tup_deleted AS rows
     FROM pg_stat_database WHERE datname = current_database()`,
  );
  const tables = await s.c.query<{ name: string; bytes: string }>(
    `SELECT n.nspname || '.' || c.relname AS name, pg_total_relation_size(c.oid) AS bytes
     FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')`,
  );
  return {
    size: Number(db.size),
    lsn: db.lsn,
    rows: Number(db.rows),
    tables: new Map(tables.map((t) => [t.name, Number(t.bytes)])),
  };
}

async function bytesPerRun(s: Setup, runs: number) {
  const before = await footprint(s);
  const since = Date.now();
  const l = await load(s, { agent_id: s.agentId, input: { q: 'bytes' }, background: true }, { amount: runs });
  await drained(s, since, l.ok);
  // pg_stat counters reach the shared view within a second of each transaction
  await new Promise((r) => setTimeout(r, 1_500));
  const after = await footprint(s);
  const [wal] = await s.c.query<{ b: string }>(`SELECT pg_wal_lsn_diff($1, $2) AS b`, [
    after.lsn,
    before.lsn,
  ]);
  const grew = [...after.tables]
    .map(([name, b]) => ({ name, per: (b - (before.tables.get(name) ?? 0)) / l.ok }))
    .filter((t) => t.per > 0)
    .sort((a, b) => b.per - a.per)
    .slice(0, 5);
  return {
    runs: l.ok,
    dbPerRun: (after.size - before.size) / l.ok,
    walPerRun: Number(wal.b) / l.ok,
    rowsPerRun: (after.rows - before.rows) / l.ok,
    grew,
  };
}

function table(header: string[], rows: string[][]) {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => `| ${r.map((c, i) => (c ?? '').padEnd(widths[i])).join(' | ')} |`;
  return `${line(header)}\n| ${widths.map((w) => '-'.repeat(w)).join(' | ')} |\n${rows.map(line).join('\n')}\n`;
}

export async function clusterBench(): Promise<string> {
  const missing = await clusterServices();
  if (missing) return `\ncluster: skipped (${missing})\n`;
  const started = performance.now();
  const load0 = loadavg()[0].toFixed(1);
  const env = { AIRMY_WORKER_CONCURRENCY: String(CONCURRENCY) };
  const out: string[] = [];
  const bg: string[][] = [];
  const sus: string[][] = [];
  const say = (line: string) =>
    process.stderr.write(`# ${((performance.now() - started) / 1000).toFixed(0)} s: ${line}\n`);

  // embedded mode on Postgres: one `airmy serve` (API + in-process worker), no Redis
  const emb = await startCluster({ apis: 1, workers: 0, apiWorkers: true, redisUrl: null, env });
  let embSync!: Awaited<ReturnType<typeof sync>>;
  let embSse!: Awaited<ReturnType<typeof sseLatency>>;
  let embBytes!: Awaited<ReturnType<typeof bytesPerRun>>;
  try {
    const s = await prepare('embedded Postgres', emb, emb.apis);
    say('embedded Postgres: background');
    const sat = await saturate(s);
    bg.push(row('embedded Postgres (1 process)', sat));
    say('embedded Postgres: sustained');
    sus.push(susRow('embedded Postgres', await sustain(s, Math.round(sat.completedPerS * 0.7))));
    embSse = await sseLatency(s, emb.apis[0], emb.apis[0]);
    say('embedded Postgres: sync');
    embSync = await sync(s);
    embBytes = await bytesPerRun(s, BYTES_RUNS);
  } finally {
    await emb.close();
  }

  const cl = await startCluster({ apis: 2, workers: 1, env });
  try {
    const s = await prepare('cluster', cl, cl.apis);
    say('cluster, 1 worker: background');
    bg.push(row('cluster: 2 API + 1 worker', await saturate(s)));
    await cl.addWorker();
    say('cluster, 2 workers: background');
    const sat2 = await saturate(s);
    bg.push(row('cluster: 2 API + 2 workers', sat2));
    say('cluster, 2 workers: sustained');
    const rate = Math.round(sat2.completedPerS * 0.7);
    sus.push(susRow('cluster, 2 workers', await sustain(s, rate)));
    const sse = await sseLatency(s, cl.apis[0], cl.apis[1]);
    say('cluster: sync');
    const clSync = await sync(s);
    const bytes = await bytesPerRun(s, BYTES_RUNS);

    // graphile-worker's batching: the same two workers, restarted with it on
    say('cluster, 2 workers with localQueue + batched completion');
    await Promise.all(cl.workers.splice(0).map((w) => cl.kill(w, 'SIGTERM')));
    const batching = {
      AIRMY_QUEUE_LOCAL_SIZE: String(CONCURRENCY + 1),
      AIRMY_QUEUE_COMPLETE_BATCH_MS: '250',
    };
    await Promise.all([cl.addWorker(batching), cl.addWorker(batching)]);
    bg.push(row('cluster: 2 + 2, localQueue 33 + complete batch 250 ms', await saturate(s)));
    sus.push(susRow('cluster, 2 workers, batching', await sustain(s, rate)));
    say('cluster, batching: sync');
    const batchSync = await sync(s);

    out.push(
      `\nbackground runs: ${RUNS} POSTs, ${CONNECTIONS} connections over the API nodes, mock model, worker concurrency ${CONCURRENCY}\n`,
      table(['setup', 'accepted/s', 'completed/s', 'queue wait p50 ms', 'p99 ms', 'notes'], bg),
      `\nsustained: 70 % of each setup's completed/s, ${WINDOW_S} s; backlog = runs accepted and not ended, sampled every second (slope over the second half)\n`,
      table(
        [
          'setup',
          'offered/s',
          'accepted/s',
          'completed/s',
          'backlog max',
          'at end',
          'slope /s',
          'wait p50 ms',
          'p99 ms',
        ],
        sus,
      ),
      `\nSSE, ${SSE_SAMPLES} background runs: POST → first event / terminal event on the stream\n`,
      table(
        ['setup', 'first event p50 ms', 'p99 ms', 'terminal p50 ms'],
        [
          ['embedded Postgres (same node)', f1(embSse.firstP50), f1(embSse.firstP99), f1(embSse.lastP50)],
          ['cluster: submit on A, stream on B', f1(sse.firstP50), f1(sse.firstP99), f1(sse.lastP50)],
        ],
      ),
      `\nsync POST /v2/runs, ${CONNECTIONS} connections, ${SYNC_S} s (target: cluster ≥ 0.5× embedded Postgres)\n`,
      table(
        ['setup', 'req/s', 'p50 ms', 'p99 ms', 'ratio', 'non-2xx', '1 connection p50 ms'],
        (
          [
            ['embedded Postgres (1 process)', embSync],
            ['cluster: 2 API nodes + 2 workers', clSync],
            ['the same, workers with batching', batchSync],
          ] as const
        ).map(([name, x]) => [
          name,
          f0(x.perS),
          f0(x.p50),
          f0(x.p99),
          (x.perS / embSync.perS).toFixed(2),
          `${x.bad}`,
          f0(x.oneP50),
        ]),
      ),
      `\nbytes written per background run (${bytes.runs} runs; WAL is the whole instance's)\n`,
      table(
        ['setup', 'database growth B', 'WAL B', 'rows written', 'tables that grew most (B/run)'],
        [embBytes, bytes].map((b, i) => [
          i === 0 ? 'embedded Postgres' : 'cluster',
          f0(b.dbPerRun),
          f0(b.walPerRun),
          f1(b.rowsPerRun),
          b.grew.map((t) => `${t.name.replace(/^public\./, '')} ${f0(t.per)}`).join(', '),
        ]),
      ),
      `\ncluster bench: ${((performance.now() - started) / 1000).toFixed(0)} s; load average at the start ${load0}, at the end ${loadavg()[0].toFixed(1)} (2 cores: above 2, other work competed)\n`,
    );
  } finally {
    await cl.close();
  }
  return out.join('');
}

function row(name: string, r: Awaited<ReturnType<typeof saturate>>) {
  return [
    name,
    f0(r.acceptedPerS),
    f0(r.completedPerS),
    f0(r.wait.p50),
    f0(r.wait.p99),
    r.bad ? `${r.bad} non-2xx` : '',
  ];
}

function susRow(name: string, r: Awaited<ReturnType<typeof sustain>>) {
  return [
    name,
    `${r.rate}`,
    f0(r.acceptedPerS),
    f0(r.completedPerS),
    `${r.backlogMax}`,
    `${r.backlogEnd}`,
    f1(r.slope),
    f0(r.wait.p50),
    f0(r.wait.p99),
  ];
}

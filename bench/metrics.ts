/**
 * The metrics benchmark (issue 6): 1,000,000 finished runs of 50 agents over 30 days are written
 * straight into a fresh SQLite database, a day per transaction — the runs, and their rollups as the
 * live writer computes them (rollup.ts `runDelta` folded by `RollupBatch`, histograms by `histJson`).
 * Rows are inserted with plain prepared statements rather than the writer's UPSERT: a day's batch
 * already holds each (series, resolution, bucket) once and days do not share buckets, so the result
 * is the same and seeding takes seconds. Then typical GET /v2/metrics queries are timed through the real Fastify app (inject: the
 * whole request path — auth, rate limit, validation, handler, SQL, serialisation — without TLS or
 * a socket), against GET /v2/organization measured the same way in the same run as the baseline.
 *
 *   npm run bench -- metrics           this benchmark alone
 *   BENCH_RUNS=200000 npm run bench -- metrics
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { parseConfig } from '../src/config.ts';
import { buildApp } from '../src/http/app.ts';
import { createIdFactory } from '../src/ids.ts';
import type { RunRow } from '../src/infra/db/schema.ts';
import { histJson, RollupBatch, runDelta } from '../src/metrics/rollup.ts';
import { buildResources } from '../src/resources.ts';

const RUNS = Number(process.env.BENCH_RUNS ?? 1_000_000);
const AGENTS = 50;
const DAYS = 30;
const ITERATIONS = Number(process.env.BENCH_ITERATIONS ?? 40);
const DAY = 86_400_000;

/** deterministic pseudo-random numbers (mulberry32), so two bench runs seed the same data */
function rng(seed: number) {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const quantile = (sorted: number[], p: number) =>
  sorted[Math.max(0, Math.ceil((p * sorted.length) / 100) - 1)];

export async function metricsBench(): Promise<string> {
  const dir = process.env.BENCH_KEEP || mkdtempSync(path.join(tmpdir(), 'airmy-bench-metrics-'));
  const out: string[] = [];
  try {
    const config = parseConfig({ AIRMY_DATA_DIR: dir, AIRMY_DEMO: '0', AIRMY_LOG_LEVEL: 'warn' });
    const resources = await buildResources(config);
    const org = await resources.services.organizations.create({ name: 'bench', plan: 'enterprise' });
    const keys = [
      await resources.services.apiKeys.create(org.id, { name: 'main' }),
      await resources.services.apiKeys.create(org.id, { name: 'batch' }),
      await resources.services.apiKeys.create(org.id, { name: 'ci' }),
    ];
    const agents = Array.from({ length: AGENTS }, (_, i) => ({
      id: `ag_bench${String(i).padStart(18, '0')}`,
      model: ['openai/gpt-4.1-mini', 'anthropic/claude-sonnet-4', 'mock/fast', 'openai/gpt-4.1'][i % 4],
      deployment: i % 5 === 4 ? null : `dep_bench${String(i).padStart(17, '0')}`,
      // agents differ in speed: median latency from ~150 ms to ~2.5 s
      mu: Math.log(150 + i * 50),
    }));

    // whole UTC days, so no two days of seeding share a bucket
    const end = Date.now() - (Date.now() % DAY);
    const start = end - DAYS * DAY;
    const random = rng(42);
    const gauss = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
    const file = config.databaseUrl.slice('sqlite:'.length);
    const raw = new DatabaseSync(file);
    raw.exec('PRAGMA journal_mode = WAL');
    raw.exec('PRAGMA synchronous = OFF');
    const insert = raw.prepare(
      `INSERT INTO runs (id, org_id, agent_id, deployment_id, api_key_id, status, model, config, input, output, error,
        metadata, latency_ms, input_tokens, output_tokens, timeout_ms, queue_timeout_ms, pipeline_run_id, step_id,
        attempt, created_at, started_at, completed_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    const insertSeries = raw.prepare(
      `INSERT INTO metric_series (id, org_id, kind, proj, agent_id, deployment_id, pipeline_id, api_key_id, model, status)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
    );
    const insertRollup = raw.prepare(
      `INSERT INTO metric_rollups (series_id, res, t, count, tokens, latency_count, latency_sum, latency_max, hist)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    const configJson = JSON.stringify({
      model: 'x',
      instructions: null,
      parameters: {},
      tools: [],
      stream: false,
    });
    const t0 = performance.now();
    let seeded = 0;
    let rollupMs = 0;
    for (let day = 0; day < DAYS; day++) {
      const n = Math.round((RUNS * (day + 1)) / DAYS) - seeded;
      const times = Array.from({ length: n }, () => start + day * DAY + Math.floor(random() * DAY)).sort(
        (a, b) => a - b,
      );
      let t = 0;
      const ids = createIdFactory(() => t);
      const batch = new RollupBatch();
      raw.exec('BEGIN');
      for (const completed of times) {
        t = completed;
        const agent = agents[Math.floor(random() * AGENTS)];
        const r = random();
        const status =
          r < 0.9
            ? 'completed'
            : r < 0.95
              ? 'failed'
              : r < 0.97
                ? 'timed_out'
                : r < 0.99
                  ? 'cancelled'
                  : 'expired';
        const latency =
          status === 'expired' ? null : Math.min(600_000, Math.round(Math.exp(agent.mu + 0.7 * gauss())));
        const inTok = status === 'expired' ? null : 20 + Math.floor(random() * 800);
        const outTok = status === 'completed' ? 10 + Math.floor(random() * 1500) : null;
        const row: RunRow = {
          id: ids('run'),
          org_id: org.id,
          agent_id: agent.id,
          deployment_id: agent.deployment,
          api_key_id: keys[random() < 0.7 ? 0 : random() < 0.8 ? 1 : 2].id,
          status,
          model: agent.model,
          config: configJson,
          input: '{"query":"bench"}',
          output: status === 'completed' ? '{"result":"ok"}' : null,
          error: status === 'failed' ? '{"code":"provider_error","message":"boom"}' : null,
          metadata: '{}',
          latency_ms: latency,
          input_tokens: inTok,
          output_tokens: outTok,
          timeout_ms: 600_000,
          queue_timeout_ms: null,
          pipeline_run_id: null,
          step_id: null,
          attempt: 1,
          created_at: completed - (latency ?? 0) - 5,
          started_at: latency === null ? null : completed - latency,
          completed_at: completed,
        };
        insert.run(
          row.id,
          row.org_id,
          row.agent_id,
          row.deployment_id,
          row.api_key_id,
          row.status,
          row.model,
          row.config,
          row.input,
          row.output,
          row.error,
          row.metadata,
          row.latency_ms,
          row.input_tokens,
          row.output_tokens,
          row.timeout_ms,
          row.queue_timeout_ms,
          row.pipeline_run_id,
          row.step_id,
          row.attempt,
          row.created_at,
          row.started_at,
          row.completed_at,
        );
        batch.add(runDelta(row));
      }
      const r0 = performance.now();
      for (const x of batch.series.values()) {
        insertSeries.run(
          x.id,
          x.org_id,
          x.kind,
          x.proj,
          x.agent_id,
          x.deployment_id,
          x.pipeline_id,
          x.api_key_id,
          x.model,
          x.status,
        );
      }
      for (const x of batch.rollups.values()) {
        insertRollup.run(
          x.series_id,
          x.res,
          x.t,
          x.count,
          x.tokens,
          x.latency_count,
          x.latency_sum,
          x.latency_max,
          histJson(x.buckets),
        );
      }
      raw.exec('COMMIT');
      seeded += n;
      rollupMs += performance.now() - r0;
    }
    raw.exec('PRAGMA wal_checkpoint(TRUNCATE)');
    raw.exec('ANALYZE');
    raw.close();
    const seedS = (performance.now() - t0) / 1000;
    const count = (table: string) =>
      Number(
        (
          new DatabaseSync(file, { readOnly: true }).prepare(`SELECT count(*) AS n FROM ${table}`).get() as {
            n: number;
          }
        ).n,
      );
    out.push(
      `\nmetrics: seeded ${seeded.toLocaleString('en-US')} runs (${AGENTS} agents, ${DAYS} days) in ${seedS.toFixed(1)} s ` +
        `(rollups ${(rollupMs / 1000).toFixed(1)} s): ${count('metric_series')} series, ` +
        `${count('metric_rollups').toLocaleString('en-US')} rollup rows (with their histograms), ` +
        `database ${(statSync(file).size / 2 ** 20).toFixed(0)} MiB`,
    );

    const app = await buildApp(resources, { logger: false });
    await app.ready();
    const auth = { authorization: `Bearer ${keys[0].secret}` };
    const iso = (t: number) => new Date(t).toISOString();
    const time = async (url: string) => {
      const ms: number[] = [];
      let bytes = 0;
      let cpu = { user: 0, system: 0 };
      for (let i = 0; i < ITERATIONS + 3; i++) {
        if (i === 3) cpu = process.cpuUsage();
        const s = performance.now();
        const res = await app.inject({ method: 'GET', url, headers: auth });
        const took = performance.now() - s;
        if (res.statusCode !== 200) throw new Error(`${url} → ${res.statusCode} ${res.body}`);
        bytes = res.body.length;
        if (i >= 3) ms.push(took);
      }
      ms.sort((a, b) => a - b);
      const used = process.cpuUsage(cpu);
      // CPU time per request: what the query costs, much less skewed by other load than wall time
      const cpuMs = (used.user + used.system) / 1000 / ITERATIONS;
      return { p50: quantile(ms, 50), p95: quantile(ms, 95), bytes, cpuMs };
    };
    const q = (params: Record<string, string>) => `/v2/metrics?${new URLSearchParams(params)}`;
    const week = { from: iso(end - 7 * DAY), to: iso(end) };
    const scenarios: [string, string][] = [
      [
        'runs count, 1h × 7 d, by agent',
        q({ metric: 'runs', interval: '1h', ...week, group_by: 'agent_id' }),
      ],
      [
        'latency p95, 1h × 7 d, by agent',
        q({ metric: 'run_latency_ms', stat: 'p95', interval: '1h', ...week, group_by: 'agent_id' }),
      ],
      ['errors, 1h × 7 d, by status', q({ metric: 'errors', interval: '1h', ...week, group_by: 'status' })],
      [
        'latency p99, 1d × 30 d, by model',
        q({
          metric: 'run_latency_ms',
          stat: 'p99',
          interval: '1d',
          from: iso(start),
          to: iso(end),
          group_by: 'model',
        }),
      ],
      [
        'tokens sum, 5m × 24 h, one agent',
        q({
          metric: 'tokens_used',
          interval: '5m',
          from: iso(end - DAY),
          to: iso(end),
          agent_id: agents[7].id,
        }),
      ],
      [
        'latency p50, 1m × 1 h (all runs)',
        q({
          metric: 'run_latency_ms',
          stat: 'p50',
          interval: '1m',
          from: iso(end - 3_600_000),
          to: iso(end),
        }),
      ],
      // the dashboard's runs list over the same million runs: first pages, each filter it offers
      ['runs list, first page', '/v2/runs?limit=20'],
      ['runs list, status=failed', '/v2/runs?limit=20&status=failed'],
      ['runs list, one agent', `/v2/runs?limit=20&agent_id=${agents[7].id}`],
      [
        'runs list, one agent, a day 3 weeks ago',
        `/v2/runs?${new URLSearchParams({ limit: '20', agent_id: agents[3].id, created_after: iso(end - 21 * DAY), created_before: iso(end - 20 * DAY) })}`,
      ],
    ];
    const baseline = await time('/v2/organization');
    const rows: string[][] = [
      [
        'GET /v2/organization (baseline)',
        baseline.p50.toFixed(2),
        baseline.p95.toFixed(2),
        '1.0',
        baseline.cpuMs.toFixed(2),
        '',
      ],
    ];
    for (const [name, url] of scenarios) {
      const r = await time(url);
      rows.push([
        name,
        r.p50.toFixed(2),
        r.p95.toFixed(2),
        (r.p95 / baseline.p95).toFixed(1),
        r.cpuMs.toFixed(2),
        `${(r.bytes / 1024).toFixed(0)} KiB`,
      ]);
    }
    const header = [
      'query (SQLite, in-process inject)',
      'p50 ms',
      'p95 ms',
      'p95 / baseline',
      'cpu ms/req',
      'answer',
    ];
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
    const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
    out.push(
      `${ITERATIONS} timed requests each, after 3 warm-up; load average ${loadavg()[0].toFixed(1)} on ${cpus().length} cores\n${line(header)}\n| ${widths.map((w) => '-'.repeat(w)).join(' | ')} |\n${rows.map(line).join('\n')}`,
    );
    await app.close();
    await resources.close();
  } finally {
    if (!process.env.BENCH_KEEP) rmSync(dir, { recursive: true, force: true });
  }
  return `${out.join('\n')}\n`;
}

if (import.meta.main) process.stdout.write(await metricsBench());

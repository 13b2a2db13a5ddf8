/**
 * GET /v2/metrics against a brute force: runs of several agents, keys, statuses and latencies are
 * made through the API at times spread over a day (the clock is moved between batches), then every
 * metric × stat × interval × grouping (and the filters) is recomputed from GET /v2/runs and compared
 * exactly — percentiles included, by the documented nearest-rank method over the bucket scheme.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Clock } from '../../src/clock.ts';
import { RollupBatch, runDelta } from '../../src/metrics/rollup.ts';
import { createBatchWriter } from '../../src/metrics/store.ts';
import { bearer, createTestApp, forEachDb, type TestApp } from '../support/harness.ts';

/** Real time shifted: latencies are real (mock_latency_ms), placement in time is the test's. */
class ShiftedClock implements Clock {
  offset: number;
  constructor(start: number) {
    this.offset = start - Date.now();
  }
  now() {
    return Date.now() + this.offset;
  }
  jump(ms: number) {
    this.offset += ms;
  }
}

const MIN = 60_000;
const STEP: Record<string, number> = { '1m': MIN, '5m': 5 * MIN, '1h': 60 * MIN, '1d': 1440 * MIN };
const ERRORS = ['failed', 'timed_out', 'expired'];

/** The documented bucket scheme, restated: exact below 32 ms, else 32 sub-buckets per power of two. */
function bucketUpper(v: number): number {
  if (v < 32) return v;
  const width = 2 ** (Math.floor(Math.log2(v)) - 5);
  return Math.floor(v / width) * width + width - 1;
}
/** Nearest rank: the ceil(p·n/100)-th smallest sample, reported as its bucket's upper bound capped at the max. */
function nearestRank(values: number[], p: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const k = Math.max(1, Math.ceil((p * sorted.length) / 100));
  return Math.min(bucketUpper(sorted[k - 1]), sorted[sorted.length - 1]);
}

interface Obs {
  t: number;
  status: string;
  agent_id: string;
  deployment_id: string | null;
  model: string;
  api_key_id: string;
  pipeline_id: string | null;
  latency: number | null;
  tokens: number;
}

function brute(obs: Obs[], q: Record<string, string>) {
  const step = STEP[q.interval];
  const from = Math.floor(Date.parse(q.from) / step) * step;
  const to = Math.ceil(Date.parse(q.to) / step) * step;
  let rows = obs.filter((o) => o.t >= from && o.t < to);
  if (q.metric === 'errors') rows = rows.filter((o) => ERRORS.includes(o.status));
  for (const f of ['agent_id', 'deployment_id', 'pipeline_id', 'status', 'api_key_id'] as const) {
    if (q[f] !== undefined) rows = rows.filter((o) => o[f] === q[f]);
  }
  const g = q.group_by as keyof Obs | undefined;
  const groups = g ? [...new Set(rows.map((o) => (o[g] === null ? '' : String(o[g]))))].sort() : [''];
  const series = groups.map((key) => {
    const mine = g ? rows.filter((o) => (o[g] === null ? '' : String(o[g])) === key) : rows;
    const points = [];
    for (let t = from; t < to; t += step) {
      const inb = mine.filter((o) => o.t >= t && o.t < t + step);
      const lat = inb.filter((o) => o.latency !== null).map((o) => o.latency!);
      const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
      let value: number | null;
      const latency = q.metric === 'run_latency_ms';
      switch (q.stat) {
        case 'count':
          value = latency ? lat.length : inb.length;
          break;
        case 'sum':
          value = latency ? sum(lat) : sum(inb.map((o) => o.tokens));
          break;
        case 'avg':
          if (latency) value = lat.length ? sum(lat) / lat.length : null;
          else value = inb.length ? sum(inb.map((o) => o.tokens)) / inb.length : null;
          break;
        case 'max':
          value = lat.length ? Math.max(...lat) : null;
          break;
        default:
          value = nearestRank(lat, Number(q.stat.slice(1)));
      }
      points.push({ t: new Date(t).toISOString(), value });
    }
    return { group: g ? { [g]: key === '' ? null : key } : {}, points };
  });
  return {
    object: 'metric',
    metric: q.metric,
    stat: q.stat,
    interval: q.interval,
    from: new Date(from).toISOString(),
    to: new Date(to).toISOString(),
    series,
  };
}

forEachDb('metrics: rollups agree exactly with a brute force over the runs', (target) => {
  let t: TestApp;
  const clock = new ShiftedClock(Date.parse('2026-11-28T23:20:00Z'));
  let org: { orgId: string; key: string; keyId: string };
  let key2: { secret: string; id: string };
  const runs: Obs[] = [];
  const pipelineRuns: Obs[] = [];
  let range: { from: string; to: string };
  const agents: Record<string, string> = {};
  let pipelineId: string;

  const call = (method: string, url: string, payload?: object, secret = org.key) =>
    t.app.inject({ method: method as 'GET', url, headers: bearer(secret), ...(payload && { payload }) });
  const metrics = (q: Record<string, string>, secret = org.key) =>
    call('GET', `/v2/metrics?${new URLSearchParams(q)}`, undefined, secret);

  before(async () => {
    t = await createTestApp(target, { clock, env: { AIRMY_WORKER_CONCURRENCY: '8' } });
    org = await t.newOrg('business');
    const k = await t.resources.services.apiKeys.create(org.orgId, { name: 'second' });
    key2 = { secret: k.secret, id: k.id };
    const make = async (name: string, parameters: object) => {
      const res = await call('POST', '/v2/agents', { name, model: `mock/${name}`, parameters });
      assert.equal(res.statusCode, 201, res.body);
      return res.json().id as string;
    };
    agents.fast = await make('fast', {});
    agents.slow = await make('slow', { mock_latency_ms: 45 });
    agents.broken = await make('broken', {
      mock_latency_ms: 5,
      mock_error: { code: 'provider_error', message: 'boom' },
    });
    agents.sleepy = await make('sleepy', { mock_latency_ms: 2000 });
    // runs of `fast` are served by its deployment (deployment_id set)
    const dep = await call('POST', '/v2/deployments', { agent_id: agents.fast });
    assert.equal(dep.statusCode, 202, dep.body);
    for (let i = 0; ; i++) {
      const d = (await call('GET', `/v2/deployments/${dep.json().id}`)).json();
      if (d.status === 'active') break;
      assert.ok(i < 500 && d.status !== 'failed', JSON.stringify(d));
      await new Promise((r) => setTimeout(r, 10));
    }
    const p = await call('POST', '/v2/pipelines', {
      name: 'pl',
      steps: [{ id: 'a', agent_id: agents.fast, input: { query: 'hello' } }],
    });
    assert.equal(p.statusCode, 201, p.body);
    pipelineId = p.json().id;

    const who = new Map<string, string>();
    const submit = async (agent: string, secret: string, keyId: string, extra: object = {}) => {
      const res = await call(
        'POST',
        '/v2/runs',
        { agent_id: agent, input: { query: `q ${Math.random()}` }, ...extra },
        secret,
      );
      assert.ok(res.statusCode === 200, res.body);
      who.set(res.json().id, keyId);
    };
    const start = clock.now();
    // batches across minutes, 5-minute buckets, hours and the UTC day boundary
    for (const jump of [0, 3 * MIN, 7 * MIN, 41 * MIN, 2 * 60 * MIN, 23 * 60 * MIN]) {
      clock.jump(jump);
      await Promise.all([
        submit(agents.fast, org.key, org.keyId),
        submit(agents.fast, key2.secret, key2.id),
        submit(agents.slow, org.key, org.keyId),
        submit(agents.slow, key2.secret, key2.id, { input: { query: 'a much longer question '.repeat(5) } }),
        submit(agents.broken, org.key, org.keyId),
        submit(agents.sleepy, key2.secret, key2.id, { timeout_ms: 100 }),
      ]);
      const trig = await call('POST', `/v2/pipelines/${pipelineId}/trigger`, { input: {} });
      assert.equal(trig.statusCode, 202, trig.body);
      for (let i = 0; ; i++) {
        const r = (await call('GET', `/v2/pipelines/${pipelineId}/runs/${trig.json().id}`)).json();
        if (['completed', 'failed', 'cancelled', 'timed_out'].includes(r.status)) {
          pipelineRuns.push({
            t: Date.parse(r.completed_at),
            status: r.status,
            agent_id: '',
            deployment_id: null,
            model: '',
            api_key_id: org.keyId,
            pipeline_id: pipelineId,
            latency: null,
            tokens: 0,
          });
          break;
        }
        assert.ok(i < 1000, 'pipeline run did not finish');
        await new Promise((res) => setTimeout(res, 10));
      }
    }
    // every run ever made, as the API reports it
    let after: string | undefined;
    for (;;) {
      const page = (await call('GET', `/v2/runs?limit=100${after ? `&starting_after=${after}` : ''}`)).json();
      for (const r of page.data) {
        assert.ok(r.completed_at, `run ${r.id} not finished: ${r.status}`);
        runs.push({
          t: Date.parse(r.completed_at),
          status: r.status,
          agent_id: r.agent_id,
          deployment_id: r.deployment_id,
          model: r.model,
          api_key_id: who.get(r.id) ?? org.keyId, // pipeline step runs: the triggering key
          pipeline_id: r.pipeline_run_id ? r.metadata.pipeline_id : null,
          latency: r.latency_ms,
          tokens: r.tokens_used,
        });
      }
      if (!page.has_more) break;
      after = page.data[page.data.length - 1].id;
    }
    range = {
      from: new Date(start - 2 * MIN).toISOString(),
      to: new Date(clock.now() + MIN).toISOString(),
    };
  });
  after(() => t.close());

  test('the data covers what the comparisons need', () => {
    const statuses = new Set(runs.map((r) => r.status));
    for (const s of ['completed', 'failed', 'timed_out']) assert.ok(statuses.has(s), s);
    // 36 direct runs, plus the pipeline's step runs
    assert.ok(runs.length >= 6 * 6, String(runs.length));
    assert.ok(runs.some((r) => r.deployment_id !== null) && runs.some((r) => r.deployment_id === null));
    assert.ok(new Set(runs.map((r) => r.latency)).size > 5, 'latencies vary');
    assert.ok(
      runs.some((r) => r.latency !== null && r.latency >= 32),
      'some latencies are bucketed',
    );
  });

  test('every run metric, stat, interval and grouping equals the brute force', async () => {
    const combos: [string, string[]][] = [
      ['runs', ['count']],
      ['errors', ['count']],
      ['tokens_used', ['sum', 'avg']],
      ['run_latency_ms', ['count', 'sum', 'avg', 'max', 'p50', 'p95', 'p99']],
    ];
    let compared = 0;
    for (const [metric, stats] of combos) {
      for (const stat of stats) {
        for (const interval of ['1m', '5m', '1h', '1d']) {
          for (const group_by of [undefined, 'agent_id', 'status', 'model', 'deployment_id']) {
            const q = { metric, stat, interval, ...range, ...(group_by && { group_by }) };
            const res = await metrics(q);
            assert.equal(res.statusCode, 200, res.body);
            assert.deepEqual(res.json(), brute(runs, q), JSON.stringify(q));
            compared++;
          }
        }
      }
    }
    assert.equal(compared, 11 * 4 * 5);
  });

  test('filters narrow exactly as the brute force does', async () => {
    const filters: Record<string, string>[] = [
      { agent_id: agents.slow },
      { api_key_id: key2.id },
      { status: 'failed' },
      { deployment_id: runs.find((r) => r.deployment_id)!.deployment_id! },
      { pipeline_id: pipelineId },
      { agent_id: agents.fast, api_key_id: org.keyId },
    ];
    for (const f of filters) {
      for (const [metric, stat] of [
        ['runs', 'count'],
        ['run_latency_ms', 'p95'],
        ['tokens_used', 'avg'],
      ]) {
        const q = { metric, stat, interval: '1h', ...range, group_by: 'agent_id', ...f };
        const res = await metrics(q);
        assert.equal(res.statusCode, 200, res.body);
        assert.deepEqual(res.json(), brute(runs, q), JSON.stringify(q));
      }
    }
    const q = { metric: 'errors', stat: 'count', interval: '1h', ...range, status: 'timed_out' };
    assert.deepEqual((await metrics(q)).json(), brute(runs, q));
  });

  test('one figure over a trailing window (what alert rules evaluate) agrees too', async () => {
    const svc = t.resources.services.metrics;
    const to = Date.parse(range.to) - 30_000;
    const from = to - 25 * 60 * MIN;
    const lo = Math.ceil(from / MIN) * MIN;
    const hi = Math.ceil(to / MIN) * MIN;
    const inWindow = runs.filter((r) => r.t >= lo && r.t < hi);
    assert.ok(inWindow.length > 0 && inWindow.length < runs.length);
    const value = (metric: string, stat: string, filters = {}) =>
      svc.value(org.orgId, { metric, stat, from, to, filters } as Parameters<typeof svc.value>[1]);
    assert.equal(await value('runs', 'count'), inWindow.length);
    assert.equal(await value('errors', 'count'), inWindow.filter((r) => ERRORS.includes(r.status)).length);
    const lat = inWindow.filter((r) => r.latency !== null).map((r) => r.latency!);
    assert.equal(await value('run_latency_ms', 'p95'), nearestRank(lat, 95));
    assert.equal(
      await value('runs', 'count', { agent_id: agents.slow }),
      inWindow.filter((r) => r.agent_id === agents.slow).length,
    );
  });

  test('batched writes (several histogram buckets per row) merge exactly like single ones', async () => {
    const other = await t.newOrg('business');
    const at = Date.parse('2026-06-01T10:00:00Z');
    const latencies = [3, 40, 41, 41, 300, 1200, 1300, 5, 7, 800, 801, 90_000, 41, 300];
    const run = (latency: number, i: number) =>
      runDelta({
        org_id: other.orgId,
        agent_id: 'ag_batch',
        deployment_id: null,
        api_key_id: other.keyId,
        status: 'completed',
        model: 'mock/x',
        metadata: '{}',
        pipeline_run_id: null,
        latency_ms: latency,
        input_tokens: 1,
        output_tokens: i,
        completed_at: at + i * 7 * MIN,
      } as unknown as Parameters<typeof runDelta>[0]);
    // three writes landing in the same hour and day rows: two batches, then a single run
    const parts = [latencies.slice(0, 6), latencies.slice(6, 13), latencies.slice(13)];
    let i = 0;
    const writeBatch = createBatchWriter(t.resources.db.kysely, t.resources.db.dialect);
    for (const part of parts) {
      const batch = new RollupBatch();
      for (const latency of part) batch.add(run(latency, i++));
      await t.resources.db.kysely.transaction().execute((trx) => writeBatch(trx, batch));
    }
    const svc = t.resources.services.metrics;
    for (const stat of ['p50', 'p95', 'p99', 'max', 'count', 'sum']) {
      const q = svc.parseQuery({
        metric: 'run_latency_ms',
        stat,
        interval: '1d',
        from: '2026-06-01T00:00:00Z',
        to: '2026-06-02T00:00:00Z',
      });
      const sorted = [...latencies].sort((x, y) => x - y);
      const expected =
        stat === 'max'
          ? sorted[sorted.length - 1]
          : stat === 'count'
            ? sorted.length
            : stat === 'sum'
              ? sorted.reduce((x, y) => x + y, 0)
              : nearestRank(latencies, Number(stat.slice(1)));
      const r = await svc.query(other.orgId, q);
      assert.equal(r.series[0].points[0].value, expected, stat);
    }
  });

  test('pipeline runs are counted as they end', async () => {
    for (const extra of [
      {},
      { group_by: 'status' },
      { pipeline_id: pipelineId },
      { pipeline_id: 'pl_other' },
    ]) {
      const q: Record<string, string> = {
        metric: 'pipeline_runs',
        stat: 'count',
        interval: '1h',
        ...range,
        ...(extra as Record<string, string>),
      };
      const res = await metrics(q);
      assert.equal(res.statusCode, 200, res.body);
      assert.deepEqual(res.json(), brute(pipelineRuns, q), JSON.stringify(q));
    }
  });

  test('empty buckets are 0 for counts and sums, null for avg, max and percentiles', async () => {
    const quiet = { from: '2026-01-01T00:00:00Z', to: '2026-01-01T00:03:00Z', interval: '1m' };
    const count = (await metrics({ metric: 'runs', ...quiet })).json();
    assert.deepEqual(count, {
      object: 'metric',
      metric: 'runs',
      stat: 'count',
      interval: '1m',
      from: '2026-01-01T00:00:00.000Z',
      to: '2026-01-01T00:03:00.000Z',
      series: [
        {
          group: {},
          points: [0, 1, 2].map((i) => ({ t: `2026-01-01T00:0${i}:00.000Z`, value: 0 })),
        },
      ],
    });
    for (const stat of ['avg', 'max', 'p99']) {
      const r = (await metrics({ metric: 'run_latency_ms', stat, ...quiet })).json();
      assert.deepEqual(
        r.series[0].points.map((p: { value: unknown }) => p.value),
        [null, null, null],
      );
    }
    const grouped = (await metrics({ metric: 'runs', group_by: 'agent_id', ...quiet })).json();
    assert.deepEqual(grouped.series, []);
  });

  test('from and to are rounded out to the interval; defaults are the last hour', async () => {
    const r = (
      await metrics({
        metric: 'runs',
        interval: '1h',
        from: '2026-11-28T23:20:00Z',
        to: '2026-11-29T01:05:00Z',
      })
    ).json();
    assert.equal(r.from, '2026-11-28T23:00:00.000Z');
    assert.equal(r.to, '2026-11-29T02:00:00.000Z');
    assert.equal(r.series[0].points.length, 3);
    const d = (await metrics({ metric: 'runs' })).json();
    assert.equal(d.interval, '1m');
    assert.ok(d.series[0].points.length === 60 || d.series[0].points.length === 61);
    assert.ok(Math.abs(Date.parse(d.to) - clock.now()) <= MIN);
  });

  test('another organization sees none of it', async () => {
    const other = await t.newOrg('business');
    const all = (await metrics({ metric: 'runs', interval: '1d', ...range }, other.key)).json();
    assert.ok(all.series[0].points.every((p: { value: number }) => p.value === 0));
    const byAgent = (
      await metrics({ metric: 'runs', interval: '1d', ...range, agent_id: agents.fast }, other.key)
    ).json();
    assert.ok(byAgent.series[0].points.every((p: { value: number }) => p.value === 0));
    const grouped = (
      await metrics(
        { metric: 'run_latency_ms', stat: 'p50', interval: '1d', ...range, group_by: 'agent_id' },
        other.key,
      )
    ).json();
    assert.deepEqual(grouped.series, []);
  });

  test('requests refused 429 are counted per key', async () => {
    const demo = await t.newOrg('demo');
    const reader = await t.resources.services.apiKeys.create(demo.orgId, { name: 'reader' });
    let refused = 0;
    for (let i = 0; i < 120; i++) {
      const res = await call('GET', '/v2/organization', undefined, demo.key);
      if (res.statusCode === 429) refused++;
    }
    assert.ok(refused > 0);
    // the plan limits the organization as a whole too: let its bucket refill before the reader asks
    clock.jump(10_000);
    const now = clock.now();
    const q = {
      metric: 'rate_limited',
      interval: '1h',
      from: new Date(now - 2 * 60 * MIN).toISOString(),
      to: new Date(now + MIN).toISOString(),
    };
    const total = (points: { value: number }[]) => points.reduce((a, p) => a + p.value, 0);
    const r = (await metrics(q, reader.secret)).json();
    assert.equal(total(r.series[0].points), refused);
    const mine = (await metrics({ ...q, api_key_id: demo.keyId }, reader.secret)).json();
    assert.equal(total(mine.series[0].points), refused);
    const theirs = (await metrics({ ...q, api_key_id: reader.id }, reader.secret)).json();
    assert.equal(total(theirs.series[0].points), 0);
    const otherOrg = (await metrics(q)).json();
    assert.equal(total(otherOrg.series[0].points), 0);
  });

  test('nonsense is a 422 naming the parameter; shape errors are 400; the scope is enforced', async () => {
    const cases: [Record<string, string>, string, string][] = [
      [{ metric: 'nope' }, 'metric', 'parameter_invalid'],
      [{ metric: 'runs', stat: 'p95' }, 'stat', 'stat_not_supported'],
      [{ metric: 'tokens_used', stat: 'max' }, 'stat', 'stat_not_supported'],
      [{ metric: 'runs', stat: 'median' }, 'stat', 'parameter_invalid'],
      [
        { metric: 'runs', from: '2026-11-29T10:00:00Z', to: '2026-11-29T09:00:00Z' },
        'from',
        'invalid_time_range',
      ],
      [
        { metric: 'runs', from: '2026-11-29T10:00:00Z', to: '2026-11-29T10:00:00Z' },
        'from',
        'invalid_time_range',
      ],
      [{ metric: 'runs', from: 'yesterday' }, 'from', 'parameter_invalid'],
      [{ metric: 'runs', to: '2026-11-29' }, 'to', 'parameter_invalid'],
      [{ metric: 'runs', interval: '2m' }, 'interval', 'parameter_invalid'],
      [
        { metric: 'runs', interval: '1m', from: '2026-10-01T00:00:00Z', to: '2026-11-01T00:00:00Z' },
        'interval',
        'too_many_points',
      ],
      [{ metric: 'runs', group_by: 'colour' }, 'group_by', 'parameter_invalid'],
      [{ metric: 'rate_limited', group_by: 'agent_id' }, 'group_by', 'group_by_not_supported'],
      [{ metric: 'pipeline_runs', group_by: 'model' }, 'group_by', 'group_by_not_supported'],
      [{ metric: 'pipeline_runs', agent_id: 'ag_x' }, 'agent_id', 'filter_not_supported'],
      [{ metric: 'rate_limited', status: 'failed' }, 'status', 'filter_not_supported'],
      [{ metric: 'errors', status: 'completed' }, 'status', 'parameter_invalid'],
      [{ metric: 'runs', status: 'running' }, 'status', 'parameter_invalid'],
    ];
    for (const [q, param, code] of cases) {
      const res = await metrics(q);
      assert.equal(res.statusCode, 422, `${JSON.stringify(q)} → ${res.body}`);
      assert.equal(res.json().error.param, param, JSON.stringify(q));
      assert.equal(res.json().error.code, code, JSON.stringify(q));
    }
    const unknown = await metrics({ metric: 'runs', colour: 'red' });
    assert.equal(unknown.statusCode, 400);
    assert.equal(unknown.json().error.param, 'colour');
    const missing = await call('GET', '/v2/metrics');
    assert.equal(missing.statusCode, 400);
    assert.equal(missing.json().error.param, 'metric');
    const repeated = await call('GET', '/v2/metrics?metric=runs&agent_id=a&agent_id=b');
    assert.ok([400, 422].includes(repeated.statusCode), repeated.body);
    const narrow = await t.resources.services.apiKeys.create(org.orgId, { name: 'n', scopes: ['runs:read'] });
    const denied = await metrics({ metric: 'runs' }, narrow.secret);
    assert.equal(denied.statusCode, 403);
  });
});

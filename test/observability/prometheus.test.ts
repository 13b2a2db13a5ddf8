import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { bearer, createTestApp, forEachDb, type TestApp } from '../support/harness.ts';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** A small parser of the Prometheus text exposition format: samples, and the TYPE of each family. */
function parseProm(text: string): { samples: Sample[]; types: Map<string, string> } {
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type) {
      types.set(type[1]!, type[2]!);
      continue;
    }
    if (line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)(?: \d+)?$/.exec(line);
    assert.ok(m, `not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      labels[l[1]!] = l[2]!.replace(/\\n/g, '\n').replace(/\\"/g, '"').replace(/\\\\/g, '\\');
    }
    const raw = m[3]!;
    samples.push({
      name: m[1]!,
      labels,
      value: raw === '+Inf' ? Infinity : raw === '-Inf' ? -Infinity : Number(raw),
    });
  }
  return { samples, types };
}

const find = (samples: Sample[], name: string, labels: Record<string, string> = {}) =>
  samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
const value = (samples: Sample[], name: string, labels: Record<string, string> = {}) =>
  find(samples, name, labels).reduce((sum, s) => sum + s.value, 0);

forEachDb('prometheus: GET /internal/metrics', (target) => {
  let t: TestApp;
  let key: string;
  before(async () => {
    t = await createTestApp(target);
    key = (await t.newOrg('business')).key;
  });
  after(() => t.close());

  const scrape = async (headers: Record<string, string> = {}) => {
    const res = await t.app.inject({ method: 'GET', url: '/internal/metrics', headers });
    assert.equal(res.statusCode, 200, res.body);
    assert.match(String(res.headers['content-type']), /^text\/plain; version=0\.0\.4/);
    return parseProm(res.body);
  };

  test('counts requests by route pattern, runs by status and model, latency, queue wait and depth', async () => {
    const mk = async (name: string, parameters: object) => {
      const res = await t.app.inject({
        method: 'POST',
        url: '/v2/agents',
        headers: bearer(key),
        payload: { name, model: `mock/${name}`, parameters },
      });
      assert.equal(res.statusCode, 201, res.body);
      return res.json().id as string;
    };
    const good = await mk('good', { mock_reply: 'fine' });
    const bad = await mk('bad', { mock_error: { code: 'provider_error', message: 'boom' } });
    const run = async (agent_id: string) => {
      const res = await t.app.inject({
        method: 'POST',
        url: '/v2/runs',
        headers: bearer(key),
        payload: { agent_id, input: { query: 'hi' } },
      });
      assert.equal(res.statusCode, 200, res.body);
      return res.json();
    };
    assert.equal((await run(good)).status, 'completed');
    assert.equal((await run(good)).status, 'completed');
    assert.equal((await run(bad)).status, 'failed');
    for (let i = 0; i < 3; i++) {
      const res = await t.app.inject({ method: 'GET', url: `/v2/agents/${good}`, headers: bearer(key) });
      assert.equal(res.statusCode, 200);
    }
    await t.app.inject({ method: 'GET', url: '/v2/agents/ag_nope', headers: bearer(key) });

    const { samples, types } = await scrape();
    // HTTP: the route pattern, never the raw URL (no ids in labels)
    assert.equal(types.get('airmy_http_request_duration_seconds'), 'histogram');
    const agentGets = { method: 'GET', route: '/v2/agents/:id' };
    assert.equal(
      value(samples, 'airmy_http_request_duration_seconds_count', { ...agentGets, status_code: '200' }),
      3,
    );
    assert.equal(
      value(samples, 'airmy_http_request_duration_seconds_count', { ...agentGets, status_code: '404' }),
      1,
    );
    assert.equal(
      value(samples, 'airmy_http_request_duration_seconds_count', {
        method: 'POST',
        route: '/v2/runs',
        status_code: '200',
      }),
      3,
    );
    assert.ok(!samples.some((s) => s.labels.route?.includes(good)), 'raw URLs leak into route labels');
    // the +Inf bucket holds every observation
    assert.equal(
      value(samples, 'airmy_http_request_duration_seconds_bucket', {
        ...agentGets,
        status_code: '200',
        le: '+Inf',
      }),
      3,
    );

    // runs by status and model
    assert.equal(types.get('airmy_runs_total'), 'counter');
    assert.equal(value(samples, 'airmy_runs_total', { status: 'completed', model: 'mock/good' }), 2);
    assert.equal(value(samples, 'airmy_runs_total', { status: 'failed', model: 'mock/bad' }), 1);
    assert.equal(value(samples, 'airmy_run_latency_seconds_count', { model: 'mock/good' }), 2);
    assert.equal(value(samples, 'airmy_run_queue_wait_seconds_count'), 3);
    // the queue is empty once every run finished; process metrics are there
    assert.equal(types.get('airmy_queue_depth'), 'gauge');
    assert.equal(value(samples, 'airmy_queue_depth'), 0);
    assert.ok(value(samples, 'process_resident_memory_bytes') > 0);
    assert.ok(find(samples, 'nodejs_heap_size_used_bytes').length === 1);
  });

  test('queue depth is read from the jobs table at scrape time', async () => {
    // a job scheduled far ahead stays queued: the scrape must see it
    await t.resources.db.kysely.transaction().execute((trx) =>
      t.resources.queue.enqueue(trx, {
        kind: 'deployment',
        ref_id: 'dep_probe',
        run_at: t.resources.clock.now() + 3_600_000,
      }),
    );
    const { samples } = await scrape();
    assert.equal(value(samples, 'airmy_queue_depth', { kind: 'deployment', state: 'queued' }), 1);
    await t.resources.db.kysely.deleteFrom('jobs').where('ref_id', '=', 'dep_probe').execute();
    assert.equal(value((await scrape()).samples, 'airmy_queue_depth'), 0);
  });

  test('rate-limited requests are counted', async () => {
    const { key: demoish } = await t.newOrg('demo');
    let limited = 0;
    for (let i = 0; i < 200 && limited === 0; i++) {
      const res = await t.app.inject({ method: 'GET', url: '/v2/agents', headers: bearer(demoish) });
      if (res.statusCode === 429) limited++;
    }
    assert.equal(limited, 1);
    const { samples } = await scrape();
    assert.equal(value(samples, 'airmy_rate_limited_requests_total'), 1);
  });

  test('is public to API clients but hidden from the OpenAPI document', async () => {
    const doc = (await t.app.inject({ method: 'GET', url: '/v2/openapi.json' })).json();
    assert.ok(!Object.keys(doc.paths).some((p) => p.includes('internal')));
  });
});

forEachDb('prometheus: AIRMY_METRICS_TOKEN guards the scrape', (target) => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp(target, { env: { AIRMY_METRICS_TOKEN: 'scrape-secret-123' } });
  });
  after(() => t.close());

  test('no token or a wrong one → 401; the right Bearer token → the metrics', async () => {
    const none = await t.app.inject({ method: 'GET', url: '/internal/metrics' });
    assert.equal(none.statusCode, 401);
    assert.equal(none.json().error.code, 'missing_metrics_token');
    assert.match(String(none.headers['www-authenticate']), /^Bearer/);
    const wrong = await t.app.inject({
      method: 'GET',
      url: '/internal/metrics',
      headers: bearer('scrape-secret-124'),
    });
    assert.equal(wrong.statusCode, 401);
    assert.equal(wrong.json().error.code, 'invalid_metrics_token');
    // an API key is not the metrics token
    const apiKey = await t.app.inject({
      method: 'GET',
      url: '/internal/metrics',
      headers: bearer('sk-airmy-demo-2026'),
    });
    assert.equal(apiKey.statusCode, 401);
    const ok = await t.app.inject({
      method: 'GET',
      url: '/internal/metrics',
      headers: bearer('scrape-secret-123'),
    });
    assert.equal(ok.statusCode, 200);
    assert.match(ok.body, /^# HELP /m);
  });
});

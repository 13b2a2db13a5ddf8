/**
 * Queue timeouts fire at the deadline, not when a worker finally picks the job up (issue 19, bug 5),
 * and what they and an empty queue leave is visible in the metrics (bug 12): expired runs counted
 * in Prometheus and GET /v2/metrics, queue depth sampled (as 0) when the queue is empty.
 * The only worker slot is held by a slow run the whole time, so no worker can pick anything up.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { bearer, createTestApp, forEachDb, type TestApp } from '../support/harness.ts';
import { parseSse } from '../support/sse.ts';

const QUEUE_TIMEOUT_MS = 300;

forEachDb('queue timeouts expire on time while workers are busy', (target) => {
  let t: TestApp;
  let key: string;
  let slow: string;
  let fast: string;
  before(async () => {
    t = await createTestApp(target, { env: { AIRMY_WORKER_CONCURRENCY: '1' } });
    key = (await t.newOrg('business')).key;
    slow = await t.newAgent(key, 'blocker', { parameters: { mock_latency_ms: 4_000 } });
    fast = await t.newAgent(key, 'quick', { parameters: { mock_reply: 'Too late.' } });
  });
  after(() => t.close());

  const post = (payload: object) =>
    t.app.inject({ method: 'POST', url: '/v2/runs', headers: bearer(key), payload });
  const get = async (id: string) =>
    (await t.app.inject({ url: `/v2/runs/${id}`, headers: bearer(key) })).json();
  const prometheus = async () => (await t.app.inject({ url: '/internal/metrics' })).body;

  test('an empty queue has depth samples of 0', async () => {
    const text = await prometheus();
    assert.match(text, /^airmy_queue_depth\{kind="run",state="queued"\} 0$/m);
    assert.match(text, /^airmy_queue_depth\{kind="run",state="running"\} 0$/m);
  });

  test('a sync caller gets `expired` at the deadline while the only worker is busy', async () => {
    const blocker = (await post({ agent_id: slow, input: { q: 'hold' }, background: true })).json();
    for (;;) {
      if ((await get(blocker.id)).status === 'running') break;
      await new Promise((r) => setTimeout(r, 20));
    }
    const background = (
      await post({ agent_id: fast, input: { q: 'bg' }, background: true, queue_timeout_ms: QUEUE_TIMEOUT_MS })
    ).json();
    const sync = await post({ agent_id: fast, input: { q: 'sync' }, queue_timeout_ms: QUEUE_TIMEOUT_MS });
    assert.equal(sync.statusCode, 200, sync.body);
    const run = sync.json();
    assert.equal(run.status, 'expired');
    assert.equal(run.error.code, 'queue_timeout');
    assert.equal(run.started_at, null, 'no worker started it');
    assert.ok(Date.parse(run.completed_at) - Date.parse(run.created_at) >= QUEUE_TIMEOUT_MS, 'not early');
    // the background one ended too (its stream ends at the terminal event), and the worker is
    // still busy with the blocker: nothing waited for a worker to pick them up
    const events = parseSse(
      (await t.app.inject({ url: `/v2/runs/${background.id}/events`, headers: bearer(key) })).body,
    );
    assert.equal(events.at(-1)!.event, 'run.expired');
    assert.equal((await get(blocker.id)).status, 'running', 'the worker never got to them');
    const depth = await prometheus();
    assert.match(depth, /^airmy_queue_depth\{kind="run",state="running"\} 1$/m);
    assert.match(depth, /^airmy_queue_depth\{kind="run",state="queued"\} 0$/m, 'expired runs left the queue');
  });

  test('expired runs are counted: Prometheus airmy_runs_total and GET /v2/metrics', async () => {
    const text = await prometheus();
    assert.match(text, /^airmy_runs_total\{status="expired",model="mock\/quick"\} 2$/m);
    const res = await t.app.inject({
      url: '/v2/metrics?metric=runs&status=expired&interval=1d',
      headers: bearer(key),
    });
    assert.equal(res.statusCode, 200, res.body);
    const total = (res.json().series as { points: { value: number | null }[] }[])
      .flatMap((s) => s.points)
      .reduce((n, p) => n + (p.value ?? 0), 0);
    assert.equal(total, 2, res.body);
  });
});

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { bearer, createTestApp, DEMO_KEY, forEachDb, type TestApp } from '../support/harness.ts';
import { parseSse } from '../support/sse.ts';

forEachDb('runs: invoke sync, background and streamed; read, list, cancel', (target) => {
  let t: TestApp;
  let key: string;
  const agents: Record<string, string> = {};
  before(async () => {
    t = await createTestApp(target, { env: { AIRMY_WORKER_CONCURRENCY: '2' } });
    key = (await t.newOrg('business')).key;
    const make = (name: string, parameters: object = {}) => t.newAgent(key, name, { parameters });
    agents.fast = await make('fast', { mock_reply: 'Four.' });
    agents.slow = await make('slow', { mock_latency_ms: 4000 });
    agents.broken = await make('broken', {
      mock_error: { code: 'provider_error', message: 'upstream exploded' },
    });
    agents.chatty = await make('chatty', { mock_reply: 'one two three four five' });
  });
  after(() => t.close());

  const post = (payload: object, headers: Record<string, string> = {}) =>
    t.app.inject({ method: 'POST', url: '/v2/runs', headers: { ...bearer(key), ...headers }, payload });
  const get = async (id: string) =>
    (await t.app.inject({ url: `/v2/runs/${id}`, headers: bearer(key) })).json();
  const until = async (id: string, pred: (r: any) => boolean, ms = 5000) => {
    const end = Date.now() + ms;
    for (;;) {
      const r = await get(id);
      if (pred(r)) return r;
      if (Date.now() > end) throw new Error(`run ${id} stuck at ${r.status}`);
      await new Promise((res) => setTimeout(res, 20));
    }
  };

  test('the reference quickstart: 200 and a completed run with the documented fields', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/v2/runs',
      headers: bearer(DEMO_KEY),
      payload: { agent_id: 'ag_01HXYZ', input: { query: 'Summarize Q1 revenue drivers' } },
    });
    assert.equal(res.statusCode, 200);
    const run = res.json();
    assert.match(run.id, /^run_[0-9A-Z]{26}$/);
    assert.equal(run.status, 'completed');
    assert.equal(typeof run.output.result, 'string');
    assert.match(run.output.result, /revenue/i);
    assert.ok(Number.isInteger(run.latency_ms) && run.latency_ms >= 0);
    assert.ok(run.tokens_used > 0);
    assert.equal(run.tokens_used, run.usage.input_tokens + run.usage.output_tokens);
    assert.ok(!Number.isNaN(Date.parse(run.created_at)));
    for (const f of ['agent_id', 'deployment_id', 'input', 'error', 'metadata', 'started_at', 'completed_at'])
      assert.ok(f in run, f);
    const again = await t.app.inject({ url: `/v2/runs/${run.id}`, headers: bearer(DEMO_KEY) });
    assert.deepEqual(again.json(), run);
  });

  test('the mock is deterministic: same input, same output and token counts', async () => {
    const a = (await post({ agent_id: agents.chatty, input: { query: 'q' } })).json();
    const b = (await post({ agent_id: agents.chatty, input: { query: 'q' } })).json();
    assert.equal(a.output.result, 'one two three four five');
    assert.deepEqual(a.usage, b.usage);
  });

  test('a failing provider is still HTTP 200, with the error on the run', async () => {
    const res = await post({ agent_id: agents.broken, input: { query: 'x' } });
    assert.equal(res.statusCode, 200);
    assert.equal(res.json().status, 'failed');
    assert.deepEqual(res.json().error, { code: 'provider_error', message: 'upstream exploded' });
  });

  test('background: 202 at once with a queued run that then completes', async () => {
    const res = await post({ agent_id: agents.fast, input: { q: 1 }, background: true });
    assert.equal(res.statusCode, 202);
    assert.equal(res.json().status, 'queued');
    const done = await until(res.json().id, (r) => r.status === 'completed');
    assert.equal(done.output.result, 'Four.');
  });

  test('stream: text/event-stream of created, started, deltas, completed — with SSE ids', async () => {
    const res = await post({ agent_id: agents.chatty, input: { q: 1 }, stream: true });
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers['content-type']), /^text\/event-stream/);
    assert.match(String(res.headers['request-id']), /^req_/);
    const events = parseSse(res.body);
    const types = events.map((e) => e.event);
    assert.equal(types[0], 'run.created');
    assert.equal(types[1], 'run.started');
    assert.equal(types.at(-1), 'run.completed');
    assert.ok(types.filter((x) => x === 'run.output.delta').length >= 2);
    events.forEach((e, i) => {
      assert.equal(e.id, String(i + 1));
      assert.equal(e.data.sequence_number, i + 1);
      assert.equal(e.data.type, e.event);
    });
    const text = events
      .filter((e) => e.event === 'run.output.delta')
      .map((e) => e.data.delta)
      .join('');
    assert.equal(text, 'one two three four five');
    assert.equal(events.at(-1)!.data.run.output.result, text);
    assert.doesNotMatch(res.body, /\[DONE\]/);
  });

  test('events replay after a reconnect from Last-Event-ID or ?starting_after=', async () => {
    const run = (await post({ agent_id: agents.chatty, input: { q: 2 }, stream: true })).body;
    const id = parseSse(run)[0].data.run_id;
    const all = parseSse((await t.app.inject({ url: `/v2/runs/${id}/events`, headers: bearer(key) })).body);
    assert.ok(all.length >= 5);
    const tail = parseSse(
      (
        await t.app.inject({
          url: `/v2/runs/${id}/events`,
          headers: { ...bearer(key), 'last-event-id': '3' },
        })
      ).body,
    );
    assert.deepEqual(
      tail.map((e) => e.data.sequence_number),
      all.slice(3).map((e) => e.data.sequence_number),
    );
    const q = parseSse(
      (await t.app.inject({ url: `/v2/runs/${id}/events?starting_after=4`, headers: bearer(key) })).body,
    );
    assert.equal(q[0].data.sequence_number, 5);
    const none = await t.app.inject({
      url: `/v2/runs/${id}/events`,
      headers: { ...bearer(key), 'last-event-id': '999' },
    });
    assert.equal(parseSse(none.body).length, 0);
  });

  test('replayed events equal the live stream; the terminal one carries the run as GET returns it', async () => {
    const live = parseSse((await post({ agent_id: agents.chatty, input: { q: 3 }, stream: true })).body);
    const id = live[0].data.run_id;
    const replayed = parseSse(
      (await t.app.inject({ url: `/v2/runs/${id}/events`, headers: bearer(key) })).body,
    );
    assert.deepEqual(
      replayed.map((e) => e.data),
      live.map((e) => e.data),
    );
    assert.equal(replayed[0].data.run.status, 'queued');
    assert.equal(replayed[0].data.run.output, null);
    const end = replayed.at(-1)!;
    assert.equal(end.event, 'run.completed');
    const got = (await t.app.inject({ url: `/v2/runs/${id}`, headers: bearer(key) })).json();
    assert.deepEqual(end.data.run, got);
    assert.equal(end.data.run.output.result, 'one two three four five');
  });

  test('cancel: a running run stops within a second; a cancelled one is returned unchanged; a finished one is 422', async () => {
    const run = (await post({ agent_id: agents.slow, input: { q: 1 }, background: true })).json();
    await until(run.id, (r) => r.status === 'running');
    const started = Date.now();
    const res = await t.app.inject({ method: 'DELETE', url: `/v2/runs/${run.id}`, headers: bearer(key) });
    assert.equal(res.statusCode, 200);
    assert.equal(res.json().status, 'cancelled');
    assert.ok(Date.now() - started < 1000, 'cancelled within 1 s');
    const again = await t.app.inject({ method: 'DELETE', url: `/v2/runs/${run.id}`, headers: bearer(key) });
    assert.equal(again.statusCode, 200);
    assert.equal(again.json().completed_at, res.json().completed_at);
    const done = (await post({ agent_id: agents.fast, input: {} })).json();
    const late = await t.app.inject({ method: 'DELETE', url: `/v2/runs/${done.id}`, headers: bearer(key) });
    assert.equal(late.statusCode, 422);
    assert.equal(late.json().error.code, 'run_not_cancellable');
  });

  test('cancel of a queued run is immediate and it never starts; queue_timeout_ms expires; timeout_ms times out', async () => {
    const blockers = await Promise.all(
      [1, 2].map((i) => post({ agent_id: agents.slow, input: { i }, background: true })),
    );
    const queued = (await post({ agent_id: agents.fast, input: {}, background: true })).json();
    const expiring = (
      await post({ agent_id: agents.fast, input: {}, background: true, queue_timeout_ms: 100 })
    ).json();
    const cancel = await t.app.inject({
      method: 'DELETE',
      url: `/v2/runs/${queued.id}`,
      headers: bearer(key),
    });
    assert.equal(cancel.json().status, 'cancelled');
    assert.equal(cancel.json().started_at, null);
    await new Promise((r) => setTimeout(r, 150));
    for (const b of blockers)
      await t.app.inject({ method: 'DELETE', url: `/v2/runs/${b.json().id}`, headers: bearer(key) });
    const expired = await until(expiring.id, (r) => r.status !== 'queued');
    assert.equal(expired.status, 'expired');
    assert.equal((await get(queued.id)).status, 'cancelled');
    const timed = (await post({ agent_id: agents.slow, input: {}, timeout_ms: 200 })).json();
    assert.equal(timed.status, 'timed_out');
    assert.equal(timed.error.code, 'run_timeout');
  });

  test('list: filters by agent, one or several statuses, metadata and creation time; newest first', async () => {
    const tagged = (await post({ agent_id: agents.fast, input: {}, metadata: { batch: 'b7' } })).json();
    await post({ agent_id: agents.broken, input: {}, metadata: { batch: 'b7' } });
    const byMeta = (await t.app.inject({ url: '/v2/runs?metadata[batch]=b7', headers: bearer(key) })).json();
    assert.equal(byMeta.data.length, 2);
    assert.equal(byMeta.data[1].id, tagged.id);
    const failed = (
      await t.app.inject({ url: '/v2/runs?metadata[batch]=b7&status=failed', headers: bearer(key) })
    ).json();
    assert.deepEqual(
      failed.data.map((r: { status: string }) => r.status),
      ['failed'],
    );
    const both = (
      await t.app.inject({
        url: '/v2/runs?metadata[batch]=b7&status=failed&status=completed',
        headers: bearer(key),
      })
    ).json();
    assert.equal(both.data.length, 2);
    const byAgent = (
      await t.app.inject({ url: `/v2/runs?agent_id=${agents.broken}&limit=100`, headers: bearer(key) })
    ).json();
    assert.ok(byAgent.data.every((r: { agent_id: string }) => r.agent_id === agents.broken));
    const after = (
      await t.app.inject({
        url: `/v2/runs?created_after=${encodeURIComponent(tagged.created_at)}&metadata[batch]=b7`,
        headers: bearer(key),
      })
    ).json();
    assert.equal(after.data.length, 1);
    const bad = await t.app.inject({ url: '/v2/runs?status=done', headers: bearer(key) });
    assert.equal(bad.statusCode, 400);
    assert.match(bad.json().error.param, /^status/);
  });

  test('another organization cannot see a run (404, never the object)', async () => {
    const run = (await post({ agent_id: agents.fast, input: {} })).json();
    const other = await t.newOrg('free');
    const res = await t.app.inject({ url: `/v2/runs/${run.id}`, headers: bearer(other.key) });
    assert.equal(res.statusCode, 404);
    assert.equal(
      (await t.app.inject({ method: 'DELETE', url: `/v2/runs/${run.id}`, headers: bearer(other.key) }))
        .statusCode,
      404,
    );
    assert.equal(
      (await t.app.inject({ url: `/v2/runs/${run.id}/events`, headers: bearer(other.key) })).statusCode,
      404,
    );
  });

  test('100 concurrent identical POST /v2/runs with one Idempotency-Key create exactly one run', async () => {
    const idem = `idem-${Date.now()}`;
    const body = { agent_id: agents.fast, input: { q: 'once' }, metadata: { idem } };
    const answers = await Promise.all(
      Array.from({ length: 100 }, () => post(body, { 'idempotency-key': idem })),
    );
    const ok = answers.filter((a) => a.statusCode === 200);
    assert.ok(ok.length >= 1);
    for (const a of answers) assert.ok([200, 409].includes(a.statusCode), `status ${a.statusCode}`);
    assert.equal(new Set(ok.map((a) => a.json().id)).size, 1);
    const listed = (
      await t.app.inject({ url: `/v2/runs?metadata[idem]=${idem}`, headers: bearer(key) })
    ).json();
    assert.equal(listed.data.length, 1);
    const replay = await post(body, { 'idempotency-key': idem });
    assert.equal(replay.headers['idempotent-replayed'], 'true');
    assert.equal(replay.json().id, listed.data[0].id);
  });

  test('bad requests create nothing: unknown field, non-object input, unknown agent', async () => {
    const before = (await t.app.inject({ url: '/v2/runs?limit=100', headers: bearer(key) })).json().data
      .length;
    assert.equal((await post({ agent_id: agents.fast, input: {}, colour: 1 })).statusCode, 400);
    assert.equal((await post({ agent_id: agents.fast, input: 'text' })).statusCode, 400);
    assert.equal((await post({ agent_id: agents.fast, input: {}, timeout_ms: 'soon' })).statusCode, 400);
    assert.equal((await post({ agent_id: 'ag_nope', input: {} })).statusCode, 404);
    assert.equal(
      (await t.app.inject({ url: '/v2/runs?limit=100', headers: bearer(key) })).json().data.length,
      before,
    );
  });
});

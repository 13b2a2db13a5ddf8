/**
 * A wide fan-out of fast steps (their finishes interleave with the engine's passes), and two engines
 * on one database (cluster mode): whatever order passes run in, every step runs once and the run's
 * events are one contiguous, complete story.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createPipelineEngine } from '../../src/pipelines/engine.ts';
import { toPipelineRun } from '../../src/pipelines/present.ts';
import { createPipelineStore } from '../../src/pipelines/store.ts';
import { bearer, createTestApp, forEachDb, type TestApp } from '../support/harness.ts';
import { parseSse } from '../support/sse.ts';

forEachDb('pipelines: fan-out and concurrent engines', (target) => {
  let t: TestApp;
  let key: string;
  const agents: Record<string, string> = {};
  before(async () => {
    t = await createTestApp(target, { env: { AIRMY_WORKER_CONCURRENCY: '16' } });
    key = (await t.newOrg('business')).key;
    const make = (name: string, parameters: object = {}) => t.newAgent(key, name, { parameters });
    agents.fast = await make('fast', { mock_reply: 'ok' });
    agents.slow = await make('slow', { mock_latency_ms: 5000 });
  });
  after(() => t.close());

  const call = async (method: string, url: string, payload?: object) =>
    t.app.inject({ method: method as 'GET', url: `/v2${url}`, headers: bearer(key), payload });
  const until = async (pid: string, rid: string, pred: (r: any) => boolean, ms = 15_000) => {
    const end = Date.now() + ms;
    for (;;) {
      const r = (await call('GET', `/pipelines/${pid}/runs/${rid}`)).json();
      if (pred(r)) return r;
      if (Date.now() > end) throw new Error(`pipeline run ${rid} stuck: ${JSON.stringify(r)}`);
      await new Promise((res) => setTimeout(res, 10));
    }
  };
  const done = (r: any) => ['completed', 'failed', 'cancelled', 'timed_out'].includes(r.status);
  const eventsOf = async (pid: string, rid: string) =>
    parseSse((await call('GET', `/pipelines/${pid}/runs/${rid}/events`)).body);

  test('root → 8 fast steps → join, many times over: each step runs once, the join sees all 8', async () => {
    const mids = Array.from({ length: 8 }, (_, i) => `m${i}`);
    const res = await call('POST', '/pipelines', {
      name: 'fan',
      steps: [
        { id: 'root', agent_id: agents.fast, input: { q: '{{ input.q }}' } },
        ...mids.map((id) => ({ id, agent_id: agents.fast, depends_on: ['root'], input: { q: id } })),
        {
          id: 'join',
          agent_id: agents.fast,
          depends_on: mids,
          input: { got: `{{ [${mids.map((m) => `steps.${m}.status`).join(', ')}] }}` },
        },
      ],
    });
    assert.equal(res.statusCode, 201, res.body);
    const p = res.json();
    // several at once, so that finishes of different runs and their passes interleave
    const runs = await Promise.all(
      Array.from({ length: 6 }, async (_, i) => {
        const trig = await call('POST', `/pipelines/${p.id}/trigger`, { input: { q: `n${i}` } });
        assert.equal(trig.statusCode, 202, trig.body);
        return until(p.id, trig.json().id, done);
      }),
    );
    for (const r of runs) {
      assert.equal(r.status, 'completed', JSON.stringify(r));
      for (const s of r.steps) {
        assert.equal(s.status, 'completed', s.id);
        assert.equal(s.run_ids.length, 1, s.id);
      }
      const join = (await call('GET', `/runs/${r.steps.at(-1).run_ids[0]}`)).json();
      assert.deepEqual(join.input, { got: mids.map(() => 'completed') });
      const steps = (await call('GET', `/runs?limit=100&pipeline_run_id=${r.id}`)).json().data;
      assert.equal(steps.length, 10);

      const events = await eventsOf(p.id, r.id);
      assert.deepEqual(
        events.map((e) => e.data.sequence_number),
        events.map((_, i) => i + 1),
      );
      const types = events.map((e) => String(e.event));
      assert.deepEqual(types.slice(0, 3), ['pipeline.created', 'pipeline.started', 'pipeline.step.started']);
      assert.equal(types.filter((x) => x === 'pipeline.step.started').length, 10);
      assert.equal(types.filter((x) => x === 'pipeline.step.completed').length, 10);
      assert.deepEqual(
        types.filter((x) => x.startsWith('pipeline.') && !x.startsWith('pipeline.step.')),
        ['pipeline.created', 'pipeline.started', 'pipeline.completed'],
      );
    }
  });

  test('another engine cancels a run this one has advanced: the cancel stands, nothing else starts', async () => {
    const res = await call('POST', '/pipelines', {
      name: 'two engines',
      steps: [
        { id: 'slow', agent_id: agents.slow, input: {} },
        { id: 'next', agent_id: agents.fast, depends_on: ['slow'], input: {} },
      ],
    });
    const p = res.json();
    const trig = (await call('POST', `/pipelines/${p.id}/trigger`, { input: {} })).json();
    const running = await until(p.id, trig.id, (r) => r.steps[0].status === 'running');
    // a second engine on the same database, as in another process of a cluster
    const r = t.resources;
    const other = createPipelineEngine({
      db: r.db,
      store: createPipelineStore(r.db),
      runs: () => r.services.runs,
      bus: r.bus,
      queue: r.queue,
      clock: r.clock,
      present: toPipelineRun,
    });
    // it cancels the pipeline run and its step run; the step run's end then reaches this
    // process's engine, which last saw the pipeline run running
    await other.advance(trig.id, { cancel: true });
    const stepRun = running.steps[0].run_ids[0];
    const end = Date.now() + 5000;
    while ((await call('GET', `/runs/${stepRun}`)).json().status !== 'cancelled') {
      assert.ok(Date.now() < end, 'the step run was not cancelled');
      await new Promise((res) => setTimeout(res, 10));
    }
    await new Promise((res) => setTimeout(res, 200)); // this engine's pass for that end settles
    const final = (await call('GET', `/pipelines/${p.id}/runs/${trig.id}`)).json();
    assert.equal(final.status, 'cancelled', JSON.stringify(final));
    assert.deepEqual(
      final.steps.map((s: any) => [s.status, s.run_ids.length]),
      [
        ['cancelled', 1],
        ['cancelled', 0],
      ],
    );
    const types = (await eventsOf(p.id, trig.id)).map((e) => String(e.event));
    assert.equal(types.filter((x) => x === 'pipeline.cancelled').length, 1);
    assert.equal(types.filter((x) => x === 'pipeline.failed').length, 0);
    assert.equal(types.at(-1), 'pipeline.cancelled');
  });
});

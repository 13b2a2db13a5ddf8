import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { bearer, createTestApp, forEachDb, type TestApp } from '../support/harness.ts';
import { parseSse } from '../support/sse.ts';

forEachDb('pipelines: define, trigger, run a DAG of agents, cancel, stream events', (target) => {
  let t: TestApp;
  let key: string;
  const agents: Record<string, string> = {};
  before(async () => {
    t = await createTestApp(target, { env: { AIRMY_WORKER_CONCURRENCY: '8' } });
    key = (await t.newOrg('business')).key;
    const make = (name: string, parameters: object = {}) => t.newAgent(key, name, { parameters });
    agents.research = await make('research', { mock_reply: 'Fact: sky is blue.' });
    agents.draftA = await make('draft-a', { mock_reply: 'Draft A', mock_latency_ms: 300 });
    agents.draftB = await make('draft-b', { mock_reply: 'Draft B', mock_latency_ms: 300 });
    agents.pick = await make('pick', { mock_reply: 'B is best' });
    agents.slow = await make('slow', { mock_latency_ms: 5000 });
    agents.broken = await make('broken', { mock_error: { code: 'provider_error', message: 'boom' } });
  });
  after(() => t.close());

  const call = async (method: string, url: string, payload?: object, headers: object = {}) =>
    t.app.inject({
      method: method as 'GET',
      url: `/v2${url}`,
      headers: { ...bearer(key), ...headers },
      payload,
    });
  const create = async (body: object) => {
    const res = await call('POST', '/pipelines', body);
    assert.equal(res.statusCode, 201, res.body);
    return res.json();
  };
  const trigger = async (pipelineId: string, input: object = {}) => {
    const res = await call('POST', `/pipelines/${pipelineId}/trigger`, { input });
    assert.equal(res.statusCode, 202, res.body);
    return res.json();
  };
  const until = async (pid: string, rid: string, pred: (r: any) => boolean, ms = 15_000) => {
    const end = Date.now() + ms;
    for (;;) {
      const r = (await call('GET', `/pipelines/${pid}/runs/${rid}`)).json();
      if (pred(r)) return r;
      if (Date.now() > end) throw new Error(`pipeline run ${rid} stuck: ${JSON.stringify(r)}`);
      await new Promise((res) => setTimeout(res, 25));
    }
  };
  const done = (r: any) => ['completed', 'failed', 'cancelled', 'timed_out'].includes(r.status);
  const stepOf = (r: any, id: string) => r.steps.find((s: any) => s.id === id);

  test('definition errors are 422 with the path of the offending field', async () => {
    const cases: [object, string, string][] = [
      [{ steps: [{ id: 'a', agent_id: agents.research, input: {} }] }, 'name', 'parameter_missing'],
      [
        {
          name: 'cyc',
          steps: [
            { id: 'a', agent_id: agents.research, input: {}, depends_on: ['b'] },
            { id: 'b', agent_id: agents.research, input: {}, depends_on: ['a'] },
          ],
        },
        'steps[0].depends_on[0]',
        'dependency_cycle',
      ],
      [
        {
          name: 'x',
          steps: [
            { id: 'a', agent_id: agents.research, input: {} },
            { id: 'b', agent_id: 'ag_nope', input: {} },
          ],
        },
        'steps[1].agent_id',
        'agent_not_found',
      ],
      [
        { name: 'x', steps: [{ id: 'a', agent_id: agents.research, input: {} }], timeout_ms: 0 },
        'timeout_ms',
        'parameter_invalid',
      ],
    ];
    for (const [body, param, code] of cases) {
      const res = await call('POST', '/pipelines', body);
      assert.equal(res.statusCode, 422, res.body);
      assert.equal(res.json().error.param, param);
      assert.equal(res.json().error.code, code);
    }
    // an unknown top-level field is a malformed request, as on every other route
    const unknown = await call('POST', '/pipelines', {
      name: 'x',
      steps: [{ id: 'a', agent_id: agents.research, input: {} }],
      colour: 1,
    });
    assert.equal(unknown.statusCode, 400, unknown.body);
    assert.equal(unknown.json().error.code, 'parameter_unknown');
    assert.equal(unknown.json().error.param, 'colour');
    // another org's agent does not exist for this caller
    const other = await t.newOrg('business');
    const foreign = await t.app.inject({
      method: 'POST',
      url: '/v2/pipelines',
      headers: bearer(other.key),
      payload: { name: 'x', steps: [{ id: 'a', agent_id: agents.research, input: {} }] },
    });
    assert.equal(foreign.statusCode, 422);
    assert.equal(foreign.json().error.param, 'steps[0].agent_id');
  });

  test('research → two parallel drafts → pick best: data flows, runs are ordinary runs', async () => {
    const p = await create({
      name: 'write',
      input_schema: { type: 'object', required: ['topic'], properties: { topic: { type: 'string' } } },
      steps: [
        { id: 'research', agent_id: agents.research, input: { query: 'About {{ input.topic }}' } },
        {
          id: 'draft_a',
          agent_id: agents.draftA,
          depends_on: ['research'],
          input: { notes: '{{ steps.research.output.result }}' },
        },
        {
          id: 'draft_b',
          agent_id: agents.draftB,
          depends_on: ['research'],
          input: { notes: '{{ steps.research.output.result }}' },
        },
        {
          id: 'pick',
          agent_id: agents.pick,
          depends_on: ['draft_a', 'draft_b'],
          input: { a: '{{ steps.draft_a.output.result }}', b: '{{ steps.draft_b.output.result }}' },
        },
      ],
      output: { best: '{{ steps.pick.output.result }}', research: '{{ steps.research.output.result }}' },
    });
    assert.match(p.id, /^pl_/);
    assert.equal(p.version, 1);

    const bad = await call('POST', `/pipelines/${p.id}/trigger`, { input: { topic: 7 } });
    assert.equal(bad.statusCode, 422);
    assert.equal(bad.json().error.param, 'input.topic');

    const queued = await trigger(p.id, { topic: 'the sky' });
    assert.match(queued.id, /^prun_/);
    assert.equal(queued.status, 'queued');
    assert.equal(queued.object, 'pipeline_run');
    const r = await until(p.id, queued.id, done);
    assert.equal(r.status, 'completed', JSON.stringify(r));
    assert.deepEqual(r.output, { best: 'B is best', research: 'Fact: sky is blue.' });
    assert.equal(r.pipeline_version, 1);
    assert.ok(r.latency_ms >= 300);
    for (const s of r.steps) {
      assert.equal(s.status, 'completed');
      assert.equal(s.run_ids.length, 1);
      assert.equal(s.attempts, 1);
    }
    // drafts ran in parallel: each started before the other finished
    const a = stepOf(r, 'draft_a');
    const b = stepOf(r, 'draft_b');
    assert.ok(Date.parse(a.started_at) < Date.parse(b.completed_at));
    assert.ok(Date.parse(b.started_at) < Date.parse(a.completed_at));

    const runs = (await call('GET', `/runs?limit=100&agent_id=${agents.pick}`)).json().data;
    const pickRun = runs.find((x: any) => x.pipeline_run_id === r.id);
    assert.equal(pickRun.step_id, 'pick');
    assert.deepEqual(pickRun.input, { a: 'Draft A', b: 'Draft B' });
    const research = (await call('GET', `/runs/${stepOf(r, 'research').run_ids[0]}`)).json();
    assert.deepEqual(research.input, { query: 'About the sky' });
    let tokens = 0;
    for (const s of r.steps) tokens += (await call('GET', `/runs/${s.run_ids[0]}`)).json().tokens_used;
    assert.equal(r.tokens_used, tokens);
    assert.ok(tokens > 0);

    const list = (await call('GET', `/pipelines/${p.id}/runs?status=completed`)).json();
    assert.equal(list.object, 'list');
    assert.ok(list.data.some((x: any) => x.id === r.id));
    assert.equal((await call('GET', `/pipelines/${p.id}/runs?status=failed`)).json().data.length, 0);

    // the events, in order, resumable
    const ev = await call('GET', `/pipelines/${p.id}/runs/${r.id}/events`);
    assert.equal(ev.statusCode, 200);
    const events = parseSse(ev.body);
    const types = events.map((e) => e.event);
    assert.equal(types[0], 'pipeline.created');
    assert.equal(types.at(-1), 'pipeline.completed');
    assert.equal(types.filter((x) => x === 'pipeline.step.started').length, 4);
    assert.equal(types.filter((x) => x === 'pipeline.step.completed').length, 4);
    events.forEach((e, i) => {
      assert.equal(Number(e.id), i + 1);
      assert.equal(e.data.sequence_number, i + 1);
    });
    const resumed = parseSse(
      (await call('GET', `/pipelines/${p.id}/runs/${r.id}/events`, undefined, { 'last-event-id': '3' })).body,
    );
    assert.deepEqual(
      resumed.map((e) => e.data),
      events.slice(3).map((e) => e.data),
    );
  });

  test('a live event stream follows the run to its terminal event', async () => {
    const p = await create({
      name: 'live',
      steps: [{ id: 'a', agent_id: agents.draftA, input: {} }],
    });
    const r = await trigger(p.id);
    const ev = await call('GET', `/pipelines/${p.id}/runs/${r.id}/events`);
    const types = parseSse(ev.body).map((e) => e.event);
    assert.deepEqual(types, [
      'pipeline.created',
      'pipeline.started',
      'pipeline.step.started',
      'pipeline.step.completed',
      'pipeline.completed',
    ]);
  });

  test('`when` false skips a step and what depends on it', async () => {
    const p = await create({
      name: 'when',
      steps: [
        { id: 'a', agent_id: agents.research, input: {} },
        { id: 'b', agent_id: agents.pick, depends_on: ['a'], when: 'input.deep = true', input: {} },
        { id: 'c', agent_id: agents.pick, depends_on: ['b'], input: {} },
      ],
    });
    const r = await until(p.id, (await trigger(p.id, { deep: false })).id, done);
    assert.equal(r.status, 'completed');
    assert.deepEqual(
      r.steps.map((s: any) => [s.id, s.status, s.run_ids.length]),
      [
        ['a', 'completed', 1],
        ['b', 'skipped', 0],
        ['c', 'skipped', 0],
      ],
    );
    const types = parseSse((await call('GET', `/pipelines/${p.id}/runs/${r.id}/events`)).body).map(
      (e) => e.data,
    );
    const skipped = types.filter((e) => e.type === 'pipeline.step.skipped');
    assert.deepEqual(
      skipped.map((e) => [e.step_id, e.reason]),
      [
        ['b', 'condition_false'],
        ['c', 'upstream_skipped'],
      ],
    );
  });

  test('a failing step is retried with backoff and then succeeds', async () => {
    const flaky = (
      await call('POST', '/agents', {
        name: 'flaky',
        model: 'mock/flaky',
        parameters: { mock_error: { code: 'overloaded', message: 'try later' } },
      })
    ).json().id;
    const p = await create({
      name: 'retry',
      steps: [{ id: 'a', agent_id: flaky, input: {}, retry: { max_attempts: 3, backoff_ms: 400 } }],
    });
    const prun = await trigger(p.id);
    await until(p.id, prun.id, (r) => r.steps[0].status === 'pending' && r.steps[0].attempts === 1);
    // the agent recovers: the next attempt snapshots its new configuration
    const fixed = await call('PATCH', `/agents/${flaky}`, { parameters: { mock_reply: 'fine now' } });
    assert.equal(fixed.statusCode, 200);
    const r = await until(p.id, prun.id, done);
    assert.equal(r.status, 'completed');
    assert.equal(r.steps[0].attempts, 2);
    assert.equal(r.steps[0].run_ids.length, 2);
    const first = (await call('GET', `/runs/${r.steps[0].run_ids[0]}`)).json();
    const second = (await call('GET', `/runs/${r.steps[0].run_ids[1]}`)).json();
    assert.equal(first.status, 'failed');
    assert.equal(second.status, 'completed');
    assert.ok(Date.parse(second.created_at) - Date.parse(first.completed_at) >= 350);
    assert.deepEqual(r.output, { a: { result: 'fine now' } });
  });

  test('a step that exhausts its retries fails the pipeline, with its error', async () => {
    const p = await create({
      name: 'fails',
      steps: [
        { id: 'a', agent_id: agents.broken, input: {}, retry: { max_attempts: 2, backoff_ms: 0 } },
        { id: 'b', agent_id: agents.pick, depends_on: ['a'], input: {} },
      ],
    });
    const r = await until(p.id, (await trigger(p.id)).id, done);
    assert.equal(r.status, 'failed');
    assert.equal(r.error.step_id, 'a');
    assert.equal(r.error.code, 'provider_error');
    assert.equal(stepOf(r, 'a').run_ids.length, 2);
    assert.equal(stepOf(r, 'b').run_ids.length, 0);
    assert.notEqual(stepOf(r, 'b').status, 'completed');
  });

  test('on_failure continue: the pipeline goes on and a join can opt in with `when`', async () => {
    const p = await create({
      name: 'continue',
      steps: [
        { id: 'a', agent_id: agents.research, input: {} },
        { id: 'b', agent_id: agents.broken, input: {}, on_failure: 'continue' },
        {
          id: 'c',
          agent_id: agents.pick,
          depends_on: ['a', 'b'],
          when: "steps.a.status = 'completed'",
          input: { b_failed: '{{ steps.b.status }}' },
        },
      ],
    });
    const r = await until(p.id, (await trigger(p.id)).id, done);
    assert.equal(r.status, 'completed', JSON.stringify(r));
    assert.equal(stepOf(r, 'b').status, 'failed');
    assert.deepEqual(stepOf(r, 'b').error, { code: 'provider_error', message: 'boom' });
    assert.equal(stepOf(r, 'c').status, 'completed');
    const c = (await call('GET', `/runs/${stepOf(r, 'c').run_ids[0]}`)).json();
    assert.deepEqual(c.input, { b_failed: 'failed' });
  });

  test('cancel: the running step run is cancelled, pending steps never start', async () => {
    const p = await create({
      name: 'cancel',
      steps: [
        { id: 'slow', agent_id: agents.slow, input: {} },
        { id: 'after', agent_id: agents.pick, depends_on: ['slow'], input: {} },
      ],
    });
    const prun = await trigger(p.id);
    const running = await until(p.id, prun.id, (r) => r.steps[0].status === 'running');
    const res = await call('POST', `/pipelines/${p.id}/runs/${prun.id}/cancel`);
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.json().status, 'cancelled');
    assert.deepEqual(
      res.json().steps.map((s: any) => s.status),
      ['cancelled', 'cancelled'],
    );
    const stepRunId = running.steps[0].run_ids[0];
    const end = Date.now() + 3000;
    let stepRun = (await call('GET', `/runs/${stepRunId}`)).json();
    while (stepRun.status !== 'cancelled' && Date.now() < end) {
      await new Promise((r) => setTimeout(r, 25));
      stepRun = (await call('GET', `/runs/${stepRunId}`)).json();
    }
    assert.equal(stepRun.status, 'cancelled');
    assert.equal(
      (await call('GET', `/runs?agent_id=${agents.pick}&limit=100`))
        .json()
        .data.filter((x: any) => x.pipeline_run_id === prun.id).length,
      0,
    );
    const again = await call('POST', `/pipelines/${p.id}/runs/${prun.id}/cancel`);
    assert.equal(again.statusCode, 200);
    const events = parseSse((await call('GET', `/pipelines/${p.id}/runs/${prun.id}/events`)).body);
    assert.equal(events.at(-1)?.event, 'pipeline.cancelled');
  });

  test('a step timeout bounds each attempt: the run times out, the step fails', async () => {
    const p = await create({
      name: 'timeout',
      steps: [{ id: 'a', agent_id: agents.slow, input: {}, timeout_ms: 200 }],
    });
    const r = await until(p.id, (await trigger(p.id)).id, done);
    assert.equal(r.status, 'failed');
    assert.equal(r.steps[0].error.code, 'run_timeout');
    const run = (await call('GET', `/runs/${r.steps[0].run_ids[0]}`)).json();
    assert.equal(run.status, 'timed_out');
  });

  test('a pipeline timeout ends the whole run timed_out: running steps cancelled, the rest never start', async () => {
    const p = await create({
      name: 'deadline',
      timeout_ms: 400,
      steps: [
        { id: 'quick', agent_id: agents.research, input: {} },
        { id: 'slow', agent_id: agents.slow, depends_on: ['quick'], input: {} },
        { id: 'after', agent_id: agents.pick, depends_on: ['slow'], input: {} },
      ],
    });
    assert.equal(p.timeout_ms, 400);
    const prun = await trigger(p.id);
    const r = await until(p.id, prun.id, done);
    assert.equal(r.status, 'timed_out');
    assert.equal(r.error.code, 'pipeline_timeout');
    assert.deepEqual(
      r.steps.map((s: any) => s.status),
      ['completed', 'cancelled', 'cancelled'],
    );
    assert.equal(stepOf(r, 'after').run_ids.length, 0);
    const slowRun = stepOf(r, 'slow').run_ids[0];
    const end = Date.now() + 3000;
    let run = (await call('GET', `/runs/${slowRun}`)).json();
    while (run.status !== 'cancelled' && Date.now() < end) {
      await new Promise((res) => setTimeout(res, 25));
      run = (await call('GET', `/runs/${slowRun}`)).json();
    }
    assert.equal(run.status, 'cancelled');
    const events = parseSse((await call('GET', `/pipelines/${p.id}/runs/${prun.id}/events`)).body);
    assert.equal(events.at(-1)?.event, 'pipeline.timed_out');
    const cancel = await call('POST', `/pipelines/${p.id}/runs/${prun.id}/cancel`);
    assert.equal(cancel.statusCode, 422);
  });

  test('at most 8 steps of a pipeline run execute at once', async () => {
    const steps = Array.from({ length: 10 }, (_, i) => ({ id: `s${i}`, agent_id: agents.draftA, input: {} }));
    const p = await create({ name: 'wide', steps });
    const r = await until(p.id, (await trigger(p.id)).id, done);
    assert.equal(r.status, 'completed');
    const spans = r.steps
      .map((s: any) => [Date.parse(s.started_at), Date.parse(s.completed_at)])
      .sort((a: number[], b: number[]) => a[0] - b[0]);
    const firstEnd = Math.min(...spans.slice(0, 8).map((x: number[]) => x[1]));
    for (const [start] of spans.slice(8))
      assert.ok(start >= firstEnd, 'a 9th step started before a slot freed');
  });

  test('a step whose agent was deleted after the definition fails the run', async () => {
    const doomed = (await call('POST', '/agents', { name: 'doomed', model: 'mock/doomed' })).json().id;
    const p = await create({ name: 'gone', steps: [{ id: 'a', agent_id: doomed, input: {} }] });
    await call('DELETE', `/agents/${doomed}`);
    const r = await until(p.id, (await trigger(p.id)).id, done);
    assert.equal(r.status, 'failed');
    assert.equal(r.steps[0].error.code, 'agent_not_found');
    assert.equal(r.error.code, 'agent_not_found');
  });

  test('PATCH makes a new version; a run already started keeps its own', async () => {
    const p = await create({
      name: 'versions',
      steps: [{ id: 'a', agent_id: agents.draftA, input: {} }],
    });
    const prun = await trigger(p.id);
    const patched = await call('PATCH', `/pipelines/${p.id}`, {
      steps: [{ id: 'z', agent_id: agents.research, input: {} }],
    });
    assert.equal(patched.statusCode, 200, patched.body);
    assert.equal(patched.json().version, 2);
    assert.equal(patched.json().name, 'versions');
    const old = await until(p.id, prun.id, done);
    assert.equal(old.pipeline_version, 1);
    assert.deepEqual(
      old.steps.map((s: any) => s.id),
      ['a'],
    );
    const fresh = await until(p.id, (await trigger(p.id)).id, done);
    assert.equal(fresh.pipeline_version, 2);
    assert.deepEqual(fresh.output, { z: { result: 'Fact: sky is blue.' } });
    const badPatch = await call('PATCH', `/pipelines/${p.id}`, {
      steps: [{ id: 'a', agent_id: 'ag_x', input: {} }],
    });
    assert.equal(badPatch.statusCode, 422);
    assert.equal(badPatch.json().error.param, 'steps[0].agent_id');
  });

  test('list, get, delete; another org sees 404', async () => {
    const p = await create({ name: 'crud', steps: [{ id: 'a', agent_id: agents.research, input: {} }] });
    const listed = (await call('GET', '/pipelines?limit=1')).json();
    assert.equal(listed.data.length, 1);
    assert.equal(listed.has_more, true);
    assert.equal((await call('GET', `/pipelines/${p.id}`)).json().name, 'crud');
    const other = await t.newOrg('business');
    const foreign = await t.app.inject({ url: `/v2/pipelines/${p.id}`, headers: bearer(other.key) });
    assert.equal(foreign.statusCode, 404);
    const del = await call('DELETE', `/pipelines/${p.id}`);
    assert.deepEqual(del.json(), { id: p.id, object: 'pipeline', deleted: true });
    assert.equal((await call('GET', `/pipelines/${p.id}`)).statusCode, 404);
  });

  test('scopes: pipelines:read cannot write', async () => {
    const ro = await t.newOrg('business', ['pipelines:read']);
    const res = await t.app.inject({
      method: 'POST',
      url: '/v2/pipelines',
      headers: bearer(ro.key),
      payload: { name: 'x', steps: [] },
    });
    assert.equal(res.statusCode, 403);
    const ok = await t.app.inject({ url: '/v2/pipelines', headers: bearer(ro.key) });
    assert.equal(ok.statusCode, 200);
  });
});

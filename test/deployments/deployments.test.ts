import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { bearer, createTestApp, forEachDb, type TestApp } from '../support/harness.ts';
import { parseSse } from '../support/sse.ts';

forEachDb('deployments: versions, validation, one active per environment, rollback, logs', (target) => {
  let t: TestApp;
  let key: string;
  before(async () => {
    t = await createTestApp(target);
    key = (await t.newOrg('business')).key;
  });
  after(() => t.close());

  const inject = (
    method: string,
    url: string,
    payload?: object,
    secret = key,
    headers: Record<string, string> = {},
  ) =>
    t.app.inject({
      method: method as 'GET',
      url,
      headers: { ...bearer(secret), ...headers },
      ...(payload && { payload }),
    });
  const agent = async (body: object = {}) =>
    (
      await inject('POST', '/v2/agents', {
        name: 'svc',
        model: 'mock/svc',
        parameters: { mock_reply: 'v-one' },
        ...body,
      })
    ).json().id as string;
  const deploy = async (agent_id: string, extra: object = {}) => {
    const res = await inject('POST', '/v2/deployments', { agent_id, ...extra });
    assert.equal(res.statusCode, 202, res.body);
    return res.json();
  };
  const get = async (id: string) => (await inject('GET', `/v2/deployments/${id}`)).json();
  const settled = async (id: string, ms = 10_000) => {
    const end = Date.now() + ms;
    for (;;) {
      const d = await get(id);
      if (d.status !== 'pending' && d.status !== 'validating') return d;
      if (Date.now() > end) throw new Error(`deployment ${id} stuck at ${d.status}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  const logs = async (id: string) => (await inject('GET', `/v2/deployments/${id}/logs`)).json().data as any[];
  const run = async (payload: object) => {
    const res = await inject('POST', '/v2/runs', payload);
    assert.equal(res.statusCode, 200, res.body);
    return res.json();
  };

  test('a deploy answers 202 pending, validates, and goes active with a frozen config snapshot', async () => {
    const id = await agent({ instructions: 'Be brief.', guardrails: 'baseline', metadata: { team: 'a' } });
    const d = await deploy(id, { description: 'first cut', metadata: { ticket: 'T-1' } });
    assert.match(d.id, /^dep_[0-9A-Z]{26}$/);
    assert.equal(d.object, 'deployment');
    assert.equal(d.status, 'pending');
    assert.equal(d.environment, 'production');
    assert.equal(d.version, 1);
    assert.equal(d.previous_deployment_id, null);
    assert.equal(d.activated_at, null);
    assert.equal(d.description, 'first cut');
    assert.deepEqual(d.metadata, { ticket: 'T-1' });
    assert.equal(d.config.model, 'mock/svc');
    assert.equal(d.config.instructions, 'Be brief.');
    assert.equal(d.config.guardrails, 'baseline');
    assert.deepEqual(d.config.parameters, { mock_reply: 'v-one' });
    const active = await settled(d.id);
    assert.equal(active.status, 'active');
    assert.ok(Date.parse(active.activated_at) >= Date.parse(active.created_at));
    assert.equal(active.failed_reason, null);
    const steps = (await logs(d.id)).map((l) => l.step);
    for (const s of ['config', 'model', 'guardrails', 'smoke_test', 'status'])
      assert.ok(steps.includes(s), s);

    await inject('PATCH', `/v2/agents/${id}`, { instructions: 'Be verbose.' });
    const d2 = await settled((await deploy(id)).id);
    assert.equal(d2.version, 2);
    assert.equal(d2.status, 'active');
    assert.equal(d2.previous_deployment_id, d.id);
    assert.equal(d2.config.instructions, 'Be verbose.');
    assert.equal(d2.config.agent_version, 2);
    const first = await get(d.id);
    assert.equal(first.status, 'superseded');
    assert.equal(first.config.instructions, 'Be brief.', 'a snapshot never changes');

    // environments are independent; versions are per agent
    const staging = await settled((await deploy(id, { environment: 'staging' })).id);
    assert.equal(staging.version, 3);
    assert.equal(staging.status, 'active');
    assert.equal(staging.previous_deployment_id, null);
    assert.equal((await get(d2.id)).status, 'active');

    const listed = (await inject('GET', `/v2/deployments?agent_id=${id}&environment=production`)).json();
    assert.deepEqual(
      listed.data.map((x: any) => x.id),
      [d2.id, d.id],
    );
    const onlyActive = (await inject('GET', `/v2/deployments?agent_id=${id}&status=active`)).json();
    assert.deepEqual(onlyActive.data.map((x: any) => x.id).sort(), [d2.id, staging.id].sort());
    const page = (
      await inject('GET', `/v2/deployments?agent_id=${id}&limit=1&starting_after=${staging.id}`)
    ).json();
    assert.deepEqual(
      page.data.map((x: any) => x.id),
      [d2.id],
    );
    assert.equal(page.has_more, true);
  });

  test('bad requests: environment name, unknown field, unknown agent', async () => {
    const id = await agent();
    for (const environment of ['Prod', '1st', 'a b', '', 'x'.repeat(64)]) {
      const res = await inject('POST', '/v2/deployments', { agent_id: id, environment });
      assert.equal(res.statusCode, 400, environment);
    }
    assert.equal((await inject('POST', '/v2/deployments', { agent_id: id, colour: 'red' })).statusCode, 400);
    const missing = await inject('POST', '/v2/deployments', { agent_id: 'ag_nope' });
    assert.equal(missing.statusCode, 404);
    assert.equal(missing.json().error.param, 'agent_id');
    assert.equal((await inject('GET', '/v2/deployments?status=done')).statusCode, 400);
  });

  test('10 concurrent deploys: distinct versions, exactly one active (the newest), the rest superseded', async () => {
    const id = await agent();
    const answers = await Promise.all(
      Array.from({ length: 10 }, () => inject('POST', '/v2/deployments', { agent_id: id })),
    );
    for (const a of answers) assert.equal(a.statusCode, 202, a.body);
    const versions = answers.map((a) => a.json().version).sort((x, y) => x - y);
    assert.deepEqual(versions, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    await Promise.all(answers.map((a) => settled(a.json().id)));
    const final = await Promise.all(answers.map((a) => get(a.json().id)));
    const active = final.filter((d) => d.status === 'active');
    assert.equal(active.length, 1);
    assert.equal(active[0].version, 10);
    assert.ok(final.every((d) => d.status === 'active' || d.status === 'superseded'));
    const listed = (await inject('GET', `/v2/deployments?agent_id=${id}&status=active`)).json();
    assert.equal(listed.data.length, 1);
  });

  test('a failing validation step fails the deployment and leaves the active one serving', async () => {
    const id = await agent();
    const good = await settled((await deploy(id)).id);
    assert.equal(good.status, 'active');

    // an unknown guardrail policy is refused up front: at the agent update, and at deploy when the
    // policy the agent names was deleted since
    const refused = await inject('PATCH', `/v2/agents/${id}`, { guardrails: 'made-up-policy' });
    assert.equal(refused.statusCode, 422);
    const policy = (await inject('POST', '/v2/guardrails/policies', { name: 'short-lived' })).json();
    await inject('PATCH', `/v2/agents/${id}`, { guardrails: policy.id });
    await inject('DELETE', `/v2/guardrails/policies/${policy.id}`);
    const badPolicy = await inject('POST', '/v2/deployments', { agent_id: id });
    assert.equal(badPolicy.statusCode, 422);
    assert.equal(badPolicy.json().error.code, 'unknown_guardrail_policy');

    await inject('PATCH', `/v2/agents/${id}`, { guardrails: null, model: 'openai/gpt-4.1-mini' });
    const unconfigured = await settled((await deploy(id)).id);
    assert.equal(unconfigured.status, 'failed');
    assert.match(unconfigured.failed_reason, /not configured/);

    assert.equal((await get(good.id)).status, 'active');
    const served = await run({ agent_id: id, input: { q: 1 } });
    assert.equal(served.deployment_id, good.id);
    assert.equal(served.output.result, 'v-one');
  });

  test('smoke test: a real run on the candidate config must complete and contain `expect`', async () => {
    const id = await agent({
      parameters: { mock_reply: 'All systems go' },
      smoke_test: { input: { q: 'ping' }, expect: 'go' },
    });
    const got = (await inject('GET', `/v2/agents/${id}`)).json();
    assert.deepEqual(got.smoke_test, { input: { q: 'ping' }, expect: 'go' });
    const passed = await settled((await deploy(id)).id);
    assert.equal(passed.status, 'active', passed.failed_reason);
    const lines = await logs(passed.id);
    const started = lines.find((l) => l.step === 'smoke_test' && /started/.test(l.message));
    assert.ok(started);
    const smokeRunId = /run_[0-9A-Z]{26}/.exec(started.message)![0];
    const smokeRun = (await inject('GET', `/v2/runs/${smokeRunId}`)).json();
    assert.equal(smokeRun.status, 'completed');
    assert.equal(smokeRun.deployment_id, passed.id);
    assert.ok(lines.some((l) => l.step === 'smoke_test' && /passed/.test(l.message)));

    // the output no longer contains the expected text
    await inject('PATCH', `/v2/agents/${id}`, { parameters: { mock_reply: 'All systems down' } });
    const wrong = await settled((await deploy(id)).id);
    assert.equal(wrong.status, 'failed');
    assert.match(wrong.failed_reason, /does not contain "go"/);

    // the run itself fails
    await inject('PATCH', `/v2/agents/${id}`, {
      parameters: { mock_error: { code: 'provider_error', message: 'boom' } },
    });
    const broken = await settled((await deploy(id)).id);
    assert.equal(broken.status, 'failed');
    assert.match(broken.failed_reason, /failed: provider_error: boom/);

    assert.equal((await get(passed.id)).status, 'active');

    // without `expect`, completing is enough; PATCH smoke_test: null removes it
    await inject('PATCH', `/v2/agents/${id}`, {
      parameters: { mock_reply: 'anything' },
      smoke_test: { input: { q: 'x' } },
    });
    assert.equal((await settled((await deploy(id)).id)).status, 'active');
    const cleared = (await inject('PATCH', `/v2/agents/${id}`, { smoke_test: null })).json();
    assert.equal(cleared.smoke_test, null);
  });

  test('rollback: only the active one (not_active), needs a predecessor (nothing_to_roll_back_to), restores it', async () => {
    const id = await agent();
    const v1 = await settled((await deploy(id)).id);
    const alone = await inject('POST', `/v2/deployments/${v1.id}/rollback`);
    assert.equal(alone.statusCode, 422);
    assert.equal(alone.json().error.code, 'nothing_to_roll_back_to');
    assert.equal((await get(v1.id)).status, 'active');

    const v2 = await settled((await deploy(id)).id);
    const old = await inject('POST', `/v2/deployments/${v1.id}/rollback`);
    assert.equal(old.statusCode, 422);
    assert.equal(old.json().error.code, 'not_active');

    const res = await inject('POST', `/v2/deployments/${v2.id}/rollback`);
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.json().id, v1.id);
    assert.equal(res.json().status, 'active');
    assert.equal((await get(v2.id)).status, 'rolled_back');
    const again = await inject('POST', `/v2/deployments/${v2.id}/rollback`);
    assert.equal(again.json().error.code, 'not_active');
    assert.ok((await logs(v2.id)).some((l) => l.step === 'rollback'));
    assert.ok((await logs(v1.id)).some((l) => l.step === 'rollback'));
    const activeNow = (await inject('GET', `/v2/deployments?agent_id=${id}&status=active`)).json();
    assert.deepEqual(
      activeNow.data.map((x: any) => x.id),
      [v1.id],
    );
  });

  test('runs are served by the active deployment: PATCH changes nothing until a deploy; rollback changes the next run', async () => {
    const id = await agent({ parameters: { mock_reply: 'v-one' } });
    const before = await run({ agent_id: id, input: {} });
    assert.equal(before.deployment_id, null, 'no deployment: the current configuration serves');

    const v1 = await settled((await deploy(id)).id);
    await inject('PATCH', `/v2/agents/${id}`, { parameters: { mock_reply: 'v-two' } });
    const pinned = await run({ agent_id: id, input: {} });
    assert.equal(pinned.deployment_id, v1.id);
    assert.equal(pinned.output.result, 'v-one', 'PATCH without deploy changes nothing');

    const elsewhere = await run({ agent_id: id, input: {}, environment: 'staging' });
    assert.equal(elsewhere.deployment_id, null);
    assert.equal(elsewhere.output.result, 'v-two');

    const v2 = await settled((await deploy(id)).id);
    const after2 = await run({ agent_id: id, input: {} });
    assert.equal(after2.deployment_id, v2.id);
    assert.equal(after2.output.result, 'v-two');

    await inject('POST', `/v2/deployments/${v2.id}/rollback`);
    const afterRollback = await run({ agent_id: id, input: {}, environment: 'production' });
    assert.equal(afterRollback.deployment_id, v1.id);
    assert.equal(afterRollback.output.result, 'v-one');

    const byId = await run({ agent_id: id, input: {}, deployment_id: v2.id });
    assert.equal(byId.deployment_id, v2.id);
    assert.equal(byId.output.result, 'v-two');

    const other = await agent();
    const mismatch = await inject('POST', '/v2/runs', { agent_id: other, input: {}, deployment_id: v1.id });
    assert.equal(mismatch.statusCode, 422);
    assert.equal(mismatch.json().error.code, 'deployment_agent_mismatch');

    // each served run is logged on its deployment
    const runtime = (await logs(v1.id)).filter((l) => l.step === 'runtime');
    assert.ok(runtime.some((l) => l.message === `Run ${pinned.id} started`));
    const finished = async () =>
      (await logs(v1.id)).some((l) => l.message.startsWith(`Run ${afterRollback.id} finished`));
    for (let i = 0; i < 100 && !(await finished()); i++) await new Promise((r) => setTimeout(r, 20));
    assert.ok(await finished());
  });

  test('logs: JSON lines with sequence numbers; SSE replays from Last-Event-ID and ends at a final status', async () => {
    const id = await agent({ model: 'openai/gpt-4.1-mini' });
    const d = await deploy(id);
    const sse = await inject('GET', `/v2/deployments/${d.id}/logs`, undefined, key, {
      accept: 'text/event-stream',
    });
    assert.equal(sse.statusCode, 200);
    assert.match(String(sse.headers['content-type']), /text\/event-stream/);
    const events = parseSse(sse.body);
    assert.deepEqual(
      events.map((e) => Number(e.id)),
      events.map((_, i) => i + 1),
    );
    const last = events.at(-1)!;
    assert.equal(last.event, 'deployment.status');
    assert.equal(last.data.status, 'failed');
    assert.ok(events.some((e) => e.event === 'deployment.log' && e.data.step === 'model'));
    for (const e of events) assert.equal(e.data.type, e.event);

    const json = (await inject('GET', `/v2/deployments/${d.id}/logs`)).json();
    assert.equal(json.object, 'list');
    assert.deepEqual(
      json.data.map((l: any) => l.sequence_number),
      events.map((e) => e.data.sequence_number),
    );
    for (const l of json.data)
      assert.deepEqual(Object.keys(l).sort(), ['level', 'message', 'sequence_number', 'step', 'ts']);
    const tail = (await inject('GET', `/v2/deployments/${d.id}/logs?starting_after=2&limit=1`)).json();
    assert.equal(tail.data[0].sequence_number, 3);
    assert.equal(tail.has_more, true);

    const resumed = parseSse(
      (
        await inject('GET', `/v2/deployments/${d.id}/logs`, undefined, key, {
          accept: 'text/event-stream',
          'last-event-id': '2',
        })
      ).body,
    );
    assert.deepEqual(
      resumed.map((e) => e.data.sequence_number),
      events.slice(2).map((e) => e.data.sequence_number),
    );

    // an active deployment: follow=false ends after the replay
    const ok = await agent();
    const active = await settled((await deploy(ok)).id);
    const replay = parseSse(
      (
        await inject('GET', `/v2/deployments/${active.id}/logs?follow=false`, undefined, key, {
          accept: 'text/event-stream',
        })
      ).body,
    );
    assert.equal(replay.at(-1)!.data.status, 'active');
  });

  test('SSE follows a deployment live from pending to its end', async () => {
    const id = await agent({
      parameters: { mock_reply: 'ok', mock_latency_ms: 200 },
      smoke_test: { input: {}, expect: 'nope' },
    });
    const d = await deploy(id);
    const sse = parseSse(
      (await inject('GET', `/v2/deployments/${d.id}/logs`, undefined, key, { accept: 'text/event-stream' }))
        .body,
    );
    const statuses = sse.filter((e) => e.event === 'deployment.status').map((e) => e.data.status);
    assert.deepEqual(statuses, ['pending', 'validating', 'failed']);
    assert.ok(sse.some((e) => e.data.step === 'smoke_test' && /started/.test(e.data.message)));
  });

  test('Idempotency-Key: a retried deploy answers the same deployment, creating one version', async () => {
    const id = await agent();
    const headers = { 'idempotency-key': `dep-${id}` };
    const a = await inject('POST', '/v2/deployments', { agent_id: id }, key, headers);
    const b = await inject('POST', '/v2/deployments', { agent_id: id }, key, headers);
    assert.equal(a.statusCode, 202);
    assert.equal(b.statusCode, 202);
    assert.equal(b.headers['idempotent-replayed'], 'true');
    assert.equal(b.json().id, a.json().id);
    assert.equal((await inject('GET', `/v2/deployments?agent_id=${id}`)).json().data.length, 1);
  });

  test('a validation interrupted by a crash is picked up again when the workers start', async () => {
    const id = await agent({ smoke_test: { input: { q: 'ping' } } });
    await t.resources.queue.stop(0);
    const d = await deploy(id);
    // as a worker that died mid-validation leaves it: validating, its job locked by the dead worker
    await t.resources.db.kysely
      .updateTable('deployments')
      .set({ status: 'validating' })
      .where('id', '=', d.id)
      .execute();
    await t.resources.db.kysely
      .updateTable('jobs')
      .set({ locked_by: 'wrk_dead', locked_at: Date.now() })
      .where('ref_id', '=', d.id)
      .execute();
    assert.equal((await get(d.id)).status, 'validating');
    await t.resources.start();
    const done = await settled(d.id);
    assert.equal(done.status, 'active', done.failed_reason);
    assert.ok((await logs(d.id)).some((l) => l.step === 'smoke_test' && /passed/.test(l.message)));
  });

  test('scopes and tenancy: read-only keys cannot deploy; another organization gets 404', async () => {
    const id = await agent();
    const d = await settled((await deploy(id)).id);
    const reader = await t.newOrg('business', ['deployments:read', 'agents:read']);
    assert.equal((await inject('GET', `/v2/deployments/${d.id}`, undefined, reader.key)).statusCode, 404);
    assert.equal(
      (await inject('GET', `/v2/deployments/${d.id}/logs`, undefined, reader.key)).statusCode,
      404,
    );
    assert.equal(
      (await inject('POST', `/v2/deployments/${d.id}/rollback`, undefined, reader.key)).statusCode,
      403,
    );
    const foreignAgent = await inject('POST', '/v2/deployments', { agent_id: id }, reader.key);
    assert.equal(foreignAgent.statusCode, 403);
    const writer = await t.newOrg('business');
    assert.equal(
      (await inject('POST', `/v2/deployments/${d.id}/rollback`, undefined, writer.key)).statusCode,
      404,
    );
    assert.equal((await inject('POST', '/v2/deployments', { agent_id: id }, writer.key)).statusCode, 404);
    assert.equal((await inject('GET', '/v2/deployments', undefined, writer.key)).json().data.length, 0);
    const runWithForeign = await inject(
      'POST',
      '/v2/runs',
      {
        agent_id: (await inject('POST', '/v2/agents', { name: 'w', model: 'mock/w' }, writer.key)).json().id,
        input: {},
        deployment_id: d.id,
      },
      writer.key,
    );
    assert.equal(runWithForeign.statusCode, 404);
  });
});

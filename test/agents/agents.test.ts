import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { bearer, createTestApp, DEMO_KEY, forEachDb, type TestApp } from '../support/harness.ts';

forEachDb('agents: create, read, list, update with versions, delete', (target) => {
  let t: TestApp;
  let key: string;
  before(async () => {
    t = await createTestApp(target);
    key = (await t.newOrg('developer')).key;
  });
  after(() => t.close());

  const create = (body: object, secret = key) =>
    t.app.inject({ method: 'POST', url: '/v2/agents', headers: bearer(secret), payload: body });

  test('create returns the full agent at version 1', async () => {
    const res = await create({
      name: 'Analyst',
      model: 'mock/analyst',
      instructions: 'Be brief.',
      parameters: { temperature: 0.2, max_output_tokens: 200 },
      tools: ['calculator'],
      guardrails: 'baseline',
      metadata: { team: 'finance' },
    });
    assert.equal(res.statusCode, 201);
    const a = res.json();
    assert.match(a.id, /^ag_[0-9A-Z]{26}$/);
    assert.equal(a.object, 'agent');
    assert.equal(a.version, 1);
    assert.deepEqual(a.parameters, { temperature: 0.2, max_output_tokens: 200 });
    assert.deepEqual(a.tools, ['calculator']);
    assert.equal(a.guardrails, 'baseline');
    assert.deepEqual(a.metadata, { team: 'finance' });
    assert.equal(a.created_at, a.updated_at);
    const got = await t.app.inject({ url: `/v2/agents/${a.id}`, headers: bearer(key) });
    assert.deepEqual(got.json(), a);
  });

  test('unknown provider or malformed model id → 422 unknown_model; bad sizes → 400', async () => {
    for (const model of ['gpt-4', 'nosuch/model', 'openai/', '/x', 'openai/has space']) {
      const res = await create({ name: 'x', model });
      assert.equal(res.statusCode, 422, model);
      assert.equal(res.json().error.code, 'unknown_model');
      assert.equal(res.json().error.param, 'model');
    }
    assert.equal((await create({ name: '', model: 'mock/x' })).statusCode, 400);
    assert.equal(
      (await create({ name: 'x', model: 'mock/x', parameters: { temperature: 3 } })).json().error.param,
      'parameters.temperature',
    );
    assert.equal(
      (await create({ name: 'x', model: 'mock/x', instructions: 'x'.repeat(100_001) })).statusCode,
      400,
    );
  });

  test('PATCH bumps the version and changes only what it names', async () => {
    const a = (await create({ name: 'v', model: 'mock/v', instructions: 'one' })).json();
    const res = await t.app.inject({
      method: 'PATCH',
      url: `/v2/agents/${a.id}`,
      headers: bearer(key),
      payload: { instructions: 'two' },
    });
    assert.equal(res.statusCode, 200);
    assert.equal(res.json().version, 2);
    assert.equal(res.json().instructions, 'two');
    assert.equal(res.json().name, 'v');
    const again = await t.app.inject({
      method: 'PATCH',
      url: `/v2/agents/${a.id}`,
      headers: bearer(key),
      payload: { model: 'bad' },
    });
    assert.equal(again.statusCode, 422);
    assert.equal((await t.app.inject({ url: `/v2/agents/${a.id}`, headers: bearer(key) })).json().version, 2);
    const empty = await t.app.inject({
      method: 'PATCH',
      url: `/v2/agents/${a.id}`,
      headers: bearer(key),
      payload: {},
    });
    assert.equal(empty.statusCode, 400);
  });

  test('DELETE removes it from reads, lists and new runs, but its runs stay readable', async () => {
    const a = (await create({ name: 'gone', model: 'mock/gone' })).json();
    const run = (
      await t.app.inject({
        method: 'POST',
        url: '/v2/runs',
        headers: bearer(key),
        payload: { agent_id: a.id, input: { q: 'x' } },
      })
    ).json();
    assert.equal(run.status, 'completed');
    const del = await t.app.inject({ method: 'DELETE', url: `/v2/agents/${a.id}`, headers: bearer(key) });
    assert.deepEqual(del.json(), { id: a.id, object: 'agent', deleted: true });
    assert.equal((await t.app.inject({ url: `/v2/agents/${a.id}`, headers: bearer(key) })).statusCode, 404);
    const listed = (await t.app.inject({ url: '/v2/agents?limit=100', headers: bearer(key) })).json();
    assert.ok(!listed.data.some((x: { id: string }) => x.id === a.id));
    const newRun = await t.app.inject({
      method: 'POST',
      url: '/v2/runs',
      headers: bearer(key),
      payload: { agent_id: a.id, input: {} },
    });
    assert.equal(newRun.statusCode, 404);
    assert.equal(newRun.json().error.param, 'agent_id');
    assert.equal(
      (await t.app.inject({ url: `/v2/runs/${run.id}`, headers: bearer(key) })).json().status,
      'completed',
    );
  });

  test('lists are newest first with cursors, and scoped to the organization', async () => {
    const org = await t.newOrg('developer');
    const ids: string[] = [];
    for (let i = 0; i < 3; i++)
      ids.push((await create({ name: `l${i}`, model: 'mock/l' }, org.key)).json().id);
    const page = (await t.app.inject({ url: '/v2/agents?limit=2', headers: bearer(org.key) })).json();
    assert.deepEqual(
      page.data.map((a: { id: string }) => a.id),
      [ids[2], ids[1]],
    );
    assert.equal(page.has_more, true);
    assert.equal((await t.app.inject({ url: `/v2/agents/${ids[0]}`, headers: bearer(key) })).statusCode, 404);
  });

  test('the demo agent of the quickstart exists for the demo key', async () => {
    const res = await t.app.inject({ url: '/v2/agents/ag_01HXYZ', headers: bearer(DEMO_KEY) });
    assert.equal(res.statusCode, 200);
    assert.match(res.json().model, /^mock\//);
  });
});

/**
 * Sync runs executed inline (run-executor.ts): what a user can observe of them. A short run is
 * stored whole when it ends, with all its events; a long one is stored `running` early and is then
 * visible, listable and cancellable like any run; one with tools is stored before it calls one.
 * Plus the group commit under them: runs ending together commit together, and a failing write
 * fails alone.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createGroupCommit } from '../../src/infra/db/group-commit.ts';
import { bearer, createTestApp, forEachDb, type TestApp } from '../support/harness.ts';

forEachDb('runs: sync runs executed inline, stored by group commit', (target) => {
  let t: TestApp;
  let key: string;
  const agents: Record<string, string> = {};
  before(async () => {
    t = await createTestApp(target, { env: { AIRMY_WORKER_CONCURRENCY: '4' } });
    key = (await t.newOrg('business')).key;
    const make = (name: string, fields: Record<string, unknown>) => t.newAgent(key, name, fields);
    agents.fast = await make('fast', { parameters: { mock_reply: 'Four.' } });
    agents.slow = await make('slow', { parameters: { mock_latency_ms: 3000 } });
    agents.tools = await make('tooled', { tools: ['calculator'], parameters: { mock_latency_ms: 3000 } });
  });
  after(() => t.close());

  const post = (payload: object) =>
    t.app.inject({ method: 'POST', url: '/v2/runs', headers: bearer(key), payload });
  const get = (url: string) => t.app.inject({ url, headers: bearer(key) }).then((r) => r.json());
  const listRunning = async (agentId: string) => {
    for (let i = 0; i < 100; i++) {
      const list = await get(`/v2/runs?agent_id=${agentId}&status=running`);
      if (list.data.length) return list.data;
      await new Promise((r) => setTimeout(r, 20));
    }
    return [];
  };

  test('a short sync run is stored whole: row, its three events in order, its metrics', async () => {
    const res = await post({ agent_id: agents.fast, input: { q: 'two plus two' } });
    assert.equal(res.statusCode, 200);
    const run = res.json();
    assert.equal(run.status, 'completed');
    const stored = await get(`/v2/runs/${run.id}`);
    assert.deepEqual(stored, run);
    const events = await t.app.inject({
      url: `/v2/runs/${run.id}/events`,
      headers: bearer(key),
    });
    const types = [...events.body.matchAll(/^event: (.+)$/gm)].map((m) => m[1]);
    assert.deepEqual(types, ['run.created', 'run.started', 'run.completed']);
    const ids = [...events.body.matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1]));
    assert.deepEqual(ids, [1, 2, 3]);
    const metrics = await get(`/v2/metrics?metric=runs&interval=1h&agent_id=${agents.fast}`);
    const counted = metrics.series[0].points.reduce((n: number, p: { value: number }) => n + p.value, 0);
    assert.equal(counted, 1);
  });

  test('many concurrent sync runs all complete and are all stored', async () => {
    const answers = await Promise.all(
      Array.from({ length: 40 }, (_, i) => post({ agent_id: agents.fast, input: { i } })),
    );
    for (const a of answers) assert.equal(a.json().status, 'completed');
    const ids = new Set(answers.map((a) => a.json().id));
    assert.equal(ids.size, 40);
    const listed = await get(`/v2/runs?agent_id=${agents.fast}&limit=100`);
    for (const id of ids)
      assert.ok(
        listed.data.some((r: { id: string }) => r.id === id),
        `${id} listed`,
      );
  });

  test('a long sync run is visible as running while the caller waits, and can be cancelled', async () => {
    const pending = post({ agent_id: agents.slow, input: { q: 'take your time' } });
    const [running] = await listRunning(agents.slow);
    assert.ok(running, 'the run shows up as running while its sync caller waits');
    const cancel = await t.app.inject({
      method: 'DELETE',
      url: `/v2/runs/${running.id}`,
      headers: bearer(key),
    });
    assert.equal(cancel.json().status, 'cancelled');
    const answer = (await pending).json();
    assert.equal(answer.id, running.id);
    assert.equal(answer.status, 'cancelled');
  });

  test('a run with tools is stored before it can call one', async () => {
    const pending = post({ agent_id: agents.tools, input: { q: 'what is 6*7' } });
    const [running] = await listRunning(agents.tools);
    assert.ok(running, 'stored as running');
    await t.app.inject({ method: 'DELETE', url: `/v2/runs/${running.id}`, headers: bearer(key) });
    assert.equal((await pending).json().status, 'cancelled');
  });

  test('group commit: units submitted together share a transaction; a failing one fails alone', async () => {
    const db = t.resources.db.kysely;
    let transactions = 0;
    const commits = createGroupCommit<string[]>(db, {
      begin: () => [],
      end: async () => {
        transactions++;
      },
    });
    const insertJob = (trx: typeof db, id: string) =>
      trx
        .insertInto('jobs')
        .values({
          id,
          kind: 'group-commit-test',
          ref_id: id,
          run_at: 0,
          locked_by: 'nobody',
          locked_at: 0,
          attempts: 0,
          created_at: 0,
        })
        .execute();
    const insert = (id: string) => commits.submit((trx) => insertJob(trx, id).then(() => id));
    const outcomes = await Promise.allSettled([
      commits.submit(async (trx, ctx) => {
        ctx.push('a');
        await insertJob(trx, 'job_gc_a');
      }),
      insert('job_gc_b'),
      insert('job_gc_b'), // duplicate primary key: this one fails
      insert('job_gc_c'),
    ]);
    assert.deepEqual(
      outcomes.map((o) => o.status),
      ['fulfilled', 'fulfilled', 'rejected', 'fulfilled'],
    );
    const stored = await db
      .selectFrom('jobs')
      .select('id')
      .where('kind', '=', 'group-commit-test')
      .orderBy('id')
      .execute();
    assert.deepEqual(
      stored.map((r) => r.id),
      ['job_gc_a', 'job_gc_b', 'job_gc_c'],
    );
    await db.deleteFrom('jobs').where('kind', '=', 'group-commit-test').execute();
    assert.ok(transactions >= 1);
  });
});

/**
 * A job whose handler keeps failing (a bug, a lasting fault) must not leave what it stood for
 * pending forever: after the last retry the queue gives up, and the run (or deployment) ends
 * `failed` with an error a user can read.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { JobRow } from '../../src/infra/db/schema.ts';
import { createDbQueue } from '../../src/infra/queue/queue.ts';
import { bearer, createTestApp, FakeClock, forEachDb, type TestApp } from '../support/harness.ts';

forEachDb('queue: a job that keeps failing is given up, and its work ends failed', (target) => {
  let t: TestApp;
  let key: string;
  before(async () => {
    t = await createTestApp(target, { env: { AIRMY_WORKER_CONCURRENCY: '1' } });
    key = (await t.newOrg('business')).key;
  });
  after(() => t.close());

  test('after five failed attempts with backoff, giveUp runs once and the job is gone', async () => {
    const clock = new FakeClock();
    const db = t.resources.db;
    let ids = 0;
    const queue = createDbQueue({
      db,
      nodes: t.resources.nodes,
      ids: (prefix) => `${prefix}_giveup_${ids++}`,
      clock,
      concurrency: 1,
      pollMs: 10,
    });
    const attempts: number[] = [];
    const givenUp: JobRow[] = [];
    await queue.start(
      {
        boom: async (job) => {
          attempts.push(job.attempts);
          throw new Error('always fails');
        },
      },
      { boom: async (job) => void givenUp.push(job) },
    );
    try {
      await db.kysely.transaction().execute((trx) => queue.enqueue(trx, { kind: 'boom', ref_id: 'x' }));
      queue.notify();
      for (let i = 0; i < 400 && givenUp.length === 0; i++) {
        clock.advance(30_000); // past each retry's backoff
        await new Promise((r) => setTimeout(r, 15));
      }
      assert.deepEqual(attempts, [0, 1, 2, 3, 4]);
      assert.equal(givenUp.length, 1);
      assert.equal(givenUp[0].ref_id, 'x');
      // the job is deleted just after giveUp returns: wait for that write, boundedly
      const left = () => db.kysely.selectFrom('jobs').select('id').where('kind', '=', 'boom').execute();
      for (let i = 0; i < 100 && (await left()).length > 0; i++) await new Promise((r) => setTimeout(r, 10));
      assert.deepEqual(await left(), []);
    } finally {
      await queue.stop(100);
    }
  });

  test('a run given up on is failed with run_error, and stays so', async () => {
    const agent = (
      await t.app.inject({
        method: 'POST',
        url: '/v2/agents',
        headers: bearer(key),
        payload: { name: 'slow', model: 'mock/slow', parameters: { mock_latency_ms: 3000 } },
      })
    ).json().id;
    const post = () =>
      t.app.inject({
        method: 'POST',
        url: '/v2/runs',
        headers: bearer(key),
        payload: { agent_id: agent, input: {}, background: true },
      });
    const blocker = (await post()).json(); // takes the only worker slot
    const queued = (await post()).json();
    assert.equal(queued.status, 'queued');
    const job = await t.resources.db.kysely
      .selectFrom('jobs')
      .selectAll()
      .where('ref_id', '=', queued.id)
      .executeTakeFirstOrThrow();
    await t.resources.executor.giveUp(job);
    const run = (await t.app.inject({ url: `/v2/runs/${queued.id}`, headers: bearer(key) })).json();
    assert.equal(run.status, 'failed');
    assert.equal(run.error.code, 'run_error');
    const left = await t.resources.db.kysely
      .selectFrom('jobs')
      .select('id')
      .where('ref_id', '=', queued.id)
      .execute();
    assert.deepEqual(left, []);
    await t.app.inject({ method: 'DELETE', url: `/v2/runs/${blocker.id}`, headers: bearer(key) });
  });

  test('a pipeline run given up on is failed with pipeline_error; its running step run is cancelled', async () => {
    const agent = await t.newAgent(key, 'slow-step', { parameters: { mock_latency_ms: 5000 } });
    const call = (method: string, url: string, payload?: object) =>
      t.app.inject({ method, url, headers: bearer(key), payload }).then((r) => r.json());
    const pipeline = await call('POST', '/v2/pipelines', {
      name: 'stuck',
      steps: [{ id: 'only', agent_id: agent, input: { q: 'x' } }],
    });
    const prun = await call('POST', `/v2/pipelines/${pipeline.id}/trigger`, { input: {} });
    let stepRun: string | undefined;
    for (let i = 0; i < 200 && !stepRun; i++) {
      const now = await call('GET', `/v2/pipelines/${pipeline.id}/runs/${prun.id}`);
      stepRun = now.steps.find((s: { id: string }) => s.id === 'only')?.run_ids[0];
      if (!stepRun) await new Promise((r) => setTimeout(r, 20));
    }
    assert.ok(stepRun, 'the step started');
    const job = {
      id: 'job_giveup_pipeline',
      kind: 'pipeline',
      ref_id: prun.id,
      run_at: 0,
      locked_by: null,
      locked_at: null,
      attempts: 4,
      created_at: 0,
    };
    await t.resources.pipelineEngine.giveUp(job);
    const after = await call('GET', `/v2/pipelines/${pipeline.id}/runs/${prun.id}`);
    assert.equal(after.status, 'failed');
    assert.equal(after.error.code, 'pipeline_error');
    assert.equal(after.steps[0].status, 'cancelled');
    for (let i = 0; i < 100; i++) {
      if ((await call('GET', `/v2/runs/${stepRun}`)).status === 'cancelled') break;
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal((await call('GET', `/v2/runs/${stepRun}`)).status, 'cancelled');
  });
});

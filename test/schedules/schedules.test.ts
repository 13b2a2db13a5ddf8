import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { bearer, createTestApp, FakeClock, forEachDb, type TestApp } from '../support/harness.ts';

const MIN = 60_000;

forEachDb(
  'pipeline schedules: cron in a time zone, fired once per tick as ordinary pipeline runs',
  (target) => {
    let t: TestApp;
    let key: string;
    let other: string;
    let agent: string;
    let pipelineId: string;
    // Friday 2026-12-04 12:00 UTC
    const clock = new FakeClock(Date.parse('2026-12-04T12:00:00Z'));
    before(async () => {
      t = await createTestApp(target, { clock });
      key = (await t.newOrg('business')).key;
      other = (await t.newOrg('business')).key;
      agent = await t.newAgent(key, 'sched', { parameters: { mock_reply: 'tick' } });
      pipelineId = (await call('POST', '/pipelines', oneStep('nightly'))).json().id;
    });
    after(() => t.close());

    const oneStep = (name: string, extra: object = {}) => ({
      name,
      steps: [{ id: 'a', agent_id: agent, input: { q: '{{ input.q }}' } }],
      ...extra,
    });
    const call = (method: string, url: string, payload?: object, as = key) =>
      t.app.inject({ method: method as 'GET', url: `/v2${url}`, headers: bearer(as), payload });
    const schedule = async (body: object, pid = pipelineId) => {
      const res = await call('POST', `/pipelines/${pid}/schedules`, body);
      assert.equal(res.statusCode, 201, res.body);
      return res.json();
    };
    const runsOf = async (pid = pipelineId) =>
      (await call('GET', `/pipelines/${pid}/runs?limit=100`)).json().data;
    /** advances the fake clock and waits until the schedule's latest tick is `iso` */
    const fireUntil = async (pid: string, sid: string, pred: (s: any) => boolean) => {
      t.resources.queue.notify();
      const end = Date.now() + 15_000;
      for (;;) {
        const s = (await call('GET', `/pipelines/${pid}/schedules/${sid}`)).json();
        if (pred(s)) return s;
        if (Date.now() > end) throw new Error(`schedule ${sid} did not fire: ${JSON.stringify(s)}`);
        await new Promise((r) => setTimeout(r, 25));
        t.resources.queue.notify();
      }
    };

    test('bad cron, bad zone: 422 naming the field; unknown fields: 400; nothing stored', async () => {
      const cases: [object, string, string][] = [
        [{ cron: '0 25 * * *' }, 'cron', 'invalid_cron'],
        [{ cron: '0 9 * * * *' }, 'cron', 'invalid_cron'],
        [{ cron: '0 0 30 2 *' }, 'cron', 'invalid_cron'],
        [{ cron: '0 9 * * 1-5', timezone: 'Mars/Olympus' }, 'timezone', 'invalid_timezone'],
      ];
      for (const [body, param, code] of cases) {
        const res = await call('POST', `/pipelines/${pipelineId}/schedules`, body);
        // the schema takes any cron-length string: what it means is checked after, as a 422
        assert.equal(res.statusCode, 422, res.body);
        assert.equal(res.json().error.param, param);
        assert.equal(res.json().error.code, code);
      }
      const extra = await call('POST', `/pipelines/${pipelineId}/schedules`, { cron: '0 9 * * *', every: 1 });
      assert.equal(extra.statusCode, 400);
      const list = (await call('GET', `/pipelines/${pipelineId}/schedules`)).json();
      assert.deepEqual(list.data, []);
    });

    test("another organization's pipeline is 404, its schedules invisible", async () => {
      const s = await schedule({ cron: '0 3 * * *', enabled: false });
      const res = await call('POST', `/pipelines/${pipelineId}/schedules`, { cron: '0 9 * * *' }, other);
      assert.equal(res.statusCode, 404);
      assert.equal(
        (await call('GET', `/pipelines/${pipelineId}/schedules/${s.id}`, undefined, other)).statusCode,
        404,
      );
      assert.equal(
        (await call('GET', `/pipelines/${pipelineId}/schedules`, undefined, other)).statusCode,
        404,
      );
      const del = await call('DELETE', `/pipelines/${pipelineId}/schedules/${s.id}`, undefined, other);
      assert.equal(del.statusCode, 404);
      assert.equal((await call('DELETE', `/pipelines/${pipelineId}/schedules/${s.id}`)).statusCode, 200);
    });

    test('an input the pipeline refuses is 422 at create, not at the first tick', async () => {
      const pid = (
        await call(
          'POST',
          '/pipelines',
          oneStep('typed', {
            input_schema: { type: 'object', required: ['q'], properties: { q: { type: 'string' } } },
          }),
        )
      ).json().id;
      const res = await call('POST', `/pipelines/${pid}/schedules`, { cron: '0 9 * * *', input: { q: 7 } });
      assert.equal(res.statusCode, 422, res.body);
    });

    test('next_run_at reads the cron in its zone; a tick becomes a pipeline run with its trigger', async () => {
      const s = await schedule({ cron: '0 9 * * 1-5', timezone: 'Europe/Berlin', input: { q: 'standup' } });
      // Friday 12:00 UTC → Monday 09:00 in Berlin (CET, UTC+1)
      assert.equal(s.next_run_at, '2026-12-07T08:00:00.000Z');
      assert.equal(s.enabled, true);
      clock.t = Date.parse('2026-12-07T08:00:05Z');
      const fired = await fireUntil(pipelineId, s.id, (x) => x.last_runs.length === 1);
      assert.equal(fired.last_runs[0].scheduled_for, '2026-12-07T08:00:00.000Z');
      assert.equal(fired.next_run_at, '2026-12-08T08:00:00.000Z');
      const run = (await runsOf()).find((r: any) => r.id === fired.last_runs[0].pipeline_run_id);
      assert.deepEqual(run.trigger, {
        type: 'schedule',
        schedule_id: s.id,
        scheduled_for: '2026-12-07T08:00:00.000Z',
      });
      assert.deepEqual(run.input, { q: 'standup' });
      await call('PATCH', `/pipelines/${pipelineId}/schedules/${s.id}`, { enabled: false });
    });

    test('after downtime the latest missed tick fires once, never a flood', async () => {
      const pid = (await call('POST', '/pipelines', oneStep('every-minute'))).json().id;
      const s = await schedule({ cron: '* * * * *' }, pid);
      const first = Date.parse(s.next_run_at);
      clock.t = first + 90 * MIN + 20_000; // 90 ticks missed
      const fired = await fireUntil(pid, s.id, (x) => x.last_runs.length >= 1);
      assert.equal(fired.last_runs.length, 1);
      assert.equal(fired.last_runs[0].scheduled_for, new Date(first + 90 * MIN).toISOString());
      assert.equal(fired.next_run_at, new Date(first + 91 * MIN).toISOString());
      assert.equal((await runsOf(pid)).length, 1);
      await call('PATCH', `/pipelines/${pid}/schedules/${s.id}`, { enabled: false });
    });

    test('concurrent workers racing for one tick start exactly one run', async () => {
      const pid = (await call('POST', '/pipelines', oneStep('raced'))).json().id;
      const s = await schedule({ cron: '*/5 * * * *' }, pid);
      const job = await t.resources.db.kysely
        .selectFrom('jobs')
        .selectAll()
        .where('ref_id', '=', s.id)
        .executeTakeFirstOrThrow();
      clock.t = Date.parse(s.next_run_at) + 1000;
      const schedules = t.resources.services.schedules;
      await Promise.all([schedules.fire(job), schedules.fire(job), schedules.fire(job), schedules.fire(job)]);
      t.resources.queue.notify();
      const fired = await fireUntil(pid, s.id, (x) => x.last_runs.length === 1);
      assert.equal((await runsOf(pid)).length, 1);
      assert.equal(fired.next_run_at, new Date(Date.parse(s.next_run_at) + 5 * MIN).toISOString());
      await call('PATCH', `/pipelines/${pid}/schedules/${s.id}`, { enabled: false });
    });

    test('pause clears next_run_at and fires nothing; resume starts from now', async () => {
      const pid = (await call('POST', '/pipelines', oneStep('paused'))).json().id;
      const s = await schedule({ cron: '0 * * * *' }, pid);
      const paused = (await call('PATCH', `/pipelines/${pid}/schedules/${s.id}`, { enabled: false })).json();
      assert.equal(paused.enabled, false);
      assert.equal(paused.next_run_at, null);
      clock.advance(3 * 60 * MIN);
      t.resources.queue.notify();
      await new Promise((r) => setTimeout(r, 300));
      assert.equal((await runsOf(pid)).length, 0);
      const resumed = (await call('PATCH', `/pipelines/${pid}/schedules/${s.id}`, { enabled: true })).json();
      const nextHour = Math.ceil((clock.t + 1) / (60 * MIN)) * 60 * MIN;
      assert.equal(resumed.next_run_at, new Date(nextHour).toISOString());
      const del = await call('DELETE', `/pipelines/${pid}/schedules/${s.id}`);
      assert.deepEqual(del.json(), { id: s.id, object: 'pipeline_schedule', deleted: true });
      clock.t = nextHour + 1000;
      t.resources.queue.notify();
      await new Promise((r) => setTimeout(r, 300));
      assert.equal((await runsOf(pid)).length, 0);
      assert.equal((await call('GET', `/pipelines/${pid}/schedules/${s.id}`)).statusCode, 404);
    });

    test('DST: a fixed time in the spring-forward gap runs after it; in the autumn repeat, once', async () => {
      const pid = (await call('POST', '/pipelines', oneStep('dst'))).json().id;
      clock.t = Date.parse('2027-03-27T12:00:00Z');
      const s = await schedule({ cron: '30 2 * * *', timezone: 'Europe/Berlin' }, pid);
      // 2027-03-28 02:00 CET jumps to 03:00 CEST: 02:30 does not exist, it runs at 03:00 CEST
      assert.equal(s.next_run_at, '2027-03-28T01:00:00.000Z');
      clock.t = Date.parse('2027-03-28T01:00:01Z');
      const spring = await fireUntil(pid, s.id, (x) => x.last_runs.length === 1);
      assert.equal(spring.next_run_at, '2027-03-29T00:30:00.000Z');
      await call('DELETE', `/pipelines/${pid}/schedules/${s.id}`);
      // autumn: 2027-10-31 03:00 CEST falls back to 02:00 CET: 02:30 happens twice, fires once
      clock.t = Date.parse('2027-10-30T12:00:00Z');
      const fall = await schedule({ cron: '30 2 * * *', timezone: 'Europe/Berlin' }, pid);
      assert.equal(fall.next_run_at, '2027-10-31T00:30:00.000Z');
      clock.t = Date.parse('2027-10-31T00:30:01Z');
      const autumn = await fireUntil(pid, fall.id, (x) => x.last_runs.length === 1);
      assert.equal(autumn.next_run_at, '2027-11-01T01:30:00.000Z');
      clock.t = Date.parse('2027-10-31T01:30:01Z'); // the second 02:30
      t.resources.queue.notify();
      await new Promise((r) => setTimeout(r, 300));
      assert.equal((await call('GET', `/pipelines/${pid}/schedules/${fall.id}`)).json().last_runs.length, 1);
      assert.equal((await runsOf(pid)).length, 2);
      await call('DELETE', `/pipelines/${pid}/schedules/${fall.id}`);
    });

    test('a revoked key pauses its schedules at their next tick, with the reason', async () => {
      const org = await t.newOrg('business');
      const a = await t.newAgent(org.key, 'rev');
      const pid = (
        await call(
          'POST',
          '/pipelines',
          { name: 'rev', steps: [{ id: 'a', agent_id: a, input: {} }] },
          org.key,
        )
      ).json().id;
      const created = await call('POST', `/pipelines/${pid}/schedules`, { cron: '*/10 * * * *' }, org.key);
      const s = created.json();
      const admin = (await t.newOrg('business')).key;
      void admin;
      await t.resources.services.apiKeys.revoke(org.orgId, org.keyId);
      clock.t = Date.parse(s.next_run_at) + 1000;
      t.resources.queue.notify();
      const end = Date.now() + 15_000;
      let row: any;
      for (;;) {
        row = await t.resources.db.kysely
          .selectFrom('pipeline_schedules')
          .selectAll()
          .where('id', '=', s.id)
          .executeTakeFirstOrThrow();
        if (row.paused_reason || Date.now() > end) break;
        await new Promise((r) => setTimeout(r, 25));
        t.resources.queue.notify();
      }
      assert.equal(row.paused_reason, 'api_key_revoked');
      assert.equal(row.next_run_at, null);
      const runs = await t.resources.db.kysely
        .selectFrom('pipeline_runs')
        .select('id')
        .where('pipeline_id', '=', pid)
        .execute();
      assert.equal(runs.length, 0);
    });
  },
);

test('a tick due while the server was down fires once after the restart [sqlite]', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'airmy-sched-'));
  const clock = new FakeClock(Date.parse('2026-12-04T12:00:00Z'));
  let t = await createTestApp({ name: 'sqlite' }, { clock, env: { AIRMY_DATA_DIR: dir } });
  try {
    const { key } = await t.newOrg('business');
    const agent = await t.newAgent(key, 'restart');
    const call = (app: TestApp, method: string, url: string, payload?: object) =>
      app.app.inject({ method: method as 'GET', url: `/v2${url}`, headers: bearer(key), payload });
    const pid = (
      await call(t, 'POST', '/pipelines', { name: 'r', steps: [{ id: 'a', agent_id: agent, input: {} }] })
    ).json().id;
    const s = (await call(t, 'POST', `/pipelines/${pid}/schedules`, { cron: '0 * * * *' })).json();
    await t.close();
    clock.t = Date.parse(s.next_run_at) + 5 * 60 * MIN; // down over five ticks
    t = await createTestApp({ name: 'sqlite' }, { clock, env: { AIRMY_DATA_DIR: dir } });
    const end = Date.now() + 15_000;
    let after: any;
    for (;;) {
      after = (await call(t, 'GET', `/pipelines/${pid}/schedules/${s.id}`)).json();
      if (after.last_runs.length > 0 || Date.now() > end) break;
      await new Promise((r) => setTimeout(r, 50));
      t.resources.queue.notify();
    }
    assert.equal(after.last_runs.length, 1);
    assert.equal(
      after.last_runs[0].scheduled_for,
      new Date(Date.parse(s.next_run_at) + 5 * 60 * MIN).toISOString(),
    );
    const runs = (await call(t, 'GET', `/pipelines/${pid}/runs`)).json().data;
    assert.equal(runs.length, 1);
    assert.equal(runs[0].trigger.type, 'schedule');
  } finally {
    await t.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

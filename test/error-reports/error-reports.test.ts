/**
 * Errors reported automatically (src/error-reports/), through the real HTTP app on SQLite and
 * Postgres: a bug behind a route is answered 500 with a body that says it was reported and names
 * the request id, and is stored once under a fingerprint (count, first/last seen, the latest
 * example's ids, redacted message and stack) that groups its repeats; 50 concurrent failures make
 * one row counting 50; deliberate 503s and client errors are not reported; a 5xx a route sends
 * without throwing is reported once; a run whose model call throws a bug, and a run job whose handler
 * throws until the queue gives up, are reported with the run's id; with the database refusing the
 * write the answer is still a 500 and the report waits in memory until it can be written;
 * Prometheus counts by kind and route; `airmy errors` lists them and `airmy errors show` prints one;
 * with AIRMY_ENV=production the body still carries no internals.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { sql } from 'kysely';
import { unavailable } from '../../src/errors.ts';
import type { ErrorReportRow } from '../../src/infra/db/schema.ts';
import { cliRunner } from '../support/airmy-cli.ts';
import { bearer, createTestApp, forEachDb, PG_URL, type TestApp } from '../support/harness.ts';

const FAKE_KEY = `sk-airmy-${'A'.repeat(32)}abcdef`;

/** The test-only routes: each fails in its own way. */
function failingRoutes(app: TestApp['app']) {
  app.get('/test/boom/:n', async (request) => {
    const { n } = request.params as { n: string };
    // a bug whose message varies (an id, a number) and carries a credential it should not
    throw new TypeError(
      `cannot read 'total' of undefined (order ord_${n}XYZ0123456789, attempt ${n}) with ${FAKE_KEY}`,
    );
  });
  app.get('/test/storm', async () => {
    throw new Error('the storm');
  });
  app.get('/test/draining', async () => {
    throw unavailable('overloaded', 'Too busy; retry shortly');
  });
  app.get('/test/bad-gateway', async (_request, reply) =>
    reply.code(502).send({ error: { type: 'api_error', code: 'upstream', message: 'x', request_id: 'x' } }),
  );
}

forEachDb('errors reported automatically', (target) => {
  let t: TestApp;
  let key: string;
  let orgId: string;

  before(async () => {
    t = await createTestApp(target, { routes: failingRoutes });
    ({ key, orgId } = await t.newOrg('business'));
  });
  after(async () => {
    await t?.close();
  });

  const reports = () =>
    t.resources.db.kysely.selectFrom('error_reports').selectAll().orderBy('last_seen').execute();
  const byRoute = async (route: string): Promise<ErrorReportRow[]> =>
    (await reports()).filter((r) => r.route === route);
  const get = (url: string) => t.app.inject({ url, headers: bearer(key) });
  const until = async <T>(what: string, probe: () => Promise<T | undefined | null | false>): Promise<T> => {
    for (let i = 0; i < 600; i++) {
      const v = await probe();
      if (v) return v;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`timed out waiting for ${what}`);
  };
  const metricsText = async () => (await t.app.inject({ url: '/internal/metrics' })).body;

  test('a 500: the body says it was reported and names the request id; one row with the example, redacted', async () => {
    const res = await get('/test/boom/1');
    assert.equal(res.statusCode, 500);
    const body = res.json();
    assert.deepEqual(Object.keys(body.error).sort(), ['code', 'message', 'request_id', 'type']);
    assert.equal(body.error.type, 'api_error');
    assert.equal(body.error.code, 'internal_error');
    assert.equal(body.error.request_id, res.headers['request-id']);
    assert.equal(
      body.error.message,
      `Something went wrong on our end. Reported automatically as ${body.error.request_id}.`,
    );
    assert.doesNotMatch(res.body, /TypeError|total|\.ts|sk-airmy/);
    // stored before the answer was sent: no waiting here
    const [row] = await byRoute('GET /test/boom/:n');
    assert.ok(row, 'reported');
    assert.equal(row.kind, 'request');
    assert.equal(Number(row.count), 1);
    assert.equal(row.request_id, body.error.request_id);
    assert.equal(row.org_id, orgId);
    assert.equal(row.status_code, 500);
    assert.equal(row.error_name, 'TypeError');
    assert.match(row.fingerprint, /^[0-9a-f]{16}$/);
    assert.match(row.message, /cannot read 'total'/);
    assert.match(row.stack ?? '', /test\/error-reports\/error-reports\.test\.ts/);
    for (const text of [row.message, row.stack ?? '']) {
      assert.ok(!text.includes(FAKE_KEY), 'the key is redacted');
      assert.match(text, /sk-airmy-\[redacted\]/);
    }
    const logged = t.logs.find((l) => l.includes(body.error.request_id) && l.includes('"level":50'));
    assert.ok(logged, 'logged at error level with the request id');
    assert.match(logged, new RegExp(row.fingerprint));
    assert.ok(!t.logs.some((l) => l.includes(FAKE_KEY)), 'the key never reaches the log');
  });

  test('repeats with other ids and numbers in the message are one fingerprint: count, last seen, latest example', async () => {
    const [first] = await byRoute('GET /test/boom/:n');
    const again = await get('/test/boom/2');
    const third = await get('/test/boom/77');
    const rows = await byRoute('GET /test/boom/:n');
    assert.equal(rows.length, 1, 'one fingerprint');
    const [row] = rows;
    assert.equal(row.fingerprint, first.fingerprint);
    assert.equal(Number(row.count), 3);
    assert.equal(row.request_id, third.json().error.request_id);
    assert.notEqual(row.request_id, again.json().error.request_id);
    assert.equal(Number(row.first_seen), Number(first.first_seen));
    assert.ok(Number(row.last_seen) >= Number(first.last_seen));
    assert.match(row.message, /attempt 77/);
  });

  test('50 concurrent identical failures: one row, count 50, each answer reported', async () => {
    const answers = await Promise.all(Array.from({ length: 50 }, () => get('/test/storm')));
    for (const a of answers) {
      assert.equal(a.statusCode, 500);
      assert.match(a.json().error.message, /Reported automatically as req_/);
    }
    const rows = await byRoute('GET /test/storm');
    assert.equal(rows.length, 1);
    assert.equal(Number(rows[0].count), 50);
    assert.ok(answers.some((a) => a.json().error.request_id === rows[0].request_id));
    assert.match(
      await metricsText(),
      /airmy_errors_reported_total\{kind="request",route="GET \/test\/storm"\} 50/,
    );
  });

  test('deliberate 503s and client errors are not reported; a 5xx a route sends itself is reported once', async () => {
    const before = (await reports()).length;
    const busy = await get('/test/draining');
    assert.equal(busy.statusCode, 503);
    assert.equal(busy.json().error.message, 'Too busy; retry shortly');
    assert.equal((await get('/v2/agents/ag_nope')).statusCode, 404);
    assert.equal((await get('/test/nowhere')).statusCode, 404);
    assert.equal((await reports()).length, before, 'nothing reported');

    const bad = await get('/test/bad-gateway');
    assert.equal(bad.statusCode, 502);
    const row = await until('the 502 report', async () => (await byRoute('GET /test/bad-gateway'))[0]);
    assert.equal(Number(row.count), 1);
    assert.equal(row.error_name, 'UnexplainedServerError');
    assert.equal(row.status_code, 502);
    assert.equal(row.request_id, bad.headers['request-id']);
  });

  test('a run whose model call throws a bug: the run fails run_error, the failure is reported with the run id', async () => {
    const agentId = await t.newAgent(key, 'buggy');
    const original = t.resources.models.call;
    t.resources.models.call = async () => {
      throw new TypeError('provider adapter bug');
    };
    try {
      const res = await t.app.inject({
        method: 'POST',
        url: '/v2/runs',
        headers: bearer(key),
        payload: { agent_id: agentId, input: { query: 'hi' } },
      });
      assert.equal(res.statusCode, 200, res.body);
      const run = res.json();
      assert.equal(run.status, 'failed');
      assert.equal(run.error.code, 'run_error');
      const row = await until('the run report', async () =>
        (await reports()).find((r) => r.run_id === run.id),
      );
      assert.equal(row.kind, 'job');
      assert.equal(row.route, 'run');
      assert.equal(row.org_id, orgId);
      assert.equal(row.error_name, 'TypeError');
      assert.equal(row.request_id, null);
      assert.match(await metricsText(), /airmy_errors_reported_total\{kind="job",route="run"\} 1/);
    } finally {
      t.resources.models.call = original;
    }
  });

  test('a run job whose handler throws: each failure is reported with the run id, until the queue gives up', async () => {
    const agentId = await t.newAgent(key, 'never-runs');
    const executor = t.resources.executor;
    const original = executor.handle;
    executor.handle = async () => {
      throw new Error('handler bug');
    };
    try {
      const res = await t.app.inject({
        method: 'POST',
        url: '/v2/runs',
        headers: bearer(key),
        payload: { agent_id: agentId, input: { query: 'hi' }, background: true },
      });
      assert.equal(res.statusCode, 202, res.body);
      const runId = res.json().id as string;
      const first = await until('the first failure', async () =>
        (await reports()).find((r) => r.run_id === runId),
      );
      assert.equal(first.route, 'run');
      assert.match(first.job_id ?? '', /^job_/);
      // the next attempt is the last (the queue gives up after 5): due now
      await t.resources.db.kysely
        .updateTable('jobs')
        .set({ attempts: 4, run_at: 0 })
        .where('ref_id', '=', runId)
        .execute();
      t.resources.queue.notify();
      await until('the run failed by the give-up', async () => {
        const run = (await get(`/v2/runs/${runId}`)).json();
        return run.status === 'failed' && run;
      });
      // the queue reports a failure without waiting for its write: it may land just after the run ends
      const row = await until('the second failure', async () =>
        (await reports()).find((r) => r.run_id === runId && Number(r.count) >= 2),
      );
      assert.equal(Number(row.count), 2, 'two failed attempts, each once');
      assert.equal((await reports()).filter((r) => r.run_id === runId).length, 1);
    } finally {
      executor.handle = original;
    }
  });

  test('the database refusing the write: still a reported 500; the report waits in memory and is written later', async () => {
    const db = t.resources.db.kysely;
    await sql`ALTER TABLE error_reports RENAME TO error_reports_away`.execute(db);
    let answers: Awaited<ReturnType<typeof get>>[];
    try {
      answers = await Promise.all(Array.from({ length: 5 }, () => get('/test/boom/9')));
      for (const a of answers) {
        assert.equal(a.statusCode, 500);
        assert.match(a.json().error.message, /Reported automatically as req_/);
      }
      assert.equal(t.resources.errorReporter.stats().unsaved, 1, 'one fingerprint in memory');
      assert.match(await metricsText(), /airmy_error_reports_unsaved_total [1-9]/);
    } finally {
      await sql`ALTER TABLE error_reports_away RENAME TO error_reports`.execute(db);
    }
    await t.resources.errorReporter.flush();
    assert.equal(t.resources.errorReporter.stats().unsaved, 0);
    const [row] = await byRoute('GET /test/boom/:n');
    assert.equal(Number(row.count), 3 + 5);
    assert.ok(answers.some((a) => a.json().error.request_id === row.request_id));
  });

  test('airmy errors: list (last seen first), show with the example and stack, --json', async () => {
    const env: Record<string, string> = { AIRMY_DATA_DIR: t.config.dataDir, HOME: t.config.dataDir };
    if (target.name === 'postgres') {
      const schema = (await sql<{ s: string }>`SELECT current_schema() AS s`.execute(t.resources.db.kysely))
        .rows[0].s;
      env.AIRMY_DATABASE_URL = `${PG_URL}?options=${encodeURIComponent(`-c search_path=${schema}`)}`;
    }
    const airmy = cliRunner(env);
    const rows = await reports();
    const latest = rows.at(-1)!;

    const list = await airmy(['errors']);
    assert.equal(list.code, 0, list.stderr);
    const lines = list.stdout.trim().split('\n');
    assert.match(lines[0], /FINGERPRINT\s+COUNT\s+LAST SEEN\s+KIND\s+ROUTE\s+ERROR/);
    assert.equal(lines.length, rows.length + 1);
    assert.ok(lines[1].startsWith(latest.fingerprint), 'last seen first');
    assert.match(list.stdout, /GET \/test\/storm/);

    const json = await airmy(['errors', '--json']);
    const listed = JSON.parse(json.stdout) as { fingerprint: string; count: number; route: string }[];
    assert.equal(listed.find((r) => r.route === 'GET /test/storm')?.count, 50);

    const storm = rows.find((r) => r.route === 'GET /test/storm')!;
    const show = await airmy(['errors', 'show', storm.fingerprint.slice(0, 8)]);
    assert.equal(show.code, 0, show.stderr);
    assert.match(show.stdout, /count\s+50/);
    assert.match(show.stdout, new RegExp(`request_id\\s+${storm.request_id}`));
    assert.match(show.stdout, /Error: the storm\n\s+at /, 'the stack');
    const shown = JSON.parse((await airmy(['errors', 'show', storm.fingerprint, '--json'])).stdout);
    assert.equal(shown.example.request_id, storm.request_id);
    assert.ok(shown.frames.length > 0);
    assert.ok(
      shown.frames.every((f: string) => !/:\d+/.test(f)),
      'no line numbers in the fingerprint',
    );

    const missing = await airmy(['errors', 'show', 'ffffffffffffffff']);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /no reported error/);
  });
});

forEachDb('errors reported automatically, production config', (target) => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp(target, {
      env: {
        AIRMY_ENV: 'production',
        AIRMY_DEMO: '0',
        AIRMY_SECRET_KEY: Buffer.alloc(32, 7).toString('base64'),
      },
      routes: failingRoutes,
    });
  });
  after(async () => {
    await t?.close();
  });

  test('a 500 in production: reported, the body carries no message, stack or file of the bug', async () => {
    const { key } = await t.newOrg('business');
    const res = await t.app.inject({ url: '/test/boom/5', headers: bearer(key) });
    assert.equal(res.statusCode, 500);
    assert.doesNotMatch(res.body, /TypeError|total|ord_|\.ts|\bat\b|sk-airmy/);
    const id = res.json().error.request_id;
    assert.match(res.json().error.message, new RegExp(`Reported automatically as ${id}\\.$`));
    const row = await t.resources.db.kysely
      .selectFrom('error_reports')
      .selectAll()
      .where('request_id', '=', id)
      .executeTakeFirst();
    assert.ok(row);
  });
});

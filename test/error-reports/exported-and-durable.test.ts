/**
 * Errors reported automatically, beyond the table: with an OTLP endpoint a reported 500 is an
 * `exception` event (type, message, stacktrace; redacted) on its request's span, a run's bug one on
 * the run's span, a job handler's on a span of its own — decoded by a receiver on loopback. And the
 * report is durable once the 500 is answered: a server killed -9 right after answering has it in
 * its database (a child process, SQLite and Postgres).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import pg from 'pg';
import { createDb } from '../../src/infra/db/db.ts';
import { bearer, createTestApp, forEachDb, PG_URL, type TestApp } from '../support/harness.ts';
import { type OtlpReceiver, startOtlpReceiver } from '../support/otlp-receiver.ts';

const FAKE_KEY = `sk-airmy-${'B'.repeat(32)}abcdef`;
const ERROR_STATUS = 2;

forEachDb('reported errors as OTLP exception events', (target) => {
  let t: TestApp;
  let key: string;
  let receiver: OtlpReceiver;

  before(async () => {
    receiver = await startOtlpReceiver();
    t = await createTestApp(target, {
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint, OTEL_BSP_SCHEDULE_DELAY: '20' },
      routes: (app) =>
        app.get('/test/traced-bug', async () => {
          throw new SyntaxError(`unexpected token in config (key ${FAKE_KEY})`);
        }),
    });
    key = (await t.newOrg('business')).key;
  });
  after(async () => {
    await t?.close();
    await receiver?.close();
  });

  test('a 500: an exception event on the request span, with type, message and stacktrace, redacted', async () => {
    const res = await t.app.inject({ url: '/test/traced-bug', headers: bearer(key) });
    assert.equal(res.statusCode, 500);
    const traceId = String(res.headers.traceparent).split('-')[1];
    const span = await receiver.waitFor((spans) =>
      spans.find((s) => s.traceId === traceId && s.name === 'GET /test/traced-bug'),
    );
    assert.equal(span.status.code, ERROR_STATUS);
    const event = span.events.find((e) => e.name === 'exception');
    assert.ok(event, 'exception event');
    assert.equal(event.attributes['exception.type'], 'SyntaxError');
    assert.match(String(event.attributes['exception.message']), /unexpected token in config/);
    assert.match(String(event.attributes['exception.stacktrace']), /exported-and-durable\.test\.ts/);
    assert.ok(!JSON.stringify(event).includes(FAKE_KEY), 'redacted');
    const row = await t.resources.db.kysely
      .selectFrom('error_reports')
      .selectAll()
      .where('request_id', '=', res.json().error.request_id)
      .executeTakeFirstOrThrow();
    assert.equal(row.trace_id, traceId, 'the report names the trace');
  });

  test("a run's bug: an exception event on the airmy.run span; a job handler's: on a span of its own", async () => {
    const agentId = await t.newAgent(key, 'traced-bug');
    const call = t.resources.models.call;
    t.resources.models.call = async () => {
      throw new ReferenceError('adapter is not defined');
    };
    let runId: string;
    try {
      const res = await t.app.inject({
        method: 'POST',
        url: '/v2/runs',
        headers: bearer(key),
        payload: { agent_id: agentId, input: { query: 'hi' } },
      });
      assert.equal(res.json().status, 'failed');
      runId = res.json().id;
    } finally {
      t.resources.models.call = call;
    }
    const runSpan = await receiver.waitFor((spans) =>
      spans.find((s) => s.name === 'airmy.run' && s.attributes['airmy.run.id'] === runId),
    );
    assert.equal(runSpan.status.code, ERROR_STATUS);
    const event = runSpan.events.find((e) => e.name === 'exception');
    assert.equal(event?.attributes['exception.type'], 'ReferenceError');
    assert.match(String(event?.attributes['exception.stacktrace']), /at /);

    const handle = t.resources.executor.handle;
    t.resources.executor.handle = async () => {
      throw new Error('handler bug, traced');
    };
    try {
      const res = await t.app.inject({
        method: 'POST',
        url: '/v2/runs',
        headers: bearer(key),
        payload: { agent_id: agentId, input: { query: 'hi' }, background: true },
      });
      const id = res.json().id;
      const jobSpan = await receiver.waitFor((spans) =>
        spans.find((s) => s.name === 'airmy.job run' && s.attributes['airmy.run.id'] === id),
      );
      assert.equal(jobSpan.status.code, ERROR_STATUS);
      assert.equal(
        jobSpan.events.find((e) => e.name === 'exception')?.attributes['exception.message'],
        'handler bug, traced',
      );
    } finally {
      t.resources.executor.handle = handle;
    }
  });
});

const FIXTURE = path.resolve(import.meta.dirname, 'failing-server.ts');

forEachDb('a reported 500 survives kill -9 right after the answer', (target) => {
  test('the server answers 500 and is killed -9 at once: the report is in its database', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'airmy-errors-kill-'));
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '',
      AIRMY_DATA_DIR: dir,
      AIRMY_ENV: 'production',
      AIRMY_SECRET_KEY: Buffer.alloc(32, 9).toString('base64'),
      AIRMY_LOG_LEVEL: 'warn',
    };
    let schema: string | undefined;
    if (target.name === 'postgres') {
      schema = `t_kill_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
      const admin = new pg.Client({ connectionString: PG_URL });
      await admin.connect();
      await admin.query(`CREATE SCHEMA ${schema}`);
      await admin.end();
      env.AIRMY_DATABASE_URL = PG_URL;
      env.ERROR_REPORTS_PG_SCHEMA = schema;
    }
    const child = spawn(process.execPath, [FIXTURE], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      let out = '';
      const port = await new Promise<number>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no start in 60 s:\n${out}`)), 60_000);
        const read = (d: Buffer) => {
          out += d;
          const m = /listening (\d+)/.exec(out);
          if (m) {
            clearTimeout(timer);
            resolve(Number(m[1]));
          }
        };
        child.stdout.on('data', read);
        child.stderr.on('data', read);
        child.once('exit', (code) => reject(new Error(`exited ${code}:\n${out}`)));
      });
      const { status, body } = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = http.get({ host: '127.0.0.1', port, path: '/test/crash-me' }, (res) => {
          // killed the moment the status line arrives: nothing after the answer can help
          child.kill('SIGKILL');
          let text = '';
          res.on('data', (d) => {
            text += d;
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
          res.on('error', reject);
        });
        req.on('error', reject);
      });
      assert.equal(status, 500);
      const requestId = JSON.parse(body).error.request_id as string;
      await new Promise((r) =>
        child.exitCode !== null || child.signalCode ? r(null) : child.once('exit', r),
      );
      assert.equal(child.signalCode, 'SIGKILL');

      const url = target.name === 'postgres' ? PG_URL : `sqlite:${path.join(dir, 'airmy.db')}`;
      const db = createDb(url, { schema });
      try {
        const row = await db.kysely
          .selectFrom('error_reports')
          .selectAll()
          .where('request_id', '=', requestId)
          .executeTakeFirst();
        assert.ok(row, 'the report was committed before the answer');
        assert.equal(row.error_name, 'RangeError');
        assert.equal(row.route, 'GET /test/crash-me');
        assert.equal(Number(row.count), 1);
      } finally {
        await db.close();
      }
    } finally {
      if (child.exitCode === null && !child.signalCode) child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
      if (schema) {
        const admin = new pg.Client({ connectionString: PG_URL });
        await admin.connect();
        await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
        await admin.end();
      }
    }
  });
});

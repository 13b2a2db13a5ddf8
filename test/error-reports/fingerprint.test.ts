/**
 * The fingerprint rule (src/error-reports/fingerprint.ts) and redaction, on their own: the same
 * throw site is one fingerprint whatever the message's ids and numbers and wherever its lines
 * moved; another site, class, route or kind is another; a stackless error falls back to its
 * normalised message; credentials are taken out of messages and stacks. And the reporter's
 * "once": one failure handed in by two hooks is one report, the same error object thrown again in
 * another occurrence (a cached rejected promise) is two.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { errorFacts, fingerprint, redact, signatureFrames } from '../../src/error-reports/fingerprint.ts';
import { createErrorReporter } from '../../src/error-reports/reporter.ts';
import type { ErrorReportRow } from '../../src/infra/db/schema.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');

/** A stack as V8 prints it, thrown in `fn` of src/runs/service.ts at `line`, called from routes.ts. */
function stackAt(line: number, fn = 'createRun', message = 'boom') {
  return [
    `TypeError: ${message}`,
    `    at ${fn} (${ROOT}/src/runs/service.ts:${line}:17)`,
    `    at async Object.handler (file://${ROOT}/src/runs/routes.ts:${line + 40}:5)`,
    `    at async preHandler (${ROOT}/node_modules/fastify/lib/hooks.js:233:11)`,
    '    at process.processTicksAndRejections (node:internal/process/task_queues:104:5)',
  ].join('\n');
}
const error = (stack: string, name = 'TypeError', message = 'boom') =>
  Object.assign(new Error(message), { name, stack });
const fp = (err: unknown, route = 'POST /v2/runs', kind = 'request') =>
  fingerprint(kind, route, errorFacts(err));

test('same site: one fingerprint across line moves and variable messages; no line numbers in it', () => {
  const a = error(stackAt(120, 'createRun', 'no run run_01JABCDEFGH12345 (attempt 3)'), 'TypeError', 'x');
  const b = error(stackAt(188, 'createRun', 'no run run_01JZZZZZZZZ99999 (attempt 7)'), 'TypeError', 'y');
  assert.equal(fp(a), fp(b));
  assert.deepEqual(signatureFrames(a.stack!), [
    'createRun src/runs/service.ts',
    'Object.handler src/runs/routes.ts',
  ]);
});

test('another function, class, route or kind: another fingerprint', () => {
  const base = error(stackAt(120));
  assert.notEqual(fp(base), fp(error(stackAt(120, 'cancelRun'))));
  assert.notEqual(fp(base), fp(error(stackAt(120), 'RangeError')));
  assert.notEqual(fp(base), fp(base, 'GET /v2/runs'));
  assert.notEqual(fp(base), fp(base, 'POST /v2/runs', 'job'));
  const coded = Object.assign(error(stackAt(120)), { code: 'ECONNREFUSED' });
  assert.equal(errorFacts(coded).name, 'TypeError[ECONNREFUSED]');
  assert.notEqual(fp(base), fp(coded));
});

test('no frame in the project: the dependency frames; no stack at all: the normalised message', () => {
  const dep = error(
    [
      'Error: connection terminated',
      '    at Client._handleErrorEvent (/srv/app/node_modules/pg/lib/client.js:350:19)',
      '    at Socket.emit (node:events:518:28)',
    ].join('\n'),
    'Error',
  );
  assert.deepEqual(signatureFrames(dep.stack!), [
    'Client._handleErrorEvent node_modules/pg/lib/client.js',
    'Socket.emit node:events',
  ]);
  const bare = (message: string) => Object.assign(new Error(message), { stack: undefined });
  assert.equal(
    fp(bare("no agent 'ag_01HXYZ12345678' after 3 tries")),
    fp(bare("no agent 'ag_99' after 12 tries")),
  );
  assert.notEqual(fp(bare('disk full')), fp(bare('disk on fire')));
  assert.equal(fp('a thrown string 42'), fp('a thrown string 43'));
});

test('redaction: API keys, session tokens, bearer tokens, URL passwords; bounded sizes', () => {
  const text = redact(
    'key sk-airmy-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAabcdef token st-airmy-BBBB, Authorization: Bearer abc.def ' +
      'db postgres://airmy:hunter2@db.internal:5432/airmy demo sk-airmy-demo-2026',
  );
  assert.doesNotMatch(text, /AAAA|BBBB|abc\.def|hunter2|demo-2026/);
  assert.match(
    text,
    /sk-airmy-\[redacted\].*st-airmy-\[redacted\].*Bearer \[redacted\].*postgres:\/\/airmy:\[redacted\]@db/,
  );
  const huge = errorFacts(new Error('x'.repeat(10_000)));
  assert.ok(huge.message.length <= 2_001);
});

test('once per failure: two hooks, one report; the same error object in two occurrences, two', async () => {
  const rows: ErrorReportRow[] = [];
  const reporter = createErrorReporter({
    store: { record: async (row: ErrorReportRow) => void rows.push(row) } as never,
    clock: { now: () => 1 },
  });
  const err = new Error('seen twice');
  assert.ok(reporter.report(err, { kind: 'job', route: 'pipeline.advance' }));
  assert.equal(reporter.report(err, { kind: 'job', route: 'pipeline' }), null, 'a second hook');
  const cached = new Error('a rejected promise every request awaits');
  const first = {};
  const second = {};
  assert.ok(reporter.report(cached, { kind: 'request', route: 'GET /x' }, { occurrence: first }));
  assert.equal(reporter.report(cached, { kind: 'request', route: 'GET /x' }, { occurrence: first }), null);
  const again = reporter.report(cached, { kind: 'request', route: 'GET /x' }, { occurrence: second });
  assert.ok(again);
  await again.stored;
  assert.equal(rows.length, 3);
});

test('the store refusing: never throws, kept in memory merged by fingerprint, written by flush', async () => {
  const rows: ErrorReportRow[] = [];
  let down = true;
  const reporter = createErrorReporter({
    store: {
      record: async (row: ErrorReportRow) => {
        if (down) throw new Error('connection refused');
        rows.push(row);
      },
    } as never,
    clock: { now: () => 5 },
  });
  for (let i = 0; i < 10; i++)
    await reporter.report(new Error(`down ${i}`), { kind: 'job', route: 'run' })?.stored;
  assert.deepEqual(reporter.stats(), { unsaved: 1, dropped: 0 });
  down = false;
  await reporter.flush();
  assert.equal(rows.length, 1);
  assert.equal(rows[0].count, 10);
  await reporter.close();
});

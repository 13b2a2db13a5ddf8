/**
 * Property-based fuzz of every operation in the server's own OpenAPI document (GET
 * /v2/openapi.json of the app under test): requests valid by the document and requests it forbids
 * (wrong types, missing and unknown fields, one past every bound, broken patterns and enums, odd
 * unicode, hostile ids), stateful through a pool of live ids. contract.ts's `judge` is the oracle.
 *
 * FUZZ_RUNS: requests per operation (default 4: seconds, inside `npm test`, with a fixed seed);
 * `npm run test:fuzz` runs many more from a random seed. FUZZ_SEED replays a run (it is printed). Every failing operation is
 * reported with its shrunk counterexample; the test fails if any operation did.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import { bearer, createTestApp, forEachDb, type TestApp } from '../support/harness.ts';
import { send } from '../support/send.ts';
import { createFixtures } from '../support/tenant-fixtures.ts';
import {
  type Contract,
  type Expectation,
  judge,
  type Operation,
  type Problem,
  readContract,
} from './contract.ts';
import {
  type Drawn,
  drawRequest,
  harvest,
  IdPool,
  malformedBody,
  pathValues,
  toQuery,
  withPoolIds,
} from './requests.ts';

const RUNS = Number(process.env.FUZZ_RUNS ?? 4);
/** The short run (inside `npm test`) has a fixed seed, so CI is repeatable; a long run draws one. */
const SEED = Number(
  process.env.FUZZ_SEED ?? (process.env.FUZZ_RUNS ? Math.floor(Math.random() * 2 ** 31) : 19),
);

/** Creators first (they fill the pool), then reads and actions, deletes last. */
const order = (op: Operation) =>
  op.method === 'DELETE'
    ? 3
    : op.method === 'POST' && !op.path.includes('{')
      ? 0
      : op.method === 'GET'
        ? 1
        : 2;

forEachDb('OpenAPI fuzz: every operation, valid and invalid input, judged by the document', (target) => {
  let t: TestApp;
  let key: string;
  let keyId: string;
  let contract: Contract;
  const pool = new IdPool();
  const sent: Record<string, Record<Expectation, number>> = {};
  const stats = {
    operations: 0,
    requests: 0,
    seconds: 0,
    byStatus: {} as Record<string, number>,
    validRefused: {} as Record<string, number>,
  };

  before(async () => {
    t = await createTestApp(target, {
      env: { AIRMY_EGRESS_ALLOW: '127.0.0.1:9', AIRMY_SYNC_WAIT_MS: '2000' },
    });
    ({ key, keyId } = await t.newOrg('enterprise'));
    const fixtures = await createFixtures(t, key, 'fuzz');
    for (const f of Object.values(fixtures)) {
      pool.add({ id: f.id, parent: f.parent });
      pool.keep.add(f.id);
    }
    pool.keep.add(keyId);
    const doc = await t.app.inject({ url: '/v2/openapi.json' });
    contract = readContract(doc.json());
  });
  after(async () => {
    console.log(`# fuzz [${target.name}] seed=${SEED} runs/op=${RUNS} ${JSON.stringify(stats)}`);
    await t.close();
  });

  async function exercise(op: Operation, drawn: Drawn): Promise<Problem | null> {
    const path = pathValues(op, drawn, pool);
    if (typeof path === 'string') return { rule: 'unplaceable path parameter', detail: path };
    const body = drawn.usePool ? withPoolIds(drawn.body, pool, drawn.pick) : drawn.body;
    const drawnQuery = drawn.usePool
      ? (withPoolIds(drawn.query, pool, drawn.pick) as Record<string, unknown>)
      : drawn.query;
    const search = new URLSearchParams(
      Object.entries(toQuery(drawnQuery)).flatMap(([k, v]) =>
        [v].flat().map((x): [string, string] => [k, x]),
      ),
    );
    // the query as the server parses it back: one value a string, a repeated name an array
    const query: Record<string, string | string[]> = {};
    for (const k of new Set(search.keys())) {
      const all = search.getAll(k);
      query[k] = all.length > 1 ? all : all[0];
    }
    const raw = drawn.malformed ? malformedBody(op, body, drawn.malformed) : undefined;
    const emptyJson = drawn.flavour === 'empty-json';
    const documented =
      contract.bodyValid(op, emptyJson && op.body ? {} : body) &&
      contract.queryValid(op, query) &&
      contract.pathValid(op, path);
    // malformed bytes are refused before anything in them is looked at
    const expect: Expectation = raw ? 'malformed' : !documented ? 'invalid' : 'valid';
    const url = `${op.url.replace(/:([a-z_]+)/g, (_, p: string) => encodeURIComponent(path[p]))}?${search}`;
    // a follower of a live deployment never ends: its stream is read only with follow=false
    const live = op.path.endsWith('/logs') && query.follow !== 'false';
    const sse = drawn.accept === 'sse' && !live;
    const headers = {
      ...bearer(key),
      ...(sse ? { accept: 'text/event-stream' } : {}),
      ...(emptyJson ? { 'content-type': 'application/json' } : {}),
      ...raw?.headers,
    };
    const answer = await send(t, {
      method: op.method,
      url,
      headers,
      payload: emptyJson ? undefined : body,
      raw: raw?.raw ?? (emptyJson ? '' : undefined),
      maxBytes: 1 << 20,
    });
    stats.requests++;
    sent[op.id] ??= { valid: 0, invalid: 0, malformed: 0 };
    sent[op.id][expect]++;
    stats.byStatus[answer.status] = (stats.byStatus[answer.status] ?? 0) + 1;
    if (expect === 'valid' && answer.status >= 400 && answer.status < 500) {
      const code = `${answer.status} ${JSON.parse(answer.text).error?.code}`;
      stats.validRefused[code] = (stats.validRefused[code] ?? 0) + 1;
    }
    if (answer.status < 300) harvest(pool, op, path, answer.text);
    const problem = judge(contract, op, expect, answer, drawn.flavour === 'odd-id');
    return (
      problem && {
        rule: problem.rule,
        detail: `${expect} ${drawn.flavour} ${op.method} ${url.slice(0, 200)}: ${problem.detail}`,
      }
    );
  }

  /**
   * Every operation in turn, FUZZ_RUNS draws each. A broken rule does not stop the operation (one
   * bug must not hide the next): each (operation, rule) is reported once, with its first request
   * and how often it recurred. FUZZ_ONLY=<operationId,…> narrows a replay.
   */
  test('every operation: no 5xx, documented envelopes and statuses, 2xx bodies match their schemas', async () => {
    const only = process.env.FUZZ_ONLY?.split(',');
    const ops = [...contract.operations]
      .sort((x, y) => order(x) - order(y))
      .filter((op) => !only || only.includes(op.id));
    if (!only) assert.ok(ops.length >= 50, `operations in the document: ${ops.length}`);
    const found = new Map<string, { detail: string; drawn: Drawn; count: number }>();
    const errorsBefore = t.resources.counters.internalErrors;
    const started = performance.now();
    for (const [i, op] of ops.entries()) {
      await fc.assert(
        fc.asyncProperty(drawRequest(contract, op), async (drawn) => {
          const problem = await exercise(op, drawn);
          if (!problem) return;
          const id = `${op.method} ${op.path} [${drawn.flavour}]: ${problem.rule}`;
          const seen = found.get(id);
          if (seen) seen.count++;
          else found.set(id, { detail: problem.detail, drawn, count: 1 });
        }),
        { numRuns: RUNS, seed: SEED + i },
      );
    }
    stats.operations = ops.length;
    stats.seconds = Math.round((performance.now() - started) / 100) / 10;
    assert.equal(t.resources.counters.internalErrors, errorsBefore, 'internal errors were counted');
    // a long run reaches every operation with a request the document allows, not only with refusals
    if (RUNS >= 50) {
      const unreached = ops.filter((op) => !sent[op.id]?.valid).map((op) => `${op.method} ${op.path}`);
      assert.deepEqual(unreached, [], 'operations no valid request reached');
    }
    const report = [...found].map(
      ([id, f]) =>
        `${id} (×${f.count})\n      ${f.detail}\n      drawn: ${JSON.stringify(f.drawn).slice(0, 300)}`,
    );
    assert.deepEqual(report, [], `replay: FUZZ_SEED=${SEED} FUZZ_RUNS=${RUNS}`);
  });

  test('an undocumented method on a documented path is 405 with Allow listing the documented ones', async () => {
    const byPath = new Map<string, Set<string>>();
    for (const op of contract.operations)
      byPath.set(op.url, (byPath.get(op.url) ?? new Set()).add(op.method));
    const failures: string[] = [];
    for (const [url, methods] of byPath) {
      for (const method of ['PUT', 'QUERY', 'PATCH', 'DELETE', 'POST'].filter((m) => !methods.has(m))) {
        const filled = url.replace(/:([a-z_]+)/g, 'x_1');
        const res = await t.app.inject({ method: method as 'GET', url: filled, headers: bearer(key) });
        stats.requests++;
        const allow = String(res.headers.allow ?? '')
          .split(/,\s*/)
          .filter((m) => m && m !== 'HEAD')
          .sort();
        if (res.statusCode !== 405 || allow.join() !== [...methods].sort().join())
          failures.push(
            `${method} ${url}: ${res.statusCode} Allow: ${res.headers.allow} ${res.body.slice(0, 120)}`,
          );
      }
    }
    assert.deepEqual(failures, []);
  });
});

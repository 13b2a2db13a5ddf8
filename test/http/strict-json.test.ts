/**
 * Issue 19, bug 11: bad JSON is refused with a precise code, never changed, never a 500, and
 * nothing is stored. Bug 9: an empty body with Content-Type: application/json is no body.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { MAX_JSON_DEPTH } from '../../src/http/strict-json.ts';
import { bearer, createTestApp, forEachDb, type TestApp } from '../support/harness.ts';

const JSON_TYPE = { 'content-type': 'application/json' };

function refused(
  res: { statusCode: number; headers: Record<string, unknown>; body: string },
  status: number,
  code: string,
) {
  assert.equal(res.statusCode, status, res.body);
  const { error } = JSON.parse(res.body);
  assert.equal(error.code, code, res.body);
  assert.equal(error.request_id, res.headers['request-id']);
  assert.equal(res.headers['x-should-retry'], 'false');
  return error as { code: string; message: string; param?: string };
}

/** `levels` nested arrays around 1: [[[1]]] */
const nested = (levels: number) => `${'['.repeat(levels)}1${']'.repeat(levels)}`;

forEachDb('strict JSON bodies', (target) => {
  let t: TestApp;
  let key: string;
  let agent: string;
  before(async () => {
    t = await createTestApp(target);
    key = (await t.newOrg('business')).key;
    agent = await t.newAgent(key, 'strict', { guardrails: 'none' });
  });
  after(() => t.close());

  const post = (url: string, payload: string | Buffer, headers: Record<string, string> = {}) =>
    t.app.inject({ method: 'POST', url, headers: { ...bearer(key), ...JSON_TYPE, ...headers }, payload });
  const runInput = (inputJson: string) => post('/v2/runs', `{"agent_id":"${agent}","input":${inputJson}}`);
  const counts = async () => {
    const runs = await t.resources.db.kysely
      .selectFrom('runs')
      .select(({ fn }) => fn.countAll().as('n'))
      .executeTakeFirstOrThrow();
    const agents = await t.resources.db.kysely
      .selectFrom('agents')
      .select(({ fn }) => fn.countAll().as('n'))
      .executeTakeFirstOrThrow();
    return { runs: Number(runs.n), agents: Number(agents.n) };
  };

  test(`nesting deeper than ${MAX_JSON_DEPTH} levels is 400 json_too_deep, not a stack overflow`, async () => {
    const before = await counts();
    const deepRun = refused(await runInput(`{"q":${nested(5000)}}`), 400, 'json_too_deep');
    assert.match(deepRun.message, new RegExp(String(MAX_JSON_DEPTH)));
    assert.match(deepRun.param ?? '', /^input\.q(\[0\])+$/);
    const smoke = JSON.stringify({ name: 'deep', model: 'mock/deep' }).slice(0, -1);
    refused(
      await post('/v2/agents', `${smoke},"smoke_test":{"input":{"q":${nested(10_000)}}}}`),
      400,
      'json_too_deep',
    );
    assert.deepEqual(await counts(), before, 'nothing stored');
    // the body itself is level 1, input level 2, {"q": …} level 3: the deepest allowed run input
    const ok = await runInput(`{"q":${nested(MAX_JSON_DEPTH - 2)}}`);
    assert.equal(ok.statusCode, 200, ok.body);
    refused(await runInput(`{"q":${nested(MAX_JSON_DEPTH - 1)}}`), 400, 'json_too_deep');
  });

  test('non-finite numbers are 400 number_out_of_range, not stored as null', async () => {
    const before = await counts();
    for (const n of ['1e309', '-1e309', '1E400', `1${'0'.repeat(400)}`]) {
      const error = refused(await runInput(`{"amount":${n}}`), 400, 'number_out_of_range');
      assert.equal(error.param, 'input.amount');
    }
    assert.deepEqual(await counts(), before);
    const big = await runInput('{"amount":1e308,"tiny":1e-400}');
    assert.equal(big.statusCode, 200, big.body);
    assert.deepEqual(big.json().input, { amount: 1e308, tiny: 0 });
  });

  test('invalid UTF-8 is 400 invalid_utf8, not stored as U+FFFD', async () => {
    const before = await counts();
    const head = Buffer.from(`{"agent_id":"${agent}","input":{"q":"caf`);
    const body = Buffer.concat([head, Buffer.from([0xe9]), Buffer.from('"}}')]); // latin1 é
    refused(await post('/v2/runs', body), 400, 'invalid_utf8');
    const overlong = Buffer.concat([head, Buffer.from([0xc0, 0xaf]), Buffer.from('"}}')]);
    refused(await post('/v2/runs', overlong), 400, 'invalid_utf8');
    assert.deepEqual(await counts(), before);
    const good = await runInput('{"q":"café 日本 🎉"}');
    assert.equal(good.json().input.q, 'café 日本 🎉');
  });

  test('duplicate keys are 400 duplicate_key with the path, also when escaped differently', async () => {
    const before = await counts();
    assert.equal(
      refused(await post('/v2/agents', '{"name":"a","model":"mock/a","name":"b"}'), 400, 'duplicate_key')
        .param,
      'name',
    );
    assert.equal(
      refused(await runInput('{"q":1,"r":{"x":1,"\\u0078":2}}'), 400, 'duplicate_key').param,
      'input.r.x',
    );
    assert.equal(
      refused(await runInput('{"list":[{"a":1},{"a":1,"a":2}]}'), 400, 'duplicate_key').param,
      'input.list[1].a',
    );
    assert.deepEqual(await counts(), before);
    // the same key in sibling objects is not a duplicate
    assert.equal((await runInput('{"a":{"k":1},"b":{"k":2},"k":[{"k":3}]}')).statusCode, 200);
  });

  test('an escaped backslash before u0000 is text; a real \\u0000 escape is refused', async () => {
    const ok = await runInput('{"q":"C:\\\\u0000\\\\path","r":"\\\\\\\\u0000"}');
    assert.equal(ok.statusCode, 200, ok.body);
    assert.deepEqual(ok.json().input, { q: 'C:\\u0000\\path', r: '\\\\u0000' });
    const before = await counts();
    refused(await runInput('{"q":"a\\u0000b"}'), 400, 'invalid_character');
    refused(await runInput('{"q":"\\\\\\u0000"}'), 400, 'invalid_character');
    assert.deepEqual(await counts(), before);
  });

  test('gzip, UTF-16 and other charsets are 415 with a code that says so', async () => {
    const before = await counts();
    const json = `{"agent_id":"${agent}","input":{"q":"hi"}}`;
    refused(
      await post('/v2/runs', gzipSync(json), { 'content-encoding': 'gzip' }),
      415,
      'unsupported_content_encoding',
    );
    refused(await post('/v2/runs', json, { 'content-encoding': 'br' }), 415, 'unsupported_content_encoding');
    refused(await post('/v2/runs', Buffer.from(json, 'utf16le')), 415, 'unsupported_charset');
    refused(await post('/v2/runs', Buffer.from(`\ufeff${json}`, 'utf16le')), 415, 'unsupported_charset');
    const be = Buffer.from(json, 'utf16le').swap16();
    refused(await post('/v2/runs', be), 415, 'unsupported_charset');
    refused(
      await post('/v2/runs', json, { 'content-type': 'application/json; charset=iso-8859-1' }),
      415,
      'unsupported_charset',
    );
    assert.deepEqual(await counts(), before);
    const fine = await post('/v2/runs', json, {
      'content-type': 'application/json; charset=UTF-8',
      'content-encoding': 'identity',
    });
    assert.equal(fine.statusCode, 200, fine.body);
  });

  test('syntax errors stay 400 invalid_json; a raw control character too', async () => {
    refused(await post('/v2/runs', '{"agent_id": '), 400, 'invalid_json');
    refused(await post('/v2/runs', `{"agent_id":"${agent}","input":{"q":"a\u0001b"}}`), 400, 'invalid_json');
    refused(await post('/v2/runs', `{"agent_id":"${agent}","input":{"q":"a"}}x`), 400, 'invalid_json');
  });

  // Bug 9: an empty body with Content-Type: application/json is no body.
  const call = (method: string, url: string, headers: Record<string, string> = {}) =>
    t.app.inject({ method: method as 'POST', url, headers: { ...bearer(key), ...headers } });
  const emptyJson = (method: string, url: string) =>
    call(method, url, { ...JSON_TYPE, 'content-length': '0' });

  test('DELETE, rotate and rollback answer as if no Content-Type were sent', async () => {
    const agentToDelete = await t.newAgent(key, 'gone');
    const del = await emptyJson('DELETE', `/v2/agents/${agentToDelete}`);
    assert.ok(del.statusCode < 300, del.body);
    assert.equal((await call('GET', `/v2/agents/${agentToDelete}`)).statusCode, 404);

    const created = await t.app.inject({
      method: 'POST',
      url: '/v2/api-keys',
      headers: bearer(key),
      payload: { name: 'to rotate' },
    });
    const rotated = await emptyJson('POST', `/v2/api-keys/${created.json().id}/rotate`);
    assert.ok(rotated.statusCode < 300, rotated.body);
    assert.match(rotated.body, /sk-airmy-/);

    // rollback: the same answer with and without the header (here: nothing to roll back to)
    const agent = await t.newAgent(key, 'deployed');
    const dep = await t.app.inject({
      method: 'POST',
      url: '/v2/deployments',
      headers: bearer(key),
      payload: { agent_id: agent },
    });
    const id = dep.json().id;
    // the two answers are compared once the deployment has settled (validation runs after the 201)
    for (let i = 0; i < 400; i++) {
      const status = (await call('GET', `/v2/deployments/${id}`)).json().status;
      if (status !== 'pending' && status !== 'validating') break;
      await new Promise((r) => setTimeout(r, 25));
    }
    const without = await call('POST', `/v2/deployments/${id}/rollback`);
    const withHeader = await emptyJson('POST', `/v2/deployments/${id}/rollback`);
    assert.notEqual(withHeader.json().error?.code, 'invalid_json', withHeader.body);
    assert.equal(withHeader.statusCode, without.statusCode, withHeader.body);
    assert.equal(withHeader.json().error?.code, without.json().error?.code);

    // no Content-Length at all (curl -X POST -H 'Content-Type: application/json')
    const run = await t.app.inject({
      method: 'POST',
      url: '/v2/runs',
      headers: bearer(key),
      payload: { agent_id: agent, input: { q: 'x' }, background: true },
    });
    const cancel = await call('DELETE', `/v2/runs/${run.json().id}`, JSON_TYPE);
    assert.notEqual(cancel.json().error?.code, 'invalid_json', cancel.body);
    assert.ok(cancel.statusCode < 300 || cancel.statusCode === 409 || cancel.statusCode === 422, cancel.body);
  });

  test('a POST that needs a body still says which field is missing', async () => {
    const res = await emptyJson('POST', '/v2/runs');
    assert.equal(res.statusCode, 400);
    assert.equal(res.json().error.code, 'parameter_missing');
  });
});

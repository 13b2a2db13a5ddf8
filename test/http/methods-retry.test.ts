/**
 * Issue 19, bug 10: an unknown method (QUERY…) or a known method no route takes is 405 with Allow,
 * answered before the body is read; an unknown path is 404 whatever its body. Issue 16: every
 * error says whether a retry can help (x-should-retry), and browsers may read that header.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { bearer, createTestApp, forEachDb, type TestApp } from '../support/harness.ts';

type Res = { statusCode: number; headers: Record<string, unknown>; body: string };

function envelope(res: Res, status: number, code: string, retry: 'true' | 'false') {
  assert.equal(res.statusCode, status, res.body);
  const { error } = JSON.parse(res.body);
  assert.equal(error.code, code);
  assert.equal(error.request_id, res.headers['request-id']);
  assert.equal(res.headers['x-should-retry'], retry, `${status} ${code}`);
}

forEachDb('405 with Allow for any method, x-should-retry on every error', (target) => {
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
    extra: { payload?: string; headers?: Record<string, string> } = {},
  ) =>
    t.app.inject({
      method: method as 'GET',
      url,
      headers: { ...bearer(key), ...extra.headers },
      payload: extra.payload,
    });

  test('QUERY, PROPFIND and PUT on a known path: 405 with the path’s methods in Allow', async () => {
    for (const method of ['QUERY', 'PROPFIND', 'PUT', 'TRACE']) {
      const runs = await inject(method, '/v2/runs');
      envelope(runs, 405, 'method_not_allowed', 'false');
      assert.equal(runs.headers.allow, 'POST, GET, HEAD');
      const one = await inject(method, '/v2/agents/ag_01HXXXXXXXXXXXXXXXXXXXXXXX?x=1');
      envelope(one, 405, 'method_not_allowed', 'false');
      assert.equal(one.headers.allow, 'GET, HEAD, PATCH, DELETE');
    }
    // with a body, even a broken one: the method is the problem, not the JSON
    const withBody = await inject('QUERY', '/v2/runs', {
      payload: '{"broken": ',
      headers: { 'content-type': 'application/json' },
    });
    envelope(withBody, 405, 'method_not_allowed', 'false');
  });

  test('an unknown path is 404 whatever the method or body', async () => {
    envelope(await inject('QUERY', '/v2/nope'), 404, 'route_not_found', 'false');
    envelope(
      await inject('POST', '/v2/nope', {
        payload: '{"broken": ',
        headers: { 'content-type': 'application/json' },
      }),
      404,
      'route_not_found',
      'false',
    );
  });

  test('x-should-retry: false for the client’s mistakes', async () => {
    envelope(await t.app.inject({ url: '/v2/organization' }), 401, 'missing_api_key', 'false');
    const narrow = await t.newOrg('free', ['agents:read']);
    envelope(
      await inject('GET', '/v2/organization', { headers: bearer(narrow.key) }),
      403,
      'insufficient_permissions',
      'false',
    );
    envelope(
      await inject('GET', '/v2/agents/ag_01HXXXXXXXXXXXXXXXXXXXXXXX'),
      404,
      'resource_missing',
      'false',
    );
    const json = { 'content-type': 'application/json' };
    envelope(
      await inject('POST', '/v2/api-keys', { payload: '{"name": 1}', headers: json }),
      400,
      'parameter_invalid',
      'false',
    );
    envelope(
      await inject('POST', '/v2/api-keys', {
        payload: JSON.stringify({ name: 'x'.repeat(1_100_000) }),
        headers: json,
      }),
      413,
      'body_too_large',
      'false',
    );
    envelope(
      await inject('POST', '/v2/api-keys', { payload: 'x', headers: { 'content-type': 'text/plain' } }),
      415,
      'unsupported_media_type',
      'false',
    );
    envelope(
      await inject('POST', '/v2/api-keys', { payload: '{"scopes":["runs:fly"]}', headers: json }),
      422,
      'invalid_scope',
      'false',
    );
    const idem = { ...json, 'idempotency-key': 'retry-reused' };
    await inject('POST', '/v2/api-keys', { payload: '{"name":"a"}', headers: idem });
    envelope(
      await inject('POST', '/v2/api-keys', { payload: '{"name":"b"}', headers: idem }),
      422,
      'idempotency_key_reused',
      'false',
    );
  });

  test('x-should-retry: true for a key in flight and for rate limits, and browsers may read it', async () => {
    const agent = await t.newAgent(key, 'slow', { parameters: { mock_latency_ms: 1500 } });
    const headers = { 'content-type': 'application/json', 'idempotency-key': 'retry-in-flight' };
    const payload = JSON.stringify({ agent_id: agent, input: { q: 'x' } });
    // identical submissions at once: one runs, the others find its claim in flight
    const answers = await Promise.all(
      Array.from({ length: 5 }, () => inject('POST', '/v2/runs', { payload, headers })),
    );
    const inUse = answers.filter((r) => r.statusCode === 409);
    assert.ok(inUse.length > 0, answers.map((r) => r.statusCode).join(' '));
    for (const res of inUse) envelope(res, 409, 'idempotency_key_in_use', 'true');
    assert.ok(answers.some((r) => r.statusCode === 200));

    const free = await t.newOrg('free');
    let limited: Res | undefined;
    for (let i = 0; i < 200 && !limited; i++) {
      const res = await inject('GET', '/v2/organization', { headers: bearer(free.key) });
      if (res.statusCode === 429) limited = res;
    }
    assert.ok(limited, 'the free plan limits within 200 requests');
    envelope(limited, 429, 'rate_limit_exceeded', 'true');

    const cors = await inject('GET', '/v2/nope', { headers: { origin: 'https://app.example' } });
    assert.match(String(cors.headers['access-control-expose-headers']), /X-Should-Retry/);
  });
});

/**
 * Request ids: every answer — success, error, unknown route, unauthenticated — carries
 * `Request-Id: req_…`, a new one each time, minted by the server (a client's own Request-Id header
 * is not echoed); error bodies repeat it as `error.request_id`. Browser-visible headers are listed
 * in Access-Control-Expose-Headers for a cross-origin request.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assertError, type Context } from '../context.ts';

export function requestIdCases(ctx: () => Context) {
  test('every answer carries a fresh Request-Id, errors repeat it in the body', async () => {
    const c = ctx();
    const answers = [
      await c.client.request('GET', '/organization', { key: c.key }),
      await c.client.request('GET', '/organization'),
      await c.client.request('GET', '/agents/ag_conformance_missing', { key: c.key }),
      await c.client.request('GET', '/no-such-route', { key: c.key }),
      await c.client.request('POST', '/agents', { key: c.key, body: { unknown_field: 1 } }),
    ];
    const ids = answers.map((res) => {
      const id = res.header('request-id');
      assert.match(id ?? '', /^req_[0-9A-Za-z]+$/, `Request-Id on a ${res.status}`);
      return id;
    });
    assert.equal(new Set(ids).size, ids.length, 'each answer has its own id');
    assert.equal(answers[0]!.status, 200);
    assertError(answers[1]!, 401, 'missing_api_key');
    assert.equal(answers[2]!.status, 404);
    assertError(answers[2]!, 404, answers[2]!.json().error.code, 'not_found_error');
    assert.equal(answers[3]!.status, 404);
    assertError(answers[3]!, 404, answers[3]!.json().error.code);
    assert.equal(answers[4]!.status, 400);
    assertError(answers[4]!, 400, answers[4]!.json().error.code, 'invalid_request_error');
  });

  test('a Request-Id sent by the client is not echoed: the server mints its own', async () => {
    const c = ctx();
    const res = await c.client.request('GET', '/organization', {
      key: c.key,
      headers: { 'request-id': 'req_chosen_by_client', 'x-request-id': 'req_chosen_by_client' },
    });
    assert.equal(res.status, 200);
    assert.match(res.header('request-id') ?? '', /^req_/);
    assert.notEqual(res.header('request-id'), 'req_chosen_by_client');
  });

  test('a cross-origin request sees the gateway headers listed in Access-Control-Expose-Headers', async () => {
    const c = ctx();
    const res = await c.client.request('GET', '/organization', {
      key: c.key,
      headers: { origin: 'https://app.example' },
    });
    const exposed = (res.header('access-control-expose-headers') ?? '').toLowerCase();
    for (const h of ['request-id', 'ratelimit', 'ratelimit-policy', 'retry-after', 'idempotent-replayed'])
      assert.ok(exposed.split(/\s*,\s*/).includes(h), `${h} is exposed (got "${exposed}")`);
  });
}

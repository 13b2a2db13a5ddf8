import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { bearer, createTestApp, DEMO_KEY, forEachDb, type TestApp } from '../support/harness.ts';

function assertEnvelope(
  res: { statusCode: number; headers: Record<string, unknown>; json(): unknown },
  status: number,
  code: string,
) {
  assert.equal(res.statusCode, status, JSON.stringify(res.json()));
  const body = res.json() as { error: Record<string, string> };
  assert.equal(body.error.code, code);
  assert.match(body.error.request_id, /^req_[0-9A-Z]{26}$/);
  assert.equal(body.error.request_id, res.headers['request-id']);
  assert.equal(typeof body.error.message, 'string');
  assert.equal(typeof body.error.type, 'string');
  return body.error;
}

forEachDb('errors: every status of the reference is reachable, one envelope', (target) => {
  let t: TestApp;
  let key: string;
  before(async () => {
    t = await createTestApp(target);
    key = (await t.newOrg('developer')).key;
  });
  after(() => t.close());

  test('400: malformed JSON, unknown field, mistyped field, missing field', async () => {
    const post = (payload: string) =>
      t.app.inject({
        method: 'POST',
        url: '/v2/api-keys',
        headers: { ...bearer(key), 'content-type': 'application/json' },
        payload,
      });
    assertEnvelope(await post('{"name": '), 400, 'invalid_json');
    const unknown = assertEnvelope(await post('{"name":"x","colour":"red"}'), 400, 'parameter_unknown');
    assert.equal(unknown.param, 'colour');
    const mistyped = assertEnvelope(await post('{"name": 42}'), 400, 'parameter_invalid');
    assert.equal(mistyped.param, 'name');
    const missing = assertEnvelope(
      await t.app.inject({
        method: 'POST',
        url: '/v2/auth/token',
        headers: bearer(key),
        payload: { scopes: [1] },
      }),
      400,
      'parameter_invalid',
    );
    assert.equal(missing.param, 'scopes[0]');
    // nothing was written by any of them
    const keys = await t.app.inject({ url: '/v2/api-keys', headers: bearer(key) });
    assert.equal(keys.json().data.length, 1);
  });

  test('401: no key, unknown key, malformed header, bad checksum', async () => {
    assertEnvelope(await t.app.inject({ url: '/v2/organization' }), 401, 'missing_api_key');
    assertEnvelope(
      await t.app.inject({ url: '/v2/organization', headers: { authorization: 'Basic abc' } }),
      401,
      'invalid_authorization_header',
    );
    assertEnvelope(
      await t.app.inject({ url: '/v2/organization', headers: bearer(`sk-airmy-${'a'.repeat(38)}`) }),
      401,
      'invalid_api_key',
    );
    const flipped = key.slice(0, 12) + (key[12] === 'a' ? 'b' : 'a') + key.slice(13);
    assertEnvelope(
      await t.app.inject({ url: '/v2/organization', headers: bearer(flipped) }),
      401,
      'invalid_api_key',
    );
  });

  test('403: a key without the scope', async () => {
    const narrow = await t.newOrg('free', ['agents:read']);
    assertEnvelope(
      await t.app.inject({ url: '/v2/organization', headers: bearer(narrow.key) }),
      403,
      'insufficient_permissions',
    );
    assertEnvelope(
      await t.app.inject({ url: '/v2/api-keys', headers: bearer(DEMO_KEY) }),
      403,
      'insufficient_permissions',
    );
  });

  test("404: unknown route, unknown id, another org's id", async () => {
    assertEnvelope(await t.app.inject({ url: '/v2/nope', headers: bearer(key) }), 404, 'route_not_found');
    assertEnvelope(
      await t.app.inject({ url: '/v2/api-keys/key_01HXXXXXXXXXXXXXXXXXXXXXXX', headers: bearer(key) }),
      404,
      'resource_missing',
    );
    const other = await t.newOrg('free');
    const res = await t.app.inject({ url: `/v2/api-keys/${other.keyId}`, headers: bearer(key) });
    assertEnvelope(res, 404, 'resource_missing');
    assert.doesNotMatch(res.body, /redacted_value/);
  });

  test('405 with Allow, 413 over 1 MiB, 415 non-JSON, 410 for v1', async () => {
    const m = await t.app.inject({ method: 'PUT', url: '/v2/organization', headers: bearer(key) });
    assertEnvelope(m, 405, 'method_not_allowed');
    assert.equal(m.headers.allow, 'GET, HEAD');
    const big = await t.app.inject({
      method: 'POST',
      url: '/v2/api-keys',
      headers: { ...bearer(key), 'content-type': 'application/json' },
      payload: JSON.stringify({ name: 'x'.repeat(1024 * 1024 + 10) }),
    });
    assertEnvelope(big, 413, 'body_too_large');
    const text = await t.app.inject({
      method: 'POST',
      url: '/v2/api-keys',
      headers: { ...bearer(key), 'content-type': 'text/plain' },
      payload: 'name=x',
    });
    assertEnvelope(text, 415, 'unsupported_media_type');
    assertEnvelope(await t.app.inject({ url: '/v1/runs' }), 410, 'api_version_retired');
  });

  test('422: semantic validation (unknown scope)', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/v2/api-keys',
      headers: bearer(key),
      payload: { scopes: ['runs:fly'] },
    });
    assert.equal(assertEnvelope(res, 422, 'invalid_scope').param, 'scopes');
  });

  test('500: a failure inside a service is an envelope without internals, logged with the request id', async () => {
    const original = t.resources.services.organizations.get;
    t.resources.services.organizations.get = async () => {
      throw new Error('SELECT secret_column FROM db: connection exploded at /src/x.ts:12');
    };
    try {
      const before = t.resources.counters.internalErrors;
      const res = await t.app.inject({ url: '/v2/organization', headers: bearer(key) });
      const error = assertEnvelope(res, 500, 'internal_error');
      assert.doesNotMatch(res.body, /SELECT|exploded|\.ts|stack/);
      assert.equal(t.resources.counters.internalErrors, before + 1);
      const logged = t.logs.find((l) => l.includes(error.request_id) && l.includes('"level":50'));
      assert.ok(logged, 'the 500 is logged at error level with its request id');
      assert.match(logged, /connection exploded/);
    } finally {
      t.resources.services.organizations.get = original;
    }
  });

  test('every answer carries Request-Id and exposes it to browsers', async () => {
    const res = await t.app.inject({ url: '/v2/organization', headers: bearer(key) });
    assert.match(String(res.headers['request-id']), /^req_/);
    const browser = await t.app.inject({
      url: '/v2/organization',
      headers: { ...bearer(key), origin: 'https://console.example.com' },
    });
    assert.match(String(browser.headers['access-control-expose-headers']), /Request-Id/);
  });

  test('the Authorization header never reaches the log', async () => {
    await t.app.inject({ url: '/v2/organization', headers: bearer(key) });
    assert.ok(t.logs.length > 0);
    assert.ok(!t.logs.some((l) => l.includes(key)), 'key found in logs');
  });
});

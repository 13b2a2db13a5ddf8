/**
 * Authentication: Bearer API keys and session tokens, the browser session cookie, which one wins
 * when both are sent (Bearer; the cookie is then never looked at), and the 401/403 envelopes.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { assertError, type Context, SESSION_COOKIE } from '../context.ts';

const AUTHN = 'authentication_error';
const PERM = 'permission_error';

export function authCases(ctx: () => Context) {
  test('no credentials: 401 missing_api_key', async () => {
    const { client } = ctx();
    assertError(await client.request('GET', '/organization'), 401, 'missing_api_key', AUTHN);
    // a Cookie header without the session cookie is no credential either
    assertError(
      await client.request('GET', '/organization', { headers: { cookie: 'theme=dark' } }),
      401,
      'missing_api_key',
      AUTHN,
    );
  });

  test('an Authorization header that is not "Bearer <token>": 401 invalid_authorization_header', async () => {
    const { client } = ctx();
    for (const authorization of ['Basic dXNlcjpwYXNz', 'Bearer', 'sk-airmy-demo-2026']) {
      assertError(
        await client.request('GET', '/organization', { headers: { authorization } }),
        401,
        'invalid_authorization_header',
        AUTHN,
      );
    }
  });

  test('an unknown or malformed API key: 401 invalid_api_key', async () => {
    const { client } = ctx();
    for (const key of [`sk-airmy-${randomBytes(19).toString('hex')}`, 'sk-airmy-nope', 'not-a-key']) {
      assertError(await client.request('GET', '/organization', { key }), 401, 'invalid_api_key', AUTHN);
    }
  });

  test('a valid key is served; a session token works as Bearer with only its scopes (403 beyond them)', async () => {
    const { client, key, readOnlyToken, orgId } = ctx();
    const org = await client.request('GET', '/organization', { key });
    assert.equal(org.status, 200);
    assert.equal(org.json().id, orgId);
    const viaToken = await client.request('GET', '/organization', { key: readOnlyToken });
    assert.equal(viaToken.status, 200, viaToken.body);
    assert.equal(viaToken.json().id, orgId);
    assertError(
      await client.request('GET', '/agents', { key: readOnlyToken }),
      403,
      'insufficient_permissions',
      PERM,
    );
    // a session token can never mint credentials
    assertError(
      await client.request('POST', '/auth/token', { key: readOnlyToken, body: {} }),
      403,
      'insufficient_permissions',
      PERM,
    );
  });

  test('the session cookie alone authenticates a safe request; a bad one is 401 invalid_session', async () => {
    const { client, cookie, orgId } = ctx();
    const res = await client.request('GET', '/organization', {
      headers: { cookie: `theme=dark; ${cookie}` },
    });
    assert.equal(res.status, 200, res.body);
    assert.equal(res.json().id, orgId);
    const bad = `${SESSION_COOKIE}=bs-airmy-${randomBytes(19).toString('hex')}`;
    assertError(
      await client.request('GET', '/organization', { headers: { cookie: bad } }),
      401,
      'invalid_session',
      AUTHN,
    );
  });

  test('Bearer wins over the cookie: the Bearer credential alone decides, the cookie is ignored', async () => {
    const { client, cookie, readOnlyToken } = ctx();
    // the cookie could list agents; the read-only Bearer token cannot: its answer is the one given
    const listed = await client.request('GET', '/agents', { headers: { cookie } });
    assert.equal(listed.status, 200, listed.body);
    assertError(
      await client.request('GET', '/agents', { key: readOnlyToken, headers: { cookie } }),
      403,
      'insufficient_permissions',
      PERM,
    );
    // an invalid Bearer is 401 even beside a valid cookie (no fallback to the cookie)
    assertError(
      await client.request('GET', '/organization', { key: 'sk-airmy-nope', headers: { cookie } }),
      401,
      'invalid_api_key',
      AUTHN,
    );
    // and a malformed Authorization header is not "no header": still 401, cookie or not
    assertError(
      await client.request('GET', '/organization', { headers: { authorization: 'Basic x', cookie } }),
      401,
      'invalid_authorization_header',
      AUTHN,
    );
  });
}

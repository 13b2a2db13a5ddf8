import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { bearer, createTestApp, FakeClock, forEachDb, type TestApp } from '../support/harness.ts';

forEachDb('session tokens: 1 h bearer tokens minted from a key', (target) => {
  let t: TestApp;
  let key: string;
  const clock = new FakeClock();
  before(async () => {
    t = await createTestApp(target, { clock });
    key = (await t.newOrg('developer')).key;
  });
  after(() => t.close());

  const mint = (secret: string, payload?: object) =>
    t.app.inject({
      method: 'POST',
      url: '/v2/auth/token',
      headers: bearer(secret),
      ...(payload ? { payload } : {}),
    });

  test('a token works as Bearer for an hour, then token_expired', async () => {
    const res = await mint(key);
    assert.equal(res.statusCode, 201);
    const { token, expires_at } = res.json();
    assert.match(token, /^st-airmy-[0-9A-Za-z]{38}$/);
    assert.equal(Date.parse(expires_at) - clock.now(), 3600 * 1000);
    assert.equal((await t.app.inject({ url: '/v2/organization', headers: bearer(token) })).statusCode, 200);
    clock.advance(3600 * 1000);
    const expired = await t.app.inject({ url: '/v2/organization', headers: bearer(token) });
    assert.equal(expired.statusCode, 401);
    assert.equal(expired.json().error.code, 'token_expired');
  });

  test('scopes can only narrow', async () => {
    const narrow = (await mint(key, { scopes: ['agents:read'] })).json();
    assert.deepEqual(narrow.scopes, ['agents:read']);
    const res = await t.app.inject({ url: '/v2/organization', headers: bearer(narrow.token) });
    assert.equal(res.statusCode, 403);
    const wider = await mint(key, { scopes: ['keys:admin'] });
    assert.equal(wider.statusCode, 422);
    assert.equal(wider.json().error.param, 'scopes[0]');
  });

  test('a token cannot mint tokens', async () => {
    const { token } = (await mint(key)).json();
    const res = await mint(token);
    assert.equal(res.statusCode, 403);
  });

  test('a malformed token is 401 invalid_token', async () => {
    const res = await t.app.inject({ url: '/v2/organization', headers: bearer('st-airmy-nope') });
    assert.equal(res.statusCode, 401);
    assert.equal(res.json().error.code, 'invalid_token');
  });
});

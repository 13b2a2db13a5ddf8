import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { isWellFormed } from '../../src/auth/secrets.ts';
import { bearer, createTestApp, FakeClock, forEachDb, type TestApp } from '../support/harness.ts';

forEachDb('API keys: create, list, rotate with grace, revoke', (target) => {
  let t: TestApp;
  let admin: string;
  const clock = new FakeClock();
  before(async () => {
    t = await createTestApp(target, { clock });
    admin = (await t.newOrg('business')).key;
  });
  after(() => t.close());

  const create = (body: object = {}) =>
    t.app.inject({ method: 'POST', url: '/v2/api-keys', headers: bearer(admin), payload: body });

  test('a created key is shown once, in the sk-airmy format, and works', async () => {
    const res = await create({ name: 'ci', scopes: ['agents:read', 'organization:read'] });
    assert.equal(res.statusCode, 201);
    const key = res.json();
    assert.match(key.id, /^key_/);
    assert.match(key.secret, /^sk-airmy-[0-9A-Za-z]{38}$/);
    assert.ok(isWellFormed(key.secret, 'sk-airmy-'));
    assert.equal(key.redacted_value, `${key.secret.slice(0, 13)}…${key.secret.slice(-4)}`);
    assert.deepEqual(key.scopes, ['agents:read', 'organization:read']);
    const again = await t.app.inject({ url: `/v2/api-keys/${key.id}`, headers: bearer(admin) });
    assert.equal(again.statusCode, 200);
    assert.equal(again.json().secret, undefined, 'the secret is never shown again');
    assert.doesNotMatch(again.body, new RegExp(key.secret));
    assert.equal(
      (await t.app.inject({ url: '/v2/organization', headers: bearer(key.secret) })).statusCode,
      200,
    );
  });

  test('lists page newest first with cursors', async () => {
    const made: string[] = [];
    for (let i = 0; i < 5; i++) made.push((await create({ name: `page-${i}` })).json().id);
    const first = (await t.app.inject({ url: '/v2/api-keys?limit=2', headers: bearer(admin) })).json();
    assert.equal(first.object, 'list');
    assert.deepEqual(
      first.data.map((k: { id: string }) => k.id),
      [made[4], made[3]],
    );
    assert.equal(first.has_more, true);
    const next = (
      await t.app.inject({ url: `/v2/api-keys?limit=2&starting_after=${made[3]}`, headers: bearer(admin) })
    ).json();
    assert.deepEqual(
      next.data.map((k: { id: string }) => k.id),
      [made[2], made[1]],
    );
    const back = (
      await t.app.inject({ url: `/v2/api-keys?limit=2&ending_before=${made[2]}`, headers: bearer(admin) })
    ).json();
    assert.deepEqual(
      back.data.map((k: { id: string }) => k.id),
      [made[4], made[3]],
    );
    const bad = await t.app.inject({ url: '/v2/api-keys?limit=101', headers: bearer(admin) });
    assert.equal(bad.statusCode, 400);
    assert.equal(bad.json().error.param, 'limit');
  });

  test('rotation: new secret now, the old one works 24 h, then api_key_expired', async () => {
    const key = (await create({ name: 'rotating' })).json();
    const rotated = await t.app.inject({
      method: 'POST',
      url: `/v2/api-keys/${key.id}/rotate`,
      headers: bearer(admin),
    });
    assert.equal(rotated.statusCode, 200);
    const fresh = rotated.json().secret;
    assert.notEqual(fresh, key.secret);
    assert.equal(rotated.json().id, key.id);
    const check = (secret: string) => t.app.inject({ url: '/v2/organization', headers: bearer(secret) });
    assert.equal((await check(key.secret)).statusCode, 200);
    assert.equal((await check(fresh)).statusCode, 200);
    clock.advance(24 * 3600 * 1000 - 1000);
    assert.equal((await check(key.secret)).statusCode, 200);
    clock.advance(2000);
    const expired = await check(key.secret);
    assert.equal(expired.statusCode, 401);
    assert.equal(expired.json().error.code, 'api_key_expired');
    assert.equal((await check(fresh)).statusCode, 200);
  });

  test('revocation is immediate, for the key and the tokens minted from it', async () => {
    const key = (await create({ name: 'doomed' })).json();
    const token = (
      await t.app.inject({ method: 'POST', url: '/v2/auth/token', headers: bearer(key.secret) })
    ).json().token;
    const del = await t.app.inject({
      method: 'DELETE',
      url: `/v2/api-keys/${key.id}`,
      headers: bearer(admin),
    });
    assert.equal(del.statusCode, 200);
    assert.ok(del.json().revoked_at);
    const res = await t.app.inject({ url: '/v2/organization', headers: bearer(key.secret) });
    assert.equal(res.statusCode, 401);
    assert.equal(res.json().error.code, 'invalid_api_key');
    assert.equal((await t.app.inject({ url: '/v2/organization', headers: bearer(token) })).statusCode, 401);
  });

  test('last_used_at is kept, without a write on every request', async () => {
    const key = (await create({ name: 'used' })).json();
    assert.equal(key.last_used_at, null);
    await t.app.inject({ url: '/v2/organization', headers: bearer(key.secret) });
    const first = (await t.app.inject({ url: `/v2/api-keys/${key.id}`, headers: bearer(admin) })).json()
      .last_used_at;
    assert.equal(first, new Date(clock.now()).toISOString());
    clock.advance(10_000);
    await t.app.inject({ url: '/v2/organization', headers: bearer(key.secret) });
    const second = (await t.app.inject({ url: `/v2/api-keys/${key.id}`, headers: bearer(admin) })).json()
      .last_used_at;
    assert.equal(second, first, 'not rewritten within a minute');
    clock.advance(60_000);
    await t.app.inject({ url: '/v2/organization', headers: bearer(key.secret) });
    const third = (await t.app.inject({ url: `/v2/api-keys/${key.id}`, headers: bearer(admin) })).json()
      .last_used_at;
    assert.equal(third, new Date(clock.now()).toISOString());
  });

  test('keys:admin is needed, and session tokens cannot manage keys', async () => {
    const narrow = (await create({ scopes: ['organization:read'] })).json().secret;
    assert.equal((await t.app.inject({ url: '/v2/api-keys', headers: bearer(narrow) })).statusCode, 403);
    const token = (
      await t.app.inject({ method: 'POST', url: '/v2/auth/token', headers: bearer(admin) })
    ).json();
    assert.ok(!token.scopes.includes('keys:admin'));
    const res = await t.app.inject({ url: '/v2/api-keys', headers: bearer(token.token) });
    assert.equal(res.statusCode, 403);
    assert.equal(res.json().error.code, 'insufficient_permissions');
  });
});

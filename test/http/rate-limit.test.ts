import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { bearer, createTestApp, FakeClock, forEachDb, type TestApp } from '../support/harness.ts';

forEachDb('rate limits: GCRA per key and per organization, headers on every answer', (target) => {
  let t: TestApp;
  const clock = new FakeClock();
  before(async () => {
    t = await createTestApp(target, { clock });
  });
  after(() => t.close());

  test('a free key gets 150 requests in one instant, the 151st is 429, and Retry-After is honest', async () => {
    const { key } = await t.newOrg('free');
    for (let i = 1; i <= 150; i++) {
      const res = await t.app.inject({ url: '/v2/organization', headers: bearer(key) });
      assert.equal(res.statusCode, 200, `request ${i}`);
      assert.equal(res.headers['ratelimit-policy'], '"minute";q=100;w=60');
      assert.equal(res.headers['x-ratelimit-remaining'], String(150 - i));
    }
    const limited = await t.app.inject({ url: '/v2/organization', headers: bearer(key) });
    assert.equal(limited.statusCode, 429);
    assert.equal(limited.json().error.code, 'rate_limit_exceeded');
    const retryAfter = Number(limited.headers['retry-after']);
    assert.ok(Number.isInteger(retryAfter) && retryAfter >= 1);
    assert.match(String(limited.headers.ratelimit), /^"minute";r=0;t=\d+$/);

    // just before Retry-After the bucket still refuses; at Retry-After it admits again
    clock.advance(retryAfter * 1000 - 500);
    const early = await t.app.inject({ url: '/v2/organization', headers: bearer(key) });
    if (retryAfter * 1000 - 500 < 600) assert.equal(early.statusCode, 429);
    clock.advance(500);
    const again = await t.app.inject({ url: '/v2/organization', headers: bearer(key) });
    assert.equal(again.statusCode, 200);
  });

  test('buckets are per key: one exhausted key does not limit another', async () => {
    const a = await t.newOrg('free');
    const b = await t.newOrg('free');
    for (let i = 0; i < 151; i++) await t.app.inject({ url: '/v2/organization', headers: bearer(a.key) });
    assert.equal((await t.app.inject({ url: '/v2/organization', headers: bearer(a.key) })).statusCode, 429);
    assert.equal((await t.app.inject({ url: '/v2/organization', headers: bearer(b.key) })).statusCode, 200);
  });

  test('session tokens share their key’s bucket', async () => {
    const { key } = await t.newOrg('free');
    const token = (await t.app.inject({ method: 'POST', url: '/v2/auth/token', headers: bearer(key) })).json()
      .token;
    for (let i = 0; i < 149; i++) await t.app.inject({ url: '/v2/organization', headers: bearer(token) });
    assert.equal((await t.app.inject({ url: '/v2/organization', headers: bearer(key) })).statusCode, 429);
  });

  test('ten keys of one free org together get one plan’s burst, not ten', async () => {
    const { orgId, key } = await t.newOrg('free');
    const keys = [key];
    for (let i = 1; i < 10; i++)
      keys.push((await t.resources.services.apiKeys.create(orgId, { name: `k${i}` })).secret);
    let admitted = 0;
    let firstRefusal: Awaited<ReturnType<typeof t.app.inject>> | undefined;
    // round-robin over the ten keys: each key alone stays far below its own 150
    for (let i = 0; i < 10 * 150 && firstRefusal === undefined; i++) {
      const res = await t.app.inject({ url: '/v2/organization', headers: bearer(keys[i % 10]!) });
      if (res.statusCode === 200) admitted++;
      else firstRefusal = res;
    }
    assert.equal(admitted, 150, 'the organization as a whole gets the plan’s burst');
    assert.ok(firstRefusal);
    assert.equal(firstRefusal.statusCode, 429);
    assert.equal(firstRefusal.json().error.code, 'rate_limit_exceeded');
    assert.ok(Number(firstRefusal.headers['retry-after']) >= 1);
    // every key of the org is refused now, a session token of it too; another org is not
    for (const k of keys)
      assert.equal((await t.app.inject({ url: '/v2/organization', headers: bearer(k) })).statusCode, 429);
    const other = await t.newOrg('free');
    assert.equal(
      (await t.app.inject({ url: '/v2/organization', headers: bearer(other.key) })).statusCode,
      200,
    );
  });

  test('the headers report the binding limit: a fresh key of a busy org shows the org’s remaining', async () => {
    const { orgId, key } = await t.newOrg('free');
    for (let i = 0; i < 100; i++) await t.app.inject({ url: '/v2/organization', headers: bearer(key) });
    const second = (await t.resources.services.apiKeys.create(orgId, { name: 'fresh' })).secret;
    const res = await t.app.inject({ url: '/v2/organization', headers: bearer(second) });
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['ratelimit-policy'], '"minute";q=100;w=60');
    // the fresh key's own bucket has 149 left; the organization's 49: that one binds
    assert.equal(res.headers['x-ratelimit-remaining'], '49');
    assert.match(String(res.headers.ratelimit), /^"minute";r=49;t=\d+$/);
    assert.equal(res.headers['x-ratelimit-limit'], '100');
  });

  test('a refused request spends nothing: after Retry-After every key of the org is admitted again', async () => {
    const { orgId, key } = await t.newOrg('free');
    const second = (await t.resources.services.apiKeys.create(orgId, { name: 'b' })).secret;
    for (let i = 0; i < 150; i++) await t.app.inject({ url: '/v2/organization', headers: bearer(key) });
    // hammering the second key while the org is exhausted must not drain the second key's own bucket
    for (let i = 0; i < 50; i++) {
      assert.equal(
        (await t.app.inject({ url: '/v2/organization', headers: bearer(second) })).statusCode,
        429,
      );
    }
    const limited = await t.app.inject({ url: '/v2/organization', headers: bearer(second) });
    clock.advance(Number(limited.headers['retry-after']) * 1000);
    const again = await t.app.inject({ url: '/v2/organization', headers: bearer(second) });
    assert.equal(again.statusCode, 200);
  });

  test('plans set the policy: developer 1,000/min', async () => {
    const { key } = await t.newOrg('developer');
    const res = await t.app.inject({ url: '/v2/organization', headers: bearer(key) });
    assert.equal(res.headers['ratelimit-policy'], '"minute";q=1000;w=60');
    assert.deepEqual(res.json().limits, { requests_per_minute: 1000, burst: 1500 });
  });

  test('429 answers are never stored by idempotency', async () => {
    const { key } = await t.newOrg('free');
    for (let i = 0; i < 150; i++) await t.app.inject({ url: '/v2/organization', headers: bearer(key) });
    const h = { ...bearer(key), 'idempotency-key': 'after-limit' };
    const limited = await t.app.inject({ method: 'POST', url: '/v2/auth/token', headers: h });
    assert.equal(limited.statusCode, 429);
    clock.advance(60_000);
    const ok = await t.app.inject({ method: 'POST', url: '/v2/auth/token', headers: h });
    assert.equal(ok.statusCode, 201);
    assert.equal(ok.headers['idempotent-replayed'], undefined);
  });
});

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { bearer, createTestApp, FakeClock, forEachDb, type TestApp } from '../support/harness.ts';

forEachDb('rate limits: GCRA per key, headers on every answer', (target) => {
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

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { bearer, createTestApp, FakeClock, forEachDb, type TestApp } from '../support/harness.ts';

forEachDb('idempotency keys: replay, reuse, concurrency', (target) => {
  let t: TestApp;
  let key: string;
  const clock = new FakeClock();
  before(async () => {
    t = await createTestApp(target, { clock });
    key = (await t.newOrg('business')).key;
  });
  after(() => t.close());

  // an ordinary create (its answer holds no secret: see idempotency-secrets.test.ts for those)
  const post = (idem: string, body: object, secret = key) =>
    t.app.inject({
      method: 'POST',
      url: '/v2/agents',
      headers: { ...bearer(secret), 'idempotency-key': idem },
      payload: { model: 'mock/idempotency', ...body },
    });
  const count = async () =>
    (await t.app.inject({ url: '/v2/agents?limit=100', headers: bearer(key) })).json().data.length;

  test('same key + same body: the stored answer, replayed byte for byte', async () => {
    const before = await count();
    const first = await post('k-1', { name: 'once' });
    const second = await post('k-1', { name: 'once' });
    assert.equal(first.statusCode, 201);
    assert.equal(second.statusCode, 201);
    assert.equal(second.headers['idempotent-replayed'], 'true');
    assert.equal(first.headers['idempotent-replayed'], undefined);
    assert.equal(second.body, first.body);
    assert.equal(await count(), before + 1);
  });

  test('same key + different body: 422 idempotency_key_reused, nothing created', async () => {
    await post('k-2', { name: 'a' });
    const before = await count();
    const res = await post('k-2', { name: 'b' });
    assert.equal(res.statusCode, 422);
    assert.equal(res.json().error.code, 'idempotency_key_reused');
    assert.equal(await count(), before);
  });

  test('keys are scoped per organization and path', async () => {
    const other = await t.newOrg('business');
    const a = await post('shared', { name: 'x' });
    const b = await post('shared', { name: 'x' }, other.key);
    assert.equal(b.headers['idempotent-replayed'], undefined);
    assert.notEqual(a.json().id, b.json().id);
  });

  test('concurrent identical submissions create exactly one object', async () => {
    const before = await count();
    const answers = await Promise.all(Array.from({ length: 30 }, () => post('k-race', { name: 'race' })));
    const created = new Set(answers.filter((r) => r.statusCode === 201).map((r) => r.json().id));
    assert.equal(created.size, 1);
    for (const r of answers)
      assert.ok(r.statusCode === 201 || r.statusCode === 409, `unexpected ${r.statusCode}`);
    for (const r of answers.filter((a) => a.statusCode === 409))
      assert.equal(r.json().error.code, 'idempotency_key_in_use');
    assert.equal(await count(), before + 1);
  });

  test('validation 400s are not stored; a key over 255 chars is a 400', async () => {
    const bad = await post('k-400', { name: 7 });
    assert.equal(bad.statusCode, 400);
    const good = await post('k-400', { name: 'fixed' });
    assert.equal(good.statusCode, 201);
    assert.equal(good.headers['idempotent-replayed'], undefined);
    const long = await post('x'.repeat(256), { name: 'y' });
    assert.equal(long.statusCode, 400);
    assert.equal(long.json().error.code, 'invalid_idempotency_key');
  });

  test('an Idempotency-Key with a NUL character is a 400 and claims nothing', async () => {
    const res = await post('a\u0000b', { name: 'nul' });
    assert.equal(res.statusCode, 400);
    assert.equal(res.json().error.code, 'invalid_character');
  });

  test('a stored answer lives 24 h', async () => {
    const first = await post('k-ttl', { name: 'ttl' });
    clock.advance(24 * 3600 * 1000 + 1);
    const later = await post('k-ttl', { name: 'ttl' });
    assert.equal(later.headers['idempotent-replayed'], undefined);
    assert.notEqual(later.json().id, first.json().id);
  });
});

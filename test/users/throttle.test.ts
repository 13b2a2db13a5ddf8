import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  ACCOUNT_LOCK_MS,
  ACCOUNT_MAX_FAILURES,
  ADDRESS_BASE_LOCK_MS,
  ADDRESS_MAX_FAILURES,
  accountSubject,
} from '../../src/users/throttle.ts';
import { bearer, createTestApp, FakeClock, forEachDb, type TestApp } from '../support/harness.ts';
import { address, email, login, newUser, PASSWORD } from './support.ts';

const WRONG = 'definitely not it';

forEachDb('login throttling: per account and per address, with lockouts that end', (target) => {
  let t: TestApp;
  let orgId: string;
  let key: string;
  const clock = new FakeClock();
  before(async () => {
    t = await createTestApp(target, { clock });
    ({ orgId, key } = await t.newOrg('business'));
  });
  after(() => t.close());

  const auditActions = async () =>
    (
      (await t.app.inject({ url: '/v2/logs?limit=100', headers: bearer(key) })).json().data as Array<{
        action: string;
        resource: { id: string } | null;
        status_code: number;
      }>
    ).map((l) => ({ action: l.action, id: l.resource?.id ?? null }));

  test('an account locks after 10 failures: 429 login_throttled with Retry-After, even with the right password', async () => {
    const user = await newUser(t, orgId, 'developer');
    for (let i = 0; i < ACCOUNT_MAX_FAILURES; i++) {
      const res = await login(t, { email: user.email, password: WRONG }, address());
      assert.equal(res.statusCode, 401, `failure ${i + 1}`);
    }
    const locked = await login(t, { email: user.email, password: PASSWORD }, address());
    assert.equal(locked.statusCode, 429, locked.body);
    assert.equal(locked.json().error.code, 'login_throttled');
    assert.equal(locked.headers['retry-after'], String(ACCOUNT_LOCK_MS / 1000));
    assert.equal(locked.headers['set-cookie'], undefined);
    const actions = await auditActions();
    assert.equal(actions.filter((a) => a.action === 'user.locked_out' && a.id === user.id).length, 1);
    // the lock ends by itself
    clock.advance(ACCOUNT_LOCK_MS);
    const after = await login(t, { email: user.email, password: PASSWORD }, address());
    assert.equal(after.statusCode, 200, after.body);
  });

  test('the account lockout does not shut out an address that logged in to it before', async () => {
    const user = await newUser(t, orgId, 'developer');
    const home = address();
    assert.equal((await login(t, { email: user.email, password: PASSWORD }, home)).statusCode, 200);
    for (let i = 0; i < ACCOUNT_MAX_FAILURES; i++)
      await login(t, { email: user.email, password: WRONG }, address());
    assert.equal((await login(t, { email: user.email, password: PASSWORD }, address())).statusCode, 429);
    assert.equal((await login(t, { email: user.email, password: PASSWORD }, home)).statusCode, 200);
  });

  test('an unknown email locks exactly like a real one (a lockout reveals nothing)', async () => {
    const ghost = email('ghost');
    for (let i = 0; i < ACCOUNT_MAX_FAILURES; i++)
      assert.equal((await login(t, { email: ghost, password: WRONG }, address())).statusCode, 401);
    const res = await login(t, { email: ghost, password: WRONG }, address());
    assert.equal(res.statusCode, 429);
    assert.equal(res.json().error.code, 'login_throttled');
  });

  test('an address guessing across accounts locks, for twice as long each time', async () => {
    const ip = address();
    const spray = async () => {
      for (let i = 0; i < ADDRESS_MAX_FAILURES; i++)
        assert.equal((await login(t, { email: email('spray'), password: WRONG }, ip)).statusCode, 401);
    };
    const victim = await newUser(t, orgId, 'viewer');
    await spray();
    const first = await login(t, { email: victim.email, password: PASSWORD }, ip);
    assert.equal(first.statusCode, 429);
    assert.equal(first.headers['retry-after'], String(ADDRESS_BASE_LOCK_MS / 1000));
    // other addresses are not affected
    assert.equal((await login(t, { email: victim.email, password: PASSWORD }, address())).statusCode, 200);
    clock.advance(ADDRESS_BASE_LOCK_MS);
    await spray();
    const second = await login(t, { email: victim.email, password: PASSWORD }, ip);
    assert.equal(second.statusCode, 429);
    assert.equal(second.headers['retry-after'], String((2 * ADDRESS_BASE_LOCK_MS) / 1000));
    // a day without failures and the escalation starts over
    clock.advance(24 * 60 * 60_000 + 2 * ADDRESS_BASE_LOCK_MS);
    await spray();
    const fresh = await login(t, { email: victim.email, password: PASSWORD }, ip);
    assert.equal(fresh.headers['retry-after'], String(ADDRESS_BASE_LOCK_MS / 1000));
    clock.advance(ADDRESS_BASE_LOCK_MS);
  });

  test('20 concurrent wrong logins are counted exactly: 20 failures, one lockout', async () => {
    const user = await newUser(t, orgId, 'developer');
    const ip = address();
    const results = await Promise.all(
      Array.from({ length: 20 }, () => login(t, { email: user.email, password: WRONG }, ip)),
    );
    assert.deepEqual(
      results.map((r) => r.statusCode),
      Array(20).fill(401),
    );
    const row = await t.resources.db.kysely
      .selectFrom('login_throttle')
      .selectAll()
      .where('subject', '=', accountSubject(user.email))
      .executeTakeFirstOrThrow();
    assert.equal(Number(row.failures), 20);
    assert.equal(Number(row.lockouts), 1);
    const actions = await auditActions();
    assert.equal(actions.filter((a) => a.action === 'user.login_failed' && a.id === user.id).length, 20);
    assert.equal(actions.filter((a) => a.action === 'user.locked_out' && a.id === user.id).length, 1);
    assert.equal((await login(t, { email: user.email, password: PASSWORD }, address())).statusCode, 429);
    clock.advance(ACCOUNT_LOCK_MS);
  });
});

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ROLE_SCOPES } from '../../src/users/roles.ts';
import { bearer, createTestApp, FakeClock, forEachDb, type TestApp } from '../support/harness.ts';
import {
  address,
  asUser,
  COOKIE,
  cookieOf,
  email,
  login,
  newUser,
  PASSWORD,
  session,
  withCookie,
} from './support.ts';

const ATTRIBUTES = 'Secure; HttpOnly; SameSite=Strict; Path=/';

forEachDb('web login: email and password to the session cookie', (target) => {
  let t: TestApp;
  let orgId: string;
  let key: string;
  const clock = new FakeClock();
  before(async () => {
    t = await createTestApp(target, { clock });
    ({ orgId, key } = await t.newOrg('developer'));
  });
  after(() => t.close());

  test('login answers the session and its user, and sets the __Host- cookie (secret never in the body)', async () => {
    const user = await newUser(t, orgId, 'developer');
    const res = await login(t, { email: user.email.toUpperCase(), password: PASSWORD });
    assert.equal(res.statusCode, 200, res.body);
    const setCookie = String(res.headers['set-cookie']);
    assert.match(setCookie, new RegExp(`^${COOKIE}=us-airmy-[0-9A-Za-z]{38}; ${ATTRIBUTES}; Max-Age=43200$`));
    const secret = cookieOf(res);
    assert.ok(!res.body.includes(secret));
    assert.equal(res.headers['cache-control'], 'no-store');
    const body = res.json();
    assert.equal(body.object, 'user_session');
    assert.match(body.id, /^sess_/);
    assert.deepEqual(body.user, {
      object: 'user',
      id: user.id,
      email: user.email,
      name: 'developer',
      role: 'developer',
      organization_id: orgId,
      created_at: new Date(clock.now()).toISOString(),
    });
    assert.deepEqual(body.scopes, [...ROLE_SCOPES.developer]);
    assert.equal(Date.parse(body.expires_at) - clock.now(), 43_200_000);
    assert.equal(Date.parse(body.idle_expires_at) - clock.now(), 1_800_000);
    assert.equal(Date.parse(body.reauthenticated_until) - clock.now(), 600_000);
  });

  test('GET /auth/me: the user with role, scopes, organization and session', async () => {
    const user = await newUser(t, orgId, 'viewer');
    const secret = await session(t, user);
    const me = await asUser(t, secret, 'GET', '/v2/auth/me');
    assert.equal(me.statusCode, 200, me.body);
    const body = me.json();
    assert.equal(body.object, 'user');
    assert.equal(body.id, user.id);
    assert.equal(body.role, 'viewer');
    assert.deepEqual(body.scopes.sort(), [...ROLE_SCOPES.viewer].sort());
    assert.deepEqual(body.organization, { id: orgId, name: 'test developer', plan: 'developer' });
    assert.match(body.session.id, /^sess_/);
    assert.ok(body.session.idle_expires_at);
  });

  test('GET /auth/me for an API key and a key-minted browser session: a principal', async () => {
    const byKey = (await t.app.inject({ url: '/v2/auth/me', headers: bearer(key) })).json();
    assert.equal(byKey.object, 'principal');
    assert.equal(byKey.kind, 'api_key');
    assert.equal(byKey.organization.id, orgId);
    assert.ok(byKey.scopes.includes('keys:admin'));
    const minted = await t.app.inject({ method: 'POST', url: '/v2/auth/session', headers: bearer(key) });
    const bs = cookieOf(minted);
    const bySession = (await t.app.inject({ url: '/v2/auth/me', headers: withCookie(bs) })).json();
    assert.equal(bySession.object, 'principal');
    assert.equal(bySession.kind, 'session');
    assert.ok(!bySession.scopes.includes('keys:admin'));
  });

  test('a wrong password and an unknown email get the same 401', async () => {
    const user = await newUser(t, orgId, 'viewer');
    const wrong = await login(t, { email: user.email, password: 'not the password!' }, address());
    const unknown = await login(t, { email: email('nobody'), password: PASSWORD }, address());
    for (const res of [wrong, unknown]) {
      assert.equal(res.statusCode, 401);
      assert.equal(res.headers['set-cookie'], undefined);
    }
    const strip = (b: { error: Record<string, unknown> }) => ({ ...b.error, request_id: undefined });
    assert.deepEqual(strip(wrong.json()), strip(unknown.json()));
    assert.deepEqual(strip(wrong.json()), {
      type: 'authentication_error',
      code: 'invalid_credentials',
      message: 'Incorrect email or password.',
      request_id: undefined,
    });
  });

  test('bad login bodies are 400 and log nobody in', async () => {
    for (const payload of [
      {},
      { email: 'a@b.co' },
      { email: 'a@b.co', password: 'x', extra: 1 },
      { email: 1, password: 'x' },
    ]) {
      const res = await login(t, payload);
      assert.equal(res.statusCode, 400, JSON.stringify(payload));
      assert.equal(res.headers['set-cookie'], undefined);
    }
  });

  test('a password shorter than 12 characters is refused at creation, naming the field', async () => {
    await assert.rejects(
      t.resources.services.users.create({ orgId, email: email(), role: 'viewer', password: 'short pass1' }),
      (err: { status: number; code: string; param: string }) =>
        err.status === 422 && err.code === 'password_too_short' && err.param === 'password',
    );
  });

  test('a login from another site is refused (login CSRF); our own pages and curl are not', async () => {
    const user = await newUser(t, orgId, 'viewer');
    const body = { email: user.email, password: PASSWORD };
    const crossSite: Record<string, string>[] = [
      { 'sec-fetch-site': 'cross-site' },
      { 'sec-fetch-site': 'same-site' },
      { origin: 'https://evil.example' },
    ];
    for (const headers of crossSite) {
      const res = await login(t, body, '127.0.0.1', headers);
      assert.equal(res.statusCode, 403, JSON.stringify(headers));
      assert.equal(res.json().error.code, 'cross_site_request');
      assert.equal(res.headers['set-cookie'], undefined);
    }
    assert.equal((await login(t, body, '127.0.0.1', { 'sec-fetch-site': 'same-origin' })).statusCode, 200);
    assert.equal((await login(t, body)).statusCode, 200);
  });

  test('CSRF rules hold for the user cookie: no origin proof, no write', async () => {
    const user = await newUser(t, orgId, 'developer');
    const secret = await session(t, user);
    const agent = { name: 'csrf', model: 'mock/airmy-demo' };
    const count = async () =>
      (await t.app.inject({ url: '/v2/agents?limit=100', headers: bearer(key) })).json().data.length;
    const before = await count();
    for (const headers of [
      { cookie: `${COOKIE}=${secret}` },
      { cookie: `${COOKIE}=${secret}`, 'sec-fetch-site': 'cross-site' },
      { cookie: `${COOKIE}=${secret}`, origin: 'https://evil.example' },
    ]) {
      const res = await t.app.inject({ method: 'POST', url: '/v2/agents', headers, payload: agent });
      assert.equal(res.statusCode, 403, JSON.stringify(headers));
    }
    const res = await t.app.inject({
      method: 'POST',
      url: '/v2/agents',
      headers: { ...withCookie(secret), 'content-type': 'text/plain' },
      payload: JSON.stringify(agent),
    });
    assert.equal(res.statusCode, 415);
    assert.equal(await count(), before);
    const ok = await asUser(t, secret, 'POST', '/v2/agents', agent);
    assert.equal(ok.statusCode, 201, ok.body);
  });

  test('roles: each gets 403 outside its scopes and its own reads', async () => {
    const viewer = await session(t, await newUser(t, orgId, 'viewer'));
    const developer = await session(t, await newUser(t, orgId, 'developer'));
    const admin = await session(t, await newUser(t, orgId, 'admin'));
    const agent = { name: 'by role', model: 'mock/airmy-demo' };
    const cases: Array<[string, string, string, object | undefined, number]> = [
      [viewer, 'GET', '/v2/agents', undefined, 200],
      [viewer, 'GET', '/v2/members', undefined, 200],
      [viewer, 'POST', '/v2/agents', agent, 403],
      [viewer, 'POST', '/v2/runs', { agent_id: 'ag_x', input: 'hi' }, 403],
      [viewer, 'GET', '/v2/api-keys', undefined, 403],
      [developer, 'POST', '/v2/agents', agent, 201],
      [developer, 'GET', '/v2/api-keys', undefined, 403],
      [developer, 'POST', '/v2/invitations', { email: email(), role: 'viewer' }, 403],
      [developer, 'POST', '/v2/alerts', {}, 403],
      [admin, 'GET', '/v2/api-keys', undefined, 200],
      [admin, 'GET', '/v2/logs', undefined, 200],
    ];
    for (const [secret, method, url, payload, status] of cases) {
      const res = await asUser(t, secret, method, url, payload);
      assert.equal(res.statusCode, status, `${method} ${url}: ${res.body}`);
      if (status === 403) assert.equal(res.json().error.code, 'insufficient_permissions');
    }
  });

  test('sudo mode: key management from a web session needs the password within 10 minutes', async () => {
    const user = await newUser(t, orgId, 'admin');
    const secret = await session(t, user);
    const created = await asUser(t, secret, 'POST', '/v2/api-keys', { name: 'from the dashboard' });
    assert.equal(created.statusCode, 201, created.body);
    const keyId = created.json().id;
    clock.advance(10 * 60_000 + 1);
    for (const [method, url, payload] of [
      ['POST', '/v2/api-keys', { name: 'late' }],
      ['POST', `/v2/api-keys/${keyId}/rotate`, undefined],
      ['DELETE', `/v2/api-keys/${keyId}`, undefined],
    ] as const) {
      const res = await asUser(t, secret, method, url, payload);
      assert.equal(res.statusCode, 403, `${method} ${url}`);
      assert.equal(res.json().error.code, 'reauthentication_required');
    }
    // reading keys is not sudo
    assert.equal((await asUser(t, secret, 'GET', '/v2/api-keys')).statusCode, 200);
    const wrong = await asUser(t, secret, 'POST', '/v2/auth/reauthenticate', { password: 'wrong password!' });
    assert.equal(wrong.statusCode, 403);
    assert.equal(wrong.json().error.code, 'invalid_credentials');
    const re = await asUser(t, secret, 'POST', '/v2/auth/reauthenticate', { password: PASSWORD });
    assert.equal(re.statusCode, 200, re.body);
    assert.equal(Date.parse(re.json().reauthenticated_until) - clock.now(), 600_000);
    const rotated = await asUser(t, secret, 'POST', `/v2/api-keys/${keyId}/rotate`);
    assert.equal(rotated.statusCode, 200, rotated.body);
    const revoked = await asUser(t, secret, 'DELETE', `/v2/api-keys/${keyId}`);
    assert.equal(revoked.statusCode, 200, revoked.body);
    // an API key needs no sudo: it keeps working as before
    const byKey = await t.app.inject({
      method: 'POST',
      url: '/v2/api-keys',
      headers: bearer(key),
      payload: { name: 'k' },
    });
    assert.equal(byKey.statusCode, 201);
    // a developer never gets there: the scope comes first
    const dev = await session(t, await newUser(t, orgId, 'developer'));
    assert.equal(
      (await asUser(t, dev, 'POST', '/v2/api-keys', { name: 'x' })).json().error.code,
      'insufficient_permissions',
    );
  });

  test('idle timeout: a session unused for 30 minutes is dead; activity keeps it alive', async () => {
    const user = await newUser(t, orgId, 'viewer');
    const active = await session(t, user);
    const idle = await session(t, user);
    for (let i = 0; i < 4; i++) {
      clock.advance(10 * 60_000);
      assert.equal((await asUser(t, active, 'GET', '/v2/auth/me')).statusCode, 200, `step ${i}`);
    }
    const dead = await asUser(t, idle, 'GET', '/v2/auth/me');
    assert.equal(dead.statusCode, 401);
    assert.equal(dead.json().error.code, 'session_expired');
    assert.equal(dead.headers['set-cookie'], `${COOKIE}=; ${ATTRIBUTES}; Max-Age=0`);
    assert.equal((await asUser(t, active, 'GET', '/v2/auth/me')).statusCode, 200);
  });

  test('absolute lifetime: a session ends after 12 hours however active', async () => {
    const user = await newUser(t, orgId, 'viewer');
    const secret = await session(t, user);
    for (let i = 0; i < 24; i++) {
      clock.advance(29 * 60_000);
      assert.equal((await asUser(t, secret, 'GET', '/v2/organization')).statusCode, 200, `step ${i}`);
    }
    clock.advance(24 * 60_000 + 1);
    const res = await asUser(t, secret, 'GET', '/v2/organization');
    assert.equal(res.statusCode, 401);
    assert.equal(res.json().error.code, 'session_expired');
  });

  test('sessions list (current marked) and revoke; logout kills the cookie server-side', async () => {
    const user = await newUser(t, orgId, 'developer');
    const laptop = await session(t, user, '192.0.2.10');
    const phone = await session(t, user, '192.0.2.11');
    const listed = await asUser(t, laptop, 'GET', '/v2/auth/sessions');
    assert.equal(listed.statusCode, 200, listed.body);
    const data = listed.json().data;
    assert.equal(data.length, 2);
    const current = data.find((s: { current: boolean }) => s.current);
    const other = data.find((s: { current: boolean }) => !s.current);
    assert.equal(current.ip, '192.0.2.10');
    assert.equal(other.ip, '192.0.2.11');
    assert.equal(other.user_agent, 'test-browser/1.0');
    assert.ok(other.created_at && other.last_seen_at);
    const revoke = await asUser(t, laptop, 'DELETE', `/v2/auth/sessions/${other.id}`);
    assert.equal(revoke.statusCode, 204);
    assert.equal((await asUser(t, phone, 'GET', '/v2/auth/me')).statusCode, 401);
    assert.equal((await asUser(t, laptop, 'DELETE', `/v2/auth/sessions/${other.id}`)).statusCode, 404);
    // another user's session id is not yours to end
    const stranger = await session(t, await newUser(t, orgId, 'admin'));
    const strangerId = (await asUser(t, stranger, 'GET', '/v2/auth/me')).json().session.id;
    assert.equal((await asUser(t, laptop, 'DELETE', `/v2/auth/sessions/${strangerId}`)).statusCode, 404);
    assert.equal((await asUser(t, stranger, 'GET', '/v2/auth/me')).statusCode, 200);
    // logout
    const out = await asUser(t, laptop, 'DELETE', '/v2/auth/session');
    assert.equal(out.statusCode, 204);
    assert.equal(out.headers['set-cookie'], `${COOKIE}=; ${ATTRIBUTES}; Max-Age=0`);
    assert.equal((await asUser(t, laptop, 'GET', '/v2/auth/me')).statusCode, 401);
    // an API key has no web sessions: an empty list, and no session id is its to end
    const byKey = await t.app.inject({ url: '/v2/auth/sessions', headers: bearer(key) });
    assert.equal(byKey.statusCode, 200);
    assert.deepEqual(byKey.json().data, []);
    const keyRevoke = await t.app.inject({
      method: 'DELETE',
      url: `/v2/auth/sessions/${current.id}`,
      headers: bearer(key),
    });
    assert.equal(keyRevoke.statusCode, 404);
  });

  test('password change: the old password stops working and the other sessions end', async () => {
    const user = await newUser(t, orgId, 'developer');
    const here = await session(t, user);
    const there = await session(t, user);
    const short = await asUser(t, here, 'POST', '/v2/auth/password', {
      current_password: PASSWORD,
      new_password: 'too short',
    });
    assert.equal(short.statusCode, 422);
    assert.equal(short.json().error.param, 'new_password');
    const wrong = await asUser(t, here, 'POST', '/v2/auth/password', {
      current_password: 'nope nope nope',
      new_password: 'a brand new passphrase',
    });
    assert.equal(wrong.statusCode, 403);
    assert.equal(
      (await asUser(t, there, 'GET', '/v2/auth/me')).statusCode,
      200,
      'failed changes end nothing',
    );
    const ok = await asUser(t, here, 'POST', '/v2/auth/password', {
      current_password: PASSWORD,
      new_password: 'a brand new passphrase',
    });
    assert.equal(ok.statusCode, 204, ok.body);
    assert.equal((await asUser(t, here, 'GET', '/v2/auth/me')).statusCode, 200);
    assert.equal((await asUser(t, there, 'GET', '/v2/auth/me')).statusCode, 401);
    assert.equal((await login(t, { email: user.email, password: PASSWORD }, address())).statusCode, 401);
    assert.equal((await login(t, { email: user.email, password: 'a brand new passphrase' })).statusCode, 200);
  });

  test('the audit log records login, failure, logout and password change with the user as actor', async () => {
    const admin = await session(t, await newUser(t, orgId, 'admin'));
    const user = await newUser(t, orgId, 'developer');
    await login(t, { email: user.email, password: 'wrong wrong wrong' }, address());
    const secret = await session(t, user);
    await asUser(t, secret, 'POST', '/v2/auth/password', {
      current_password: PASSWORD,
      new_password: 'another good passphrase',
    });
    await asUser(t, secret, 'DELETE', '/v2/auth/session');
    const logs = (await asUser(t, admin, 'GET', '/v2/logs?limit=100')).json().data as Array<{
      action: string;
      actor: { type: string; id: string };
      outcome: string;
      ip: string | null;
    }>;
    const mine = logs.filter((l) => l.actor.id === user.id).map((l) => `${l.action}/${l.outcome}`);
    for (const want of [
      'user.login_failed/denied',
      'user.logged_in/success',
      'user.password_changed/success',
      'user.logged_out/success',
    ])
      assert.ok(mine.includes(want), `${want} in ${mine.join(', ')}`);
    assert.ok(logs.filter((l) => l.actor.id === user.id).every((l) => l.actor.type === 'user'));
  });

  test('the retention sweep deletes dead sessions and spent throttle counters, and keeps live ones', async () => {
    const user = await newUser(t, orgId, 'viewer');
    const dead = await session(t, user);
    clock.advance(20 * 60_000);
    const live = await session(t, user);
    await login(t, { email: email('gone'), password: 'wrong wrong wrong' }, address());
    clock.advance(15 * 60_000);
    const count = async (table: 'user_sessions' | 'login_throttle') =>
      Number(
        (
          await t.resources.db.kysely
            .selectFrom(table)
            .select((eb) => eb.fn.countAll<number>().as('n'))
            .executeTakeFirstOrThrow()
        ).n,
      );
    const sessionsBefore = await count('user_sessions');
    await t.resources.retention.sweep();
    assert.ok((await count('user_sessions')) < sessionsBefore);
    assert.equal((await asUser(t, live, 'GET', '/v2/auth/me')).statusCode, 200);
    assert.equal((await asUser(t, dead, 'GET', '/v2/auth/me')).statusCode, 401);
    clock.advance(49 * 60 * 60_000);
    await t.resources.retention.sweep();
    assert.equal(await count('login_throttle'), 0);
  });
});

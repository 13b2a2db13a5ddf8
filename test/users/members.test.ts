import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { bearer, createTestApp, forEachDb, type TestApp } from '../support/harness.ts';
import { asUser, cookieOf, email, newUser, PASSWORD, session, withCookie } from './support.ts';

forEachDb('members and invitations', (target) => {
  let t: TestApp;
  let orgId: string;
  let key: string;
  let owner: { id: string; email: string; password: string };
  let ownerSession: string;
  before(async () => {
    t = await createTestApp(target);
    ({ orgId, key } = await t.newOrg('business'));
    owner = await newUser(t, orgId, 'owner');
    ownerSession = await session(t, owner);
  });
  after(() => t.close());

  test('GET /members lists the organization’s users with cursor pagination, never another org’s', async () => {
    const other = await t.newOrg('free');
    await newUser(t, other.orgId, 'owner');
    for (let i = 0; i < 3; i++) await newUser(t, orgId, 'viewer');
    const first = await asUser(t, ownerSession, 'GET', '/v2/members?limit=2');
    assert.equal(first.statusCode, 200, first.body);
    const page1 = first.json();
    assert.equal(page1.object, 'list');
    assert.equal(page1.data.length, 2);
    assert.equal(page1.has_more, true);
    const rest = (
      await asUser(t, ownerSession, 'GET', `/v2/members?limit=100&starting_after=${page1.data[1].id}`)
    ).json();
    const all = [...page1.data, ...rest.data];
    assert.ok(all.every((u: { organization_id: string }) => u.organization_id === orgId));
    assert.ok(all.some((u: { id: string }) => u.id === owner.id));
    assert.equal(new Set(all.map((u: { id: string }) => u.id)).size, all.length);
    // an API key with members:read sees the same
    const byKey = (await t.app.inject({ url: '/v2/members?limit=100', headers: bearer(key) })).json();
    assert.equal(byKey.data.length, all.length);
  });

  test('a role change applies at once: the member’s sessions end, the new role is what they log in with', async () => {
    const dev = await newUser(t, orgId, 'developer');
    const devSession = await session(t, dev);
    const res = await asUser(t, ownerSession, 'PATCH', `/v2/members/${dev.id}`, { role: 'viewer' });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.json().role, 'viewer');
    assert.equal((await asUser(t, devSession, 'GET', '/v2/auth/me')).statusCode, 401);
    const again = await session(t, dev);
    const write = await asUser(t, again, 'POST', '/v2/agents', { name: 'nope', model: 'mock/airmy-demo' });
    assert.equal(write.statusCode, 403);
  });

  test('removal: the member’s sessions die at once and they cannot log in', async () => {
    const dev = await newUser(t, orgId, 'developer');
    const devSession = await session(t, dev);
    const res = await asUser(t, ownerSession, 'DELETE', `/v2/members/${dev.id}`);
    assert.equal(res.statusCode, 204, res.body);
    assert.equal((await asUser(t, devSession, 'GET', '/v2/organization')).statusCode, 401);
    const relogin = await t.app.inject({
      method: 'POST',
      url: '/v2/auth/login',
      payload: { email: dev.email, password: PASSWORD },
    });
    assert.equal(relogin.statusCode, 401);
    assert.equal((await asUser(t, ownerSession, 'DELETE', `/v2/members/${dev.id}`)).statusCode, 404);
  });

  test('work done later for a user (a schedule made from a web session) acts with their current role', async () => {
    const dev = await newUser(t, orgId, 'developer');
    const p = await t.resources.services.users.principalForUser(dev.id);
    assert.equal(p?.orgId, orgId);
    assert.ok(p?.scopes.has('runs:write') && !p.scopes.has('keys:admin'));
    await asUser(t, ownerSession, 'PATCH', `/v2/members/${dev.id}`, { role: 'viewer' });
    assert.ok(!(await t.resources.services.users.principalForUser(dev.id))?.scopes.has('runs:write'));
    await asUser(t, ownerSession, 'DELETE', `/v2/members/${dev.id}`);
    assert.equal(await t.resources.services.users.principalForUser(dev.id), null);
  });

  test('the last owner cannot be demoted or removed (409); with a second owner they can', async () => {
    const { orgId: solo } = await t.newOrg('free');
    const only = await newUser(t, solo, 'owner');
    const s = await session(t, only);
    const demote = await asUser(t, s, 'PATCH', `/v2/members/${only.id}`, { role: 'admin' });
    assert.equal(demote.statusCode, 409);
    assert.equal(demote.json().error.code, 'last_owner');
    const remove = await asUser(t, s, 'DELETE', `/v2/members/${only.id}`);
    assert.equal(remove.statusCode, 409);
    assert.equal((await asUser(t, s, 'GET', '/v2/auth/me')).json().role, 'owner');
    const second = await newUser(t, solo, 'admin');
    assert.equal(
      (await asUser(t, s, 'PATCH', `/v2/members/${second.id}`, { role: 'owner' })).statusCode,
      200,
    );
    assert.equal((await asUser(t, s, 'PATCH', `/v2/members/${only.id}`, { role: 'admin' })).statusCode, 200);
  });

  test('two owners demoting each other at once: exactly one succeeds, an owner remains', async () => {
    const { orgId: pair } = await t.newOrg('free');
    const a = await newUser(t, pair, 'owner');
    const b = await newUser(t, pair, 'owner');
    const [sa, sb] = [await session(t, a), await session(t, b)];
    const results = await Promise.all([
      asUser(t, sa, 'PATCH', `/v2/members/${b.id}`, { role: 'admin' }),
      asUser(t, sb, 'PATCH', `/v2/members/${a.id}`, { role: 'admin' }),
    ]);
    const codes = results.map((r) => r.statusCode).sort();
    // the loser is 409 last_owner, or 401 when the winner's change ended its session first
    assert.equal(codes.filter((c) => c === 200).length, 1, JSON.stringify(codes));
    const users = await t.resources.services.users.list(pair);
    assert.equal(users.filter((u) => u.role === 'owner').length, 1);
  });

  test('admins manage members but not owners; bad roles are 422', async () => {
    const admin = await newUser(t, orgId, 'admin');
    const s = await session(t, admin);
    const viewer = await newUser(t, orgId, 'viewer');
    assert.equal(
      (await asUser(t, s, 'PATCH', `/v2/members/${viewer.id}`, { role: 'developer' })).statusCode,
      200,
    );
    for (const [method, url, body] of [
      ['PATCH', `/v2/members/${viewer.id}`, { role: 'owner' }],
      ['PATCH', `/v2/members/${owner.id}`, { role: 'viewer' }],
      ['DELETE', `/v2/members/${owner.id}`, undefined],
      ['POST', '/v2/invitations', { email: email(), role: 'owner' }],
    ] as const) {
      const res = await asUser(t, s, method, url, body);
      assert.equal(res.statusCode, 403, `${method} ${url} ${res.body}`);
    }
    const bad = await asUser(t, s, 'PATCH', `/v2/members/${viewer.id}`, { role: 'emperor' });
    assert.equal(bad.statusCode, 422);
    assert.equal(bad.json().error.param, 'role');
    assert.equal((await asUser(t, ownerSession, 'GET', `/v2/members/${owner.id}`)).json().role, 'owner');
    // an API key with members:write acts as an admin
    const byKey = await t.app.inject({
      method: 'PATCH',
      url: `/v2/members/${viewer.id}`,
      headers: bearer(key),
      payload: { role: 'owner' },
    });
    assert.equal(byKey.statusCode, 403);
  });

  test('invitations: token shown once, listed without it, accepted once into a logged-in user', async () => {
    const mail = email('invitee');
    const created = await asUser(t, ownerSession, 'POST', '/v2/invitations', {
      email: mail,
      role: 'developer',
    });
    assert.equal(created.statusCode, 201, created.body);
    const inv = created.json();
    assert.equal(inv.object, 'invitation');
    assert.match(inv.token, /^inv-airmy-/);
    const listed = (await asUser(t, ownerSession, 'GET', '/v2/invitations')).json();
    const row = listed.data.find((i: { id: string }) => i.id === inv.id);
    assert.equal(row.email, mail);
    assert.equal(row.token, undefined);
    assert.ok(!JSON.stringify(listed).includes(inv.token));

    const accept = (payload: object) =>
      t.app.inject({ method: 'POST', url: '/v2/auth/accept-invitation', payload });
    const short = await accept({ token: inv.token, name: 'New Dev', password: 'short' });
    assert.equal(short.statusCode, 422);
    assert.equal(short.json().error.param, 'password');
    const ok = await accept({ token: inv.token, name: 'New Dev', password: PASSWORD });
    assert.equal(ok.statusCode, 200, ok.body);
    assert.equal(ok.json().user.role, 'developer');
    assert.equal(ok.json().user.email, mail);
    const me = (await t.app.inject({ url: '/v2/auth/me', headers: withCookie(cookieOf(ok)) })).json();
    assert.equal(me.name, 'New Dev');
    assert.equal((await accept({ token: inv.token, password: PASSWORD })).statusCode, 404);
    assert.equal((await accept({ token: 'inv-airmy-nonsense', password: PASSWORD })).statusCode, 404);
    // inviting an existing user is a conflict
    const dup = await asUser(t, ownerSession, 'POST', '/v2/invitations', { email: mail, role: 'viewer' });
    assert.equal(dup.statusCode, 409);
  });

  test('one invitation accepted twice at once: exactly one user, one session', async () => {
    const mail = email('race');
    const inv = (
      await asUser(t, ownerSession, 'POST', '/v2/invitations', { email: mail, role: 'viewer' })
    ).json();
    const results = await Promise.all(
      [1, 2, 3].map(() =>
        t.app.inject({
          method: 'POST',
          url: '/v2/auth/accept-invitation',
          payload: { token: inv.token, password: PASSWORD },
        }),
      ),
    );
    const codes = results.map((r) => r.statusCode).sort();
    assert.equal(codes.filter((c) => c === 200).length, 1, JSON.stringify(codes));
    assert.ok(
      codes.every((c) => c === 200 || c === 404 || c === 409),
      JSON.stringify(codes),
    );
    const users = (await t.resources.services.users.list(orgId)).filter((u) => u.email === mail);
    assert.equal(users.length, 1);
  });

  test('a revoked invitation cannot be accepted; bad emails are 422', async () => {
    const inv = (
      await asUser(t, ownerSession, 'POST', '/v2/invitations', { email: email(), role: 'viewer' })
    ).json();
    assert.equal((await asUser(t, ownerSession, 'DELETE', `/v2/invitations/${inv.id}`)).statusCode, 204);
    const res = await t.app.inject({
      method: 'POST',
      url: '/v2/auth/accept-invitation',
      payload: { token: inv.token, password: PASSWORD },
    });
    assert.equal(res.statusCode, 404);
    const bad = await asUser(t, ownerSession, 'POST', '/v2/invitations', {
      email: 'not-an-email',
      role: 'viewer',
    });
    assert.equal(bad.statusCode, 422);
    assert.equal(bad.json().error.param, 'email');
  });

  test('the audit log records role changes, removals and invitations', async () => {
    const v = await newUser(t, orgId, 'viewer');
    await asUser(t, ownerSession, 'PATCH', `/v2/members/${v.id}`, { role: 'developer' });
    await asUser(t, ownerSession, 'DELETE', `/v2/members/${v.id}`);
    const inv = (
      await asUser(t, ownerSession, 'POST', '/v2/invitations', { email: email(), role: 'viewer' })
    ).json();
    await t.app.inject({
      method: 'POST',
      url: '/v2/auth/accept-invitation',
      payload: { token: inv.token, password: PASSWORD },
    });
    const logs = (await asUser(t, ownerSession, 'GET', '/v2/logs?limit=100')).json().data as Array<{
      action: string;
      resource: { id: string } | null;
      actor: { id: string };
    }>;
    const has = (action: string, id: string) =>
      logs.some((l) => l.action === action && l.resource?.id === id);
    assert.ok(has('member.updated', v.id));
    assert.ok(has('member.removed', v.id));
    assert.ok(has('invitation.created', inv.id));
    assert.ok(has('invitation.accepted', inv.id));
    const change = logs.find((l) => l.action === 'member.updated' && l.resource?.id === v.id);
    assert.equal(change?.actor.id, owner.id);
  });
});

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { bearer, createTestApp, FakeClock, forEachDb, type TestApp } from '../support/harness.ts';

const COOKIE = '__Host-airmy_session';
const ATTRIBUTES = 'Secure; HttpOnly; SameSite=Strict; Path=/';
const SAME_ORIGIN = { 'sec-fetch-site': 'same-origin' };
const agentBody = { name: 'Cookie agent', model: 'mock/airmy-demo', instructions: 'Be brief.' };

forEachDb('browser sessions: an HttpOnly cookie exchanged for an API key', (target) => {
  let t: TestApp;
  let key: string;
  let orgId: string;
  const clock = new FakeClock();
  before(async () => {
    t = await createTestApp(target, { clock });
    ({ key, orgId } = await t.newOrg('developer'));
  });
  after(() => t.close());

  const login = (headers: Record<string, string> = bearer(key), payload?: object) =>
    t.app.inject({
      method: 'POST',
      url: '/v2/auth/session',
      headers,
      ...(payload ? { payload } : {}),
    });
  /** A fresh session's cookie secret, read from Set-Cookie as a browser would. */
  const newSession = async (secret = key, payload?: object) => {
    const res = await login(bearer(secret), payload);
    assert.equal(res.statusCode, 201, res.body);
    const match = new RegExp(`^${COOKIE}=([^;]+);`).exec(String(res.headers['set-cookie']));
    assert.ok(match, 'no session cookie set');
    return match[1];
  };
  const withCookie = (secret: string, headers: Record<string, string> = {}) => ({
    cookie: `theme=dark; ${COOKIE}=${secret}; other=1`,
    ...headers,
  });
  const agentCount = async () =>
    (await t.app.inject({ url: '/v2/agents?limit=100', headers: bearer(key) })).json().data.length;
  const createAgent = (headers: Record<string, string>, payload: object | string = agentBody) =>
    t.app.inject({ method: 'POST', url: '/v2/agents', headers, payload });

  test('login sets the __Host- cookie with every attribute; the secret is never in the body', async () => {
    const res = await login();
    assert.equal(res.statusCode, 201);
    const setCookie = String(res.headers['set-cookie']);
    assert.match(setCookie, new RegExp(`^${COOKIE}=bs-airmy-[0-9A-Za-z]{38}; ${ATTRIBUTES}; Max-Age=3600$`));
    const secret = setCookie.slice(COOKIE.length + 1, setCookie.indexOf(';'));
    assert.ok(!res.body.includes(secret));
    assert.equal(res.headers['cache-control'], 'no-store');
    const body = res.json();
    assert.equal(body.object, 'browser_session');
    assert.match(body.id, /^tok_/);
    assert.deepEqual(Object.keys(body).sort(), ['expires_at', 'id', 'object', 'scopes']);
    assert.equal(Date.parse(body.expires_at) - clock.now(), 3600 * 1000);
    assert.ok(!body.scopes.includes('keys:admin'));
  });

  test('a bodiless login with Content-Length: 0 (what browsers send) works', async () => {
    const res = await login({ ...bearer(key), 'content-length': '0' });
    assert.equal(res.statusCode, 201, res.body);
    assert.equal(res.json().object, 'browser_session');
  });

  test('the cookie authenticates a GET, sharing its key rate-limit bucket', async () => {
    const secret = await newSession();
    const byKey = await t.app.inject({ url: '/v2/organization', headers: bearer(key) });
    const byCookie = await t.app.inject({ url: '/v2/organization', headers: withCookie(secret) });
    assert.equal(byCookie.statusCode, 200);
    assert.equal(byCookie.json().id, orgId);
    assert.equal(
      Number(byCookie.headers['x-ratelimit-remaining']),
      Number(byKey.headers['x-ratelimit-remaining']) - 1,
    );
  });

  test('an Authorization header wins: cookies are then ignored', async () => {
    const secret = await newSession();
    const badCookie = await t.app.inject({
      url: '/v2/organization',
      headers: { ...bearer(key), cookie: `${COOKIE}=bs-airmy-garbage` },
    });
    assert.equal(badCookie.statusCode, 200);
    for (const authorization of ['Bearer sk-airmy-wrong', 'Basic Zm9vOmJhcg==', '']) {
      const res = await t.app.inject({
        url: '/v2/organization',
        headers: withCookie(secret, { authorization }),
      });
      assert.equal(res.statusCode, 401, authorization);
    }
  });

  test('a Cookie header without the session cookie is the usual 401', async () => {
    const res = await t.app.inject({ url: '/v2/organization', headers: { cookie: 'theme=dark' } });
    assert.equal(res.statusCode, 401);
    assert.equal(res.json().error.code, 'missing_api_key');
  });

  test('unknown and malformed cookies are 401 invalid_session, and the browser is told to drop them', async () => {
    const { token } = (
      await t.app.inject({ method: 'POST', url: '/v2/auth/token', headers: bearer(key) })
    ).json();
    for (const value of ['nope', `bs-airmy-${'A'.repeat(38)}`, token, key]) {
      const res = await t.app.inject({ url: '/v2/organization', headers: withCookie(value) });
      assert.equal(res.statusCode, 401, value.slice(0, 12));
      assert.equal(res.json().error.code, 'invalid_session');
      assert.equal(res.headers['set-cookie'], `${COOKIE}=; ${ATTRIBUTES}; Max-Age=0`);
    }
  });

  test('the cookie secret is not a Bearer credential', async () => {
    const secret = await newSession();
    const res = await t.app.inject({ url: '/v2/organization', headers: bearer(secret) });
    assert.equal(res.statusCode, 401);
  });

  test('a cross-site or same-site unsafe request is 403 and writes nothing', async () => {
    const secret = await newSession();
    const before = await agentCount();
    for (const site of ['cross-site', 'same-site']) {
      const res = await createAgent(withCookie(secret, { 'sec-fetch-site': site }));
      assert.equal(res.statusCode, 403, site);
      assert.equal(res.json().error.code, 'cross_site_request');
    }
    assert.equal(await agentCount(), before);
  });

  test('a same-origin unsafe request with a JSON body works', async () => {
    const secret = await newSession();
    const before = await agentCount();
    const res = await createAgent(withCookie(secret, SAME_ORIGIN));
    assert.equal(res.statusCode, 201, res.body);
    assert.equal(await agentCount(), before + 1);
    // The cookie's GETs need no Fetch Metadata at all.
    const got = await t.app.inject({ url: `/v2/agents/${res.json().id}`, headers: withCookie(secret) });
    assert.equal(got.statusCode, 200);
  });

  test('without Sec-Fetch-Site, Origin must be this server (https + Host)', async () => {
    const secret = await newSession();
    const host = 'api.airmy.test:8443';
    const before = await agentCount();
    const ok = await createAgent(withCookie(secret, { host, origin: `https://${host}` }));
    assert.equal(ok.statusCode, 201, ok.body);
    for (const origin of ['https://evil.test', `http://${host}`, 'https://api.airmy.test', 'null']) {
      const res = await createAgent(withCookie(secret, { host, origin }));
      assert.equal(res.statusCode, 403, origin);
      assert.equal(res.json().error.code, 'cross_site_request');
    }
    assert.equal(await agentCount(), before + 1);
  });

  test('an unsafe cookie request with neither Sec-Fetch-Site nor Origin is 403', async () => {
    const secret = await newSession();
    const before = await agentCount();
    const res = await createAgent(withCookie(secret));
    assert.equal(res.statusCode, 403);
    assert.equal(res.json().error.code, 'origin_required');
    assert.equal(await agentCount(), before);
  });

  test('an unsafe cookie request must send JSON', async () => {
    const secret = await newSession();
    const before = await agentCount();
    for (const type of [
      'text/plain',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
    ]) {
      const res = await createAgent(
        withCookie(secret, { ...SAME_ORIGIN, 'content-type': type }),
        JSON.stringify(agentBody),
      );
      assert.equal(res.statusCode, 415, type);
      assert.equal(res.json().error.code, 'unsupported_media_type');
    }
    assert.equal(await agentCount(), before);
  });

  test('a browser session cannot mint tokens, start sessions or manage API keys', async () => {
    const secret = await newSession();
    const headers = withCookie(secret, SAME_ORIGIN);
    for (const [method, url] of [
      ['POST', '/v2/auth/token'],
      ['POST', '/v2/auth/session'],
      ['GET', '/v2/api-keys'],
      ['POST', '/v2/api-keys'],
    ] as const) {
      const res = await t.app.inject({ method, url, headers, ...(method === 'POST' ? { payload: {} } : {}) });
      assert.equal(res.statusCode, 403, `${method} ${url}`);
      assert.equal(res.json().error.code, 'insufficient_permissions');
    }
    // Nor can a session token start a browser session.
    const { token } = (
      await t.app.inject({ method: 'POST', url: '/v2/auth/token', headers: bearer(key) })
    ).json();
    assert.equal((await login(bearer(token))).statusCode, 403);
  });

  test('scopes can only narrow', async () => {
    const narrow = await newSession(key, { scopes: ['agents:read'] });
    assert.equal((await t.app.inject({ url: '/v2/agents', headers: withCookie(narrow) })).statusCode, 200);
    assert.equal(
      (await t.app.inject({ url: '/v2/organization', headers: withCookie(narrow) })).statusCode,
      403,
    );
    const wider = await login(bearer(key), { scopes: ['keys:admin'] });
    assert.equal(wider.statusCode, 422);
    assert.equal(wider.json().error.param, 'scopes[0]');
    assert.equal(wider.headers['set-cookie'], undefined);
  });

  test('logout ends the session server-side and clears the cookie', async () => {
    const secret = await newSession();
    const crossSite = await t.app.inject({
      method: 'DELETE',
      url: '/v2/auth/session',
      headers: withCookie(secret, { 'sec-fetch-site': 'cross-site' }),
    });
    assert.equal(crossSite.statusCode, 403);
    assert.equal(
      (await t.app.inject({ url: '/v2/organization', headers: withCookie(secret) })).statusCode,
      200,
    );

    const res = await t.app.inject({
      method: 'DELETE',
      url: '/v2/auth/session',
      headers: withCookie(secret, SAME_ORIGIN),
    });
    assert.equal(res.statusCode, 204);
    assert.equal(res.headers['set-cookie'], `${COOKIE}=; ${ATTRIBUTES}; Max-Age=0`);
    const later = await t.app.inject({ url: '/v2/organization', headers: withCookie(secret) });
    assert.equal(later.statusCode, 401);
    assert.equal(later.json().error.code, 'invalid_session');
  });

  test('logout needs a browser session: a Bearer key gets 403', async () => {
    const res = await t.app.inject({ method: 'DELETE', url: '/v2/auth/session', headers: bearer(key) });
    assert.equal(res.statusCode, 403);
  });

  test('creation and logout are in the audit log', async () => {
    const res = await login();
    const { id } = res.json();
    const secret = String(res.headers['set-cookie'])
      .slice(COOKIE.length + 1)
      .split(';')[0];
    await t.app.inject({
      method: 'DELETE',
      url: '/v2/auth/session',
      headers: withCookie(secret, SAME_ORIGIN),
    });
    const logs = async (action: string) =>
      (
        await t.app.inject({ url: `/v2/logs?action=${action}&resource_id=${id}`, headers: bearer(key) })
      ).json().data;
    const [created] = await logs('browser_session.created');
    assert.equal(created.outcome, 'success');
    assert.deepEqual(created.resource, { type: 'browser_session', id });
    assert.equal(created.actor.type, 'api_key');
    const [revoked] = await logs('browser_session.revoked');
    assert.equal(revoked.outcome, 'success');
    assert.deepEqual(revoked.actor, { type: 'session_token', id });
  });

  test('a session dies with its parent key', async () => {
    const other = await t.resources.services.apiKeys.create(orgId, { name: 'browser' });
    const secret = await newSession(other.secret);
    assert.equal(
      (await t.app.inject({ url: '/v2/organization', headers: withCookie(secret) })).statusCode,
      200,
    );
    const revoke = await t.app.inject({
      method: 'DELETE',
      url: `/v2/api-keys/${other.id}`,
      headers: bearer(key),
    });
    assert.equal(revoke.statusCode, 200, revoke.body);
    const res = await t.app.inject({ url: '/v2/organization', headers: withCookie(secret) });
    assert.equal(res.statusCode, 401);
    assert.equal(res.json().error.code, 'invalid_session');
  });

  test('after an hour the cookie is 401 session_expired', async () => {
    const secret = await newSession();
    clock.advance(3600 * 1000);
    const res = await t.app.inject({ url: '/v2/organization', headers: withCookie(secret) });
    assert.equal(res.statusCode, 401);
    assert.equal(res.json().error.code, 'session_expired');
  });
});

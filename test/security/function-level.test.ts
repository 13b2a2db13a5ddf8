/**
 * Function-level authorization swept over the route table (OWASP API5): every authenticated route
 * declares the scope it needs — or is on the short list below, with the reason — and a key that
 * holds every scope but that one is refused 403 on it, as is a session token on a route closed to
 * tokens. A new route without a scope fails the first test by name.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Scopes } from '../../src/auth/scopes.ts';
import { bearer, createTestApp, forEachDb, type TestApp } from '../support/harness.ts';

/** Routes any valid key may call, and why. */
const SCOPELESS: Record<string, string> = {
  'POST /v2/auth/token': "mints a token with at most the caller's own scopes",
  'POST /v2/auth/session': "starts a browser session with at most the caller's own scopes",
  'DELETE /v2/auth/session': 'logs the calling browser session out',
  'GET /v2/auth/me': 'describes the caller itself (the dashboard decides what to show from it)',
  'GET /v2/auth/sessions': "lists the calling user's own web sessions (empty for a key)",
  'DELETE /v2/auth/sessions/:id': "ends one of the calling user's own web sessions",
  'POST /v2/auth/password': "changes the calling user's own password",
  'POST /v2/auth/reauthenticate': "re-enters the calling user's own password (sudo mode)",
};

interface Guarded {
  method: string;
  url: string;
  scope?: string;
  tokens?: boolean;
}

function guardedRoutes(t: TestApp): Guarded[] {
  return t.routes.flatMap((r) => {
    const config = (r.config ?? {}) as { public?: boolean; scope?: string; tokens?: boolean };
    if (config.public || r.url === '*') return [];
    return [r.method]
      .flat()
      .filter((m) => m !== 'HEAD')
      .map((method) => ({ method, url: r.url, scope: config.scope, tokens: config.tokens }));
  });
}

const placeholder = (url: string) => url.replace(/:[a-z_]+/g, 'x_00000000000000000000000000');

forEachDb('function-level authorization over the route table', (target) => {
  let t: TestApp;
  let orgId: string;
  before(async () => {
    t = await createTestApp(target);
    ({ orgId } = await t.newOrg('enterprise'));
  });
  after(() => t.close());

  test('every authenticated route declares its scope, or is listed with a reason', () => {
    const routes = guardedRoutes(t);
    assert.ok(routes.length >= 50, `routes: ${routes.length}`);
    const missing = routes
      .filter((r) => !r.scope && !SCOPELESS[`${r.method} ${r.url}`])
      .map((r) => `${r.method} ${r.url}`);
    assert.deepEqual(
      missing,
      [],
      'routes open to any key: give them a scope, or list them in SCOPELESS with why',
    );
  });

  test('a key with every scope but the one a route needs is refused 403 there', async () => {
    const problems: string[] = [];
    const keys = new Map<string, string>();
    for (const scope of Scopes) {
      const others = Scopes.filter((s) => s !== scope);
      keys.set(
        scope,
        (await t.resources.services.apiKeys.create(orgId, { name: `no ${scope}`, scopes: others })).secret,
      );
    }
    for (const route of guardedRoutes(t)) {
      if (!route.scope) continue;
      const res = await t.app.inject({
        method: route.method as 'GET',
        url: placeholder(route.url),
        headers: bearer(keys.get(route.scope)!),
        ...(['POST', 'PATCH'].includes(route.method) ? { payload: {} } : {}),
      });
      const code = res.statusCode === 403 ? res.json().error.code : undefined;
      if (res.statusCode !== 403 || code !== 'insufficient_permissions')
        problems.push(
          `${route.method} ${route.url} without ${route.scope}: ${res.statusCode} ${res.body.slice(0, 150)}`,
        );
    }
    assert.deepEqual(problems, []);
  });

  test('a session token is refused 403 on every route closed to tokens', async () => {
    const key = (await t.resources.services.apiKeys.create(orgId, { name: 'token parent' })).secret;
    const minted = await t.app.inject({
      method: 'POST',
      url: '/v2/auth/token',
      headers: bearer(key),
      payload: {},
    });
    assert.equal(minted.statusCode, 201, minted.body);
    const token = minted.json().token as string;
    const closed = guardedRoutes(t).filter((r) => r.tokens === false);
    assert.ok(closed.length >= 5, `routes closed to tokens: ${closed.length}`);
    const problems: string[] = [];
    for (const route of closed) {
      const res = await t.app.inject({
        method: route.method as 'GET',
        url: placeholder(route.url),
        headers: bearer(token),
        ...(['POST', 'PATCH'].includes(route.method) ? { payload: {} } : {}),
      });
      if (res.statusCode !== 403)
        problems.push(`${route.method} ${route.url}: ${res.statusCode} ${res.body.slice(0, 150)}`);
    }
    assert.deepEqual(problems, []);
  });
});

/**
 * A real browser against the real server over TLS: log in with fetch (Bearer key), then the cookie
 * alone authenticates same-origin calls, page scripts cannot read it, and a page of another origin
 * cannot use it to write. Skipped when Chromium is not installed (CI installs it).
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type BrowserContext, chromium } from 'playwright-core';
import { loadOrCreateTls } from '../../src/http/https.ts';
import { bearer, createTestApp, type TestApp } from '../support/harness.ts';

const CHROMIUM = '/usr/bin/chromium';
// .ci/run installs Chromium, so under CI a missing browser is a failure, not a skip
if (!existsSync(CHROMIUM) && process.env.CI) throw new Error(`Chromium not found at ${CHROMIUM}`);
const skip = existsSync(CHROMIUM) ? false : `Chromium not found at ${CHROMIUM} (CI installs it)`;

describe('browser sessions in a real browser (Chromium, TLS)', { skip }, () => {
  let t: TestApp;
  let context: BrowserContext;
  let dir: string;
  let origin: string;
  let key: string;

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'airmy-browser-'));
    const tls = await loadOrCreateTls({ dataDir: dir, certFile: null, keyFile: null });
    t = await createTestApp({ name: 'sqlite' }, { https: { key: tls.key, cert: tls.cert } });
    key = (await t.newOrg('developer')).key;
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    origin = `https://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
    context = await chromium.launchPersistentContext(path.join(dir, 'profile'), {
      executablePath: CHROMIUM,
      headless: true,
      ignoreHTTPSErrors: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
  });
  after(async () => {
    await context?.close();
    await t?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const agentCount = async () =>
    (await t.app.inject({ url: '/v2/agents?limit=100', headers: bearer(key) })).json().data.length;

  test('log in by fetch, then same-origin calls need no Authorization and the cookie is HttpOnly', async () => {
    const page = await context.newPage();
    await page.goto(`${origin}/healthz`);
    const result = await page.evaluate(async (secret) => {
      const login = await fetch('/v2/auth/session', {
        method: 'POST',
        headers: { authorization: `Bearer ${secret}` },
      });
      const session = (await login.json()) as { object: string };
      const org = await fetch('/v2/organization', { credentials: 'same-origin' });
      const created = await fetch('/v2/agents', {
        method: 'POST',
        credentials: 'same-origin',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'From the browser', model: 'mock/airmy-demo', instructions: 'Hi.' }),
      });
      return {
        login: login.status,
        session,
        org: org.status,
        orgObject: ((await org.json()) as { object: string }).object,
        created: created.status,
        // what any script on the page could read (the test's tsconfig has no DOM types)
        documentCookie: (globalThis as unknown as { document: { cookie: string } }).document.cookie,
      };
    }, key);
    assert.equal(result.login, 201);
    assert.equal(result.session.object, 'browser_session');
    assert.equal(result.org, 200);
    assert.equal(result.orgObject, 'organization');
    // A same-origin POST carries Sec-Fetch-Site: same-origin from the browser itself.
    assert.equal(result.created, 201);
    assert.ok(!result.documentCookie.includes('airmy_session'), 'page script can read the cookie');
    const cookies = await context.cookies(origin);
    const cookie = cookies.find((c) => c.name === '__Host-airmy_session');
    assert.ok(cookie, 'the browser did not store the session cookie');
    assert.equal(cookie.httpOnly, true);
    assert.equal(cookie.secure, true);
    assert.equal(cookie.sameSite, 'Strict');
    await page.close();
  });

  test('a page of another origin cannot use the cookie to write', async () => {
    const before = await agentCount();
    const page = await context.newPage();
    // localhost is another site than 127.0.0.1: a "simple" cross-site POST (no preflight).
    await page.goto(`${origin.replace('127.0.0.1', 'localhost')}/healthz`);
    const outcome = await page.evaluate(async (target) => {
      try {
        await fetch(`${target}/v2/agents`, {
          method: 'POST',
          mode: 'no-cors',
          credentials: 'include',
          headers: { 'content-type': 'text/plain' },
          body: JSON.stringify({ name: 'Forged', model: 'mock/airmy-demo', instructions: 'x' }),
        });
        return 'sent';
      } catch {
        return 'blocked';
      }
    }, origin);
    assert.ok(['sent', 'blocked'].includes(outcome));
    assert.equal(await agentCount(), before);
    await page.close();
  });
});

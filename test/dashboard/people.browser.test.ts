/**
 * Web login and what the dashboard must never allow, in Chromium against the real server over
 * TLS: wrong passwords and the lockout, a key shown once, a viewer's read-only pages and the
 * server's 403 behind them, another origin refused, logout killing the session server-side,
 * user content that stays text, the 390 px layout, keyboard-only navigation and session expiry.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { FakeClock } from '../support/harness.ts';
import {
  type Dashboard,
  newUser,
  PASSWORD,
  screenshot,
  signInWithKey,
  signInWithPassword,
  skip,
  startDashboard,
} from './browser.ts';

const COOKIE = '__Host-airmy_session';

describe('web login and security in Chromium', { skip }, () => {
  let d: Dashboard;
  let orgId: string;
  let key: string;
  const auth = () => ({ authorization: `Bearer ${key}` });

  before(async () => {
    d = await startDashboard();
    ({ orgId, key } = await d.t.newOrg('developer'));
  });
  after(async () => {
    await d?.close();
  });

  test('a wrong password shows the server message; the right one lands where the user was going', async (t) => {
    const owner = await newUser(d.t, orgId, 'owner');
    const { page, incidents } = await d.newPage();
    const started = Date.now();
    await page.goto(`${d.origin}/runs?status=failed`);
    await page.getByLabel('Email').waitFor();
    t.diagnostic(`login page interactive after ${Date.now() - started} ms`);
    assert.match(page.url(), /\/login\?next=%2Fruns%3Fstatus%3Dfailed$/);
    await page.getByLabel('Email').fill(owner.email);
    await page.getByLabel('Password').fill('not the password at all');
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    const alert = page.getByRole('alert');
    await alert.getByText('Incorrect email or password.').waitFor();
    assert.match(await alert.innerText(), /401 invalid_credentials · request req_/);
    await screenshot(page, 'login');
    await page.getByLabel('Password').fill(owner.password);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.getByRole('heading', { name: 'Runs' }).waitFor();
    assert.equal(new URL(page.url()).pathname + new URL(page.url()).search, '/runs?status=failed');
    await page.getByText(`${owner.email} · owner`).waitFor();
    assert.deepEqual(incidents, []);
  });

  test('repeated failures lock the account: the page says so, with the server message', async () => {
    const victim = await newUser(d.t, orgId, 'developer');
    const { page, incidents } = await d.newPage();
    await page.goto(`${d.origin}/login`);
    const alert = page.getByRole('alert');
    for (let i = 1; i <= 10; i++) {
      await page.getByLabel('Email').fill(victim.email);
      await page.getByLabel('Password').fill(`wrong password number ${i}`);
      await page.getByRole('button', { name: 'Sign in', exact: true }).click();
      await page.getByRole('button', { name: 'Sign in', exact: true }).waitFor();
      await alert.waitFor();
    }
    // now even the right password is refused until the lock ends
    await page.getByLabel('Password').fill(victim.password);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await alert.getByText(/429 login_throttled/).waitFor();
    assert.ok(page.url().includes('/login'));
    assert.deepEqual(incidents, []);
  });

  test('an owner creates a key (shown once, works), rotates it (grace counting down) and revokes it', async () => {
    const owner = await newUser(d.t, orgId, 'owner');
    const { page, incidents, context } = await d.newPage();
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: d.origin });
    await signInWithPassword(page, d.origin, owner.email, owner.password, '/settings/keys');
    await page.getByRole('button', { name: 'Create key' }).click();
    const form = page.getByRole('form', { name: 'New API key' });
    await form.getByLabel('Name').fill('CI deploys');
    await form.getByLabel('agents:write').check();
    await form.getByRole('button', { name: 'Create key' }).click();
    const secret = (await page.getByTestId('shown-secret').innerText()).trim();
    assert.match(secret, /^sk-/);
    await page.getByRole('button', { name: 'Copy', exact: true }).click();
    await page.getByRole('button', { name: 'Copied' }).waitFor();
    assert.equal(await page.evaluate(() => (globalThis as any).navigator.clipboard.readText()), secret);
    await screenshot(page, 'keys');
    const check = await d.t.app.inject({ url: '/v2/agents', headers: { authorization: `Bearer ${secret}` } });
    assert.equal(check.statusCode, 200);
    // shown once: gone after Done, and not on the page after a reload, nor in web storage
    await page.getByRole('button', { name: 'Done' }).click();
    await page.reload();
    const row = page.getByRole('row').filter({ hasText: 'CI deploys' });
    await row.waitFor();
    assert.ok(!(await page.content()).includes(secret), 'the secret is shown again');
    const stored = await page.evaluate(() => JSON.stringify({ ...localStorage, ...sessionStorage }));
    assert.ok(!stored.includes(secret));
    // rotate: a new secret, and the old one's grace counting down from 24 h
    await row.getByRole('button', { name: 'Rotate' }).click();
    await page.getByRole('button', { name: 'Yes, rotate' }).click();
    const rotated = (await page.getByTestId('shown-secret').innerText()).trim();
    assert.notEqual(rotated, secret);
    const countdown = row.getByText(/old secret works for/);
    const first = await countdown.innerText();
    assert.match(first, /old secret works for 2[34]:\d\d:\d\d/);
    await page.waitForFunction(
      (before) => !(globalThis as any).document.body.innerText.includes(before),
      first,
    );
    for (const s of [secret, rotated]) {
      const res = await d.t.app.inject({ url: '/v2/agents', headers: { authorization: `Bearer ${s}` } });
      assert.equal(res.statusCode, 200);
    }
    await page.getByRole('button', { name: 'Done' }).click();
    await row.getByRole('button', { name: 'Revoke' }).click();
    await page.getByRole('button', { name: 'Yes, revoke' }).click();
    await row.locator('.status-revoked').waitFor();
    const revoked = await d.t.app.inject({
      url: '/v2/agents',
      headers: { authorization: `Bearer ${rotated}` },
    });
    assert.equal(revoked.statusCode, 401);
    assert.deepEqual(incidents, []);
  });

  test('a viewer sees no create buttons, and the API answers 403 if the page tries anyway', async () => {
    const viewer = await newUser(d.t, orgId, 'viewer');
    await d.t.newAgent(key, 'visible');
    const { page, incidents } = await d.newPage();
    await signInWithPassword(page, d.origin, viewer.email, viewer.password, '/agents');
    await page.getByRole('link', { name: 'visible' }).first().waitFor();
    assert.equal(await page.getByRole('button', { name: 'New agent' }).count(), 0);
    await page.getByRole('link', { name: 'visible' }).first().click();
    await page.getByRole('heading', { name: 'visible' }).waitFor();
    for (const name of ['Edit', 'Delete', 'Deploy current configuration', 'Run'])
      assert.equal(await page.getByRole('button', { name, exact: true }).count(), 0, name);
    await page.getByRole('link', { name: 'API keys' }).click();
    await page.getByText('Managing keys needs the keys:admin scope').waitFor();
    assert.equal(await page.getByRole('button', { name: 'Create key' }).count(), 0);
    const before = (await d.t.app.inject({ url: '/v2/agents?limit=100', headers: auth() })).json().data
      .length;
    const attempt = await page.evaluate(async () => {
      const res = await fetch('/v2/agents', {
        method: 'POST',
        credentials: 'same-origin',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'sneaky', model: 'mock/x' }),
      });
      return { status: res.status, body: (await res.json()) as { error: { code: string } } };
    });
    assert.equal(attempt.status, 403);
    assert.equal(attempt.body.error.code, 'insufficient_permissions');
    const afterCount = (await d.t.app.inject({ url: '/v2/agents?limit=100', headers: auth() })).json().data
      .length;
    assert.equal(afterCount, before);
    assert.deepEqual(incidents, []);
  });

  test('a page of another origin cannot use the session: writes refused, reads unreadable', async () => {
    const dev = await newUser(d.t, orgId, 'developer');
    const { page } = await d.newPage();
    await signInWithPassword(page, d.origin, dev.email, dev.password);
    const before = (await d.t.app.inject({ url: '/v2/agents?limit=100', headers: auth() })).json().data
      .length;
    // localhost is another site than 127.0.0.1, served by the same server
    await page.goto(`${d.origin.replace('127.0.0.1', 'localhost')}/healthz`);
    const outcome = await page.evaluate(async (target) => {
      const results: string[] = [];
      for (const init of [
        { method: 'POST', mode: 'no-cors', headers: { 'content-type': 'text/plain' } },
        { method: 'POST', headers: { 'content-type': 'application/json' } },
      ] as RequestInit[]) {
        try {
          const res = await fetch(`${target}/v2/agents`, {
            ...init,
            credentials: 'include',
            body: JSON.stringify({ name: 'Forged', model: 'mock/x' }),
          });
          results.push(`answered ${res.type} ${res.status}`);
        } catch {
          results.push('blocked');
        }
      }
      try {
        const res = await fetch(`${target}/v2/organization`, { credentials: 'include' });
        results.push(`read ${res.status} ${await res.text()}`);
      } catch {
        results.push('read blocked');
      }
      return results;
    }, d.origin);
    assert.ok(outcome[0] === 'blocked' || outcome[0] === 'answered opaque 0', outcome[0]);
    assert.equal(outcome[1], 'blocked');
    assert.equal(outcome[2], 'read blocked');
    const afterCount = (await d.t.app.inject({ url: '/v2/agents?limit=100', headers: auth() })).json().data
      .length;
    assert.equal(afterCount, before);
  });

  test('signing out kills the session on the server, not just in the browser', async () => {
    const dev = await newUser(d.t, orgId, 'developer');
    const { page, context, incidents } = await d.newPage();
    await signInWithPassword(page, d.origin, dev.email, dev.password);
    const cookie = (await context.cookies(d.origin)).find((c) => c.name === COOKIE);
    assert.ok(cookie?.httpOnly && cookie.secure && cookie.sameSite === 'Strict');
    const headers = { cookie: `${COOKIE}=${cookie.value}` };
    assert.equal((await d.t.app.inject({ url: '/v2/auth/me', headers })).statusCode, 200);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in to AIRMY' }).waitFor();
    const replay = await d.t.app.inject({ url: '/v2/auth/me', headers });
    assert.equal(replay.statusCode, 401);
    assert.equal(
      (await context.cookies(d.origin)).find((c) => c.name === COOKIE),
      undefined,
    );
    assert.deepEqual(incidents, []);
  });

  test('an expired session returns to the login page, and after signing in, back to the same page', async () => {
    const dev = await newUser(d.t, orgId, 'developer');
    const { page, context } = await d.newPage();
    await signInWithPassword(page, d.origin, dev.email, dev.password, '/agents');
    const cookie = (await context.cookies(d.origin)).find((c) => c.name === COOKIE);
    assert.ok(cookie);
    // the session ends elsewhere (another tab signs out)
    const ended = await d.t.app.inject({
      method: 'DELETE',
      url: '/v2/auth/session',
      headers: { cookie: `${COOKIE}=${cookie.value}`, 'sec-fetch-site': 'same-origin' },
    });
    assert.equal(ended.statusCode, 204);
    await page.getByRole('link', { name: 'Runs' }).click();
    await page.getByText('Your session ended. Sign in to continue.').waitFor();
    assert.match(page.url(), /\/login\?next=%2Fruns$/);
    await page.getByLabel('Email').fill(dev.email);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.getByRole('heading', { name: 'Runs' }).waitFor();
    assert.equal(new URL(page.url()).pathname, '/runs');
  });

  test('markup in an agent name and a run output is shown as text and runs nothing', async () => {
    const name = '<img src=x onerror="window.__xss=1;alert(1)"><script>window.__xss=2</script>';
    const reply = '<script>window.__xss=3;alert(3)</script><img src=y onerror="window.__xss=4">';
    const agentId = await d.t.newAgent(key, 'xss', { name, parameters: { mock_reply: reply } });
    const run = await d.t.app.inject({
      method: 'POST',
      url: '/v2/runs',
      headers: auth(),
      payload: { agent_id: agentId, input: { query: '<svg onload="window.__xss=5">' } },
    });
    assert.equal(run.json().status, 'completed');
    const { page, incidents } = await d.newPage();
    await signInWithKey(page, d.origin, key, '/agents');
    await page.getByText(name).first().waitFor();
    await page.goto(`${d.origin}/agents/${agentId}`);
    await page.getByRole('heading', { name }).waitFor();
    await page.getByLabel('Input').fill('<b onmouseover="window.__xss=6">hi</b>');
    await page.getByRole('button', { name: 'Run', exact: true }).click();
    await page.getByTestId('try-output').getByText(reply).waitFor();
    await page.goto(`${d.origin}/runs/${run.json().id}`);
    // the output as JSON text: the markup is there, quotes escaped, nothing parsed
    await page.getByText('<script>window.__xss=3;alert(3)</script>', { exact: false }).first().waitFor();
    await page.getByText('<svg onload=', { exact: false }).first().waitFor();
    await page.getByRole('link', { name: 'Runs' }).first().click();
    await page.locator('tbody tr').first().waitFor();
    assert.equal(await page.evaluate(() => (globalThis as any).__xss), undefined);
    assert.equal(await page.locator('img[src="x"], img[src="y"], svg[onload]').count(), 0);
    assert.deepEqual(incidents, []);
  });

  test('at 390 px wide no main page scrolls sideways, and the menu opens and navigates', async () => {
    const { page, incidents } = await d.newPage({ width: 390, height: 844 });
    await d.t.newAgent(key, 'a-rather-long-agent-name-that-could-push-the-layout-wider-than-the-screen');
    await signInWithKey(page, d.origin, key, '/');
    const pages = [
      '/',
      '/agents',
      '/runs',
      '/pipelines',
      '/audit',
      '/alerts',
      '/guardrails',
      '/connectors',
      '/settings/keys',
      '/settings/members',
      '/settings/plan',
    ];
    for (const path of pages) {
      await page.goto(`${d.origin}${path}`);
      await page.locator('main h1').first().waitFor();
      await page.locator('.loading').waitFor({ state: 'detached' });
      const overflow = await page.evaluate(
        () =>
          (globalThis as any).document.documentElement.scrollWidth - (globalThis as any).window.innerWidth,
      );
      assert.ok(overflow <= 0, `${path} scrolls sideways by ${overflow} px`);
    }
    await page.goto(`${d.origin}/`);
    await page.getByRole('heading', { name: 'Overview' }).waitFor();
    assert.equal(await page.getByRole('navigation', { name: 'Main' }).isVisible(), false);
    await page.getByRole('button', { name: 'Menu' }).click();
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Agents' }).click();
    await page.getByRole('heading', { name: 'Agents' }).waitFor();
    await screenshot(page, 'mobile');
    assert.deepEqual(incidents, []);
  });

  test('keyboard only: sign in and reach the main pages without a mouse', async () => {
    const dev = await newUser(d.t, orgId, 'developer');
    const { page, incidents } = await d.newPage();
    await page.goto(`${d.origin}/login`);
    await page.getByLabel('Email').waitFor();
    await page.keyboard.press('Tab');
    await page.keyboard.type(dev.email);
    await page.keyboard.press('Tab');
    await page.keyboard.type(dev.password);
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Overview' }).waitFor();
    const focusedText = () =>
      page.evaluate(() => (globalThis as any).document.activeElement?.textContent?.trim() ?? '');
    for (const target of ['Agents', 'Runs', 'API keys', 'Members', 'Overview']) {
      let found = false;
      for (let i = 0; i < 40 && !found; i++) {
        await page.keyboard.press('Tab');
        found = (await focusedText()) === target;
      }
      assert.ok(found, `Tab never reached the ${target} link`);
      await page.keyboard.press('Enter');
      const heading = {
        Agents: 'Agents',
        Runs: 'Runs',
        'API keys': 'API keys',
        Members: 'Members and roles',
        Overview: 'Overview',
      }[target];
      await page.getByRole('heading', { name: heading, exact: true }).waitFor();
      // focus moved to the page content, so the next Tab starts from there
      assert.equal(await page.evaluate(() => (globalThis as any).document.activeElement?.id), 'main');
    }
    // the skip link is the first stop
    await page.goto(`${d.origin}/runs`);
    await page.getByRole('heading', { name: 'Runs' }).waitFor();
    await page.keyboard.press('Tab');
    assert.equal(await focusedText(), 'Skip to content');
    assert.deepEqual(incidents, []);
  });
});

describe('sudo mode in Chromium: key management asks for the password again after 10 minutes', {
  skip,
}, () => {
  let d: Dashboard;
  const clock = new FakeClock(Date.now());
  before(async () => {
    d = await startDashboard({ clock });
  });
  after(async () => {
    await d?.close();
  });

  test('a stale login is asked for its password, a wrong one is refused, the right one creates the key', async () => {
    const { orgId } = await d.t.newOrg('developer');
    const admin = await newUser(d.t, orgId, 'admin');
    const { page, incidents } = await d.newPage();
    await signInWithPassword(page, d.origin, admin.email, admin.password, '/settings/keys');
    clock.advance(11 * 60_000);
    await page.getByRole('button', { name: 'Create key' }).click();
    await page.getByRole('form', { name: 'New API key' }).getByLabel('Name').fill('after a coffee');
    await page.getByRole('form', { name: 'New API key' }).getByRole('button', { name: 'Create key' }).click();
    const sudo = page.getByRole('form', { name: 'Confirm your password' });
    await sudo.waitFor();
    assert.equal(await page.getByTestId('shown-secret').count(), 0);
    await sudo.getByLabel('Password').fill('not my password at all');
    await sudo.getByRole('button', { name: 'Confirm' }).click();
    await sudo
      .getByRole('alert')
      .getByText(/request req_/)
      .waitFor();
    await sudo.getByLabel('Password').fill(PASSWORD);
    await sudo.getByRole('button', { name: 'Confirm' }).click();
    const secret = (await page.getByTestId('shown-secret').innerText()).trim();
    const check = await d.t.app.inject({ url: '/v2/agents', headers: { authorization: `Bearer ${secret}` } });
    assert.equal(check.statusCode, 200);
    assert.deepEqual(incidents, []);
  });
});

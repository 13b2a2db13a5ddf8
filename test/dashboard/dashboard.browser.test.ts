/**
 * The dashboard in Debian's Chromium against the real server over TLS: signing in, the pages a
 * team uses every day, and what must never happen (script from user content, secrets in storage,
 * another origin using the cookie). Screenshots land in docs/img/dashboard-*.png.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type Dashboard, screenshot, signInWithKey, skip, startDashboard } from './browser.ts';

describe('the dashboard in Chromium', { skip }, () => {
  let d: Dashboard;
  let key: string;

  before(async () => {
    d = await startDashboard();
    key = (await d.t.newOrg('developer')).key;
  });
  after(async () => {
    await d?.close();
  });

  test('an unknown session is sent to the login page, signs in with a key and comes back', async () => {
    const { page, incidents } = await d.newPage();
    await page.goto(`${d.origin}/`);
    await page.waitForURL(/\/login\?next=%2F/);
    await page.getByRole('heading', { name: 'Sign in to AIRMY' }).waitFor();
    // a wrong key: the server's own message, with its request id
    await page.getByRole('button', { name: 'Sign in with an API key instead' }).click();
    await page.getByLabel('API key').fill('sk-wrong-key');
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    const alert = page.getByRole('alert');
    await alert.waitFor();
    assert.match(await alert.innerText(), /request req_/);
    await page.getByLabel('API key').fill(key);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.getByRole('heading', { name: 'Overview' }).waitFor();
    assert.equal(new URL(page.url()).pathname, '/');
    await page.locator('.chart canvas').first().waitFor();
    await screenshot(page, 'overview');
    const storage = await page.evaluate(() => JSON.stringify({ ...localStorage, ...sessionStorage }));
    assert.ok(!storage.includes(key), 'the key is in web storage');
    assert.deepEqual(incidents, []);
  });
});

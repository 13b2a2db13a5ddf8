/**
 * What the dashboard's browser tests share: the real server over TLS (same process, SQLite), the
 * built dashboard (built here when dist/dashboard is missing; `npm ci` builds it), and Debian's
 * Chromium driven by playwright-core — never a downloaded browser. Every page records CSP
 * violations, page errors and dialogs, so a test can prove nothing ran that should not have.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type Browser, type BrowserContext, chromium, type Locator, type Page } from 'playwright-core';
import { loadOrCreateTls } from '../../src/http/https.ts';
import { createTestApp, type TestApp, type TestAppOptions } from '../support/harness.ts';

export const CHROMIUM = '/usr/bin/chromium';
// .ci/run installs Chromium, so under CI a missing browser is a failure, not a skip
if (!existsSync(CHROMIUM) && process.env.CI) throw new Error(`Chromium not found at ${CHROMIUM}`);
export const skip = existsSync(CHROMIUM) ? false : `Chromium not found at ${CHROMIUM} (CI installs it)`;

const ROOT = path.resolve(import.meta.dirname, '../..');
/**
 * Where the screenshots go: a temporary folder, so a test run leaves the checkout as it was;
 * `SCREENSHOTS_DIR=docs/img` refreshes the committed ones (docs/dashboard.md).
 */
export const SCREENSHOTS = process.env.SCREENSHOTS_DIR
  ? path.resolve(ROOT, process.env.SCREENSHOTS_DIR)
  : path.join(tmpdir(), 'airmy-dashboard-screenshots');

export function ensureBuilt() {
  if (existsSync(path.join(ROOT, 'dist/dashboard/index.html'))) return;
  execFileSync(process.execPath, [path.join(ROOT, 'scripts/build-dashboard.ts')], { stdio: 'inherit' });
}

export interface Watched {
  page: Page;
  /** CSP violations, uncaught page errors and dialogs (alert/confirm) seen so far */
  incidents: string[];
}

export interface Dashboard {
  t: TestApp;
  origin: string;
  browser: Browser;
  /** a fresh browser profile (cookies of its own) with one page watched for incidents */
  newPage(options?: { width?: number; height?: number }): Promise<Watched & { context: BrowserContext }>;
  close(): Promise<void>;
}

export async function startDashboard(options: TestAppOptions = {}): Promise<Dashboard> {
  ensureBuilt();
  const dir = mkdtempSync(path.join(tmpdir(), 'airmy-dashboard-'));
  const tls = await loadOrCreateTls({ dataDir: dir, certFile: null, keyFile: null });
  const t = await createTestApp({ name: 'sqlite' }, { ...options, https: { key: tls.key, cert: tls.cert } });
  await t.app.listen({ port: 0, host: '127.0.0.1' });
  const origin = `https://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  const contexts: BrowserContext[] = [];
  return {
    t,
    origin,
    browser,
    async newPage({ width = 1280, height = 860 } = {}) {
      const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width, height } });
      contexts.push(context);
      const page = await context.newPage();
      const incidents: string[] = [];
      page.on('console', (message) => {
        if (/Content Security Policy|Refused to/i.test(message.text()))
          incidents.push(`csp: ${message.text()}`);
      });
      page.on('pageerror', (error) => incidents.push(`pageerror: ${error.message}`));
      page.on('dialog', (dialog) => {
        incidents.push(`dialog: ${dialog.type()} ${dialog.message()}`);
        void dialog.dismiss();
      });
      return { page, context, incidents };
    },
    async close() {
      for (const context of contexts) await context.close().catch(() => {});
      await browser.close();
      await t.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Signs in through the login page with an API key (the key-minted session). */
export async function signInWithKey(page: Page, origin: string, key: string, at = '/') {
  await page.goto(`${origin}${at}`);
  await page.getByRole('button', { name: 'Sign in with an API key instead' }).click();
  await page.getByLabel('API key').fill(key);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.getByRole('button', { name: 'Sign out' }).waitFor();
}

export async function screenshot(page: Page, name: string, fullPage = false) {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SCREENSHOTS, `dashboard-${name}.png`), fullPage });
}

/** Waits until `locator` matches exactly `n` elements. */
export async function countIs(locator: Locator, n: number, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const count = await locator.count();
    if (count === n) return;
    if (Date.now() > deadline) throw new Error(`expected ${n} elements, found ${count}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Signs in through the login page with email and password (a web login). */
export async function signInWithPassword(
  page: Page,
  origin: string,
  email: string,
  password: string,
  at = '/',
) {
  await page.goto(`${origin}${at}`);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.getByRole('button', { name: 'Sign out' }).waitFor();
}

export const PASSWORD = 'correct horse battery staple';
let users = 0;

/** A user of `orgId` with `role`, made the way the CLI makes one. */
export async function newUser(t: TestApp, orgId: string, role: string) {
  const email = `${role}-${process.pid}-${++users}@example.com`;
  await t.resources.services.users.create({ orgId, email, role, password: PASSWORD, name: `A ${role}` });
  return { email, password: PASSWORD };
}

/**
 * The dashboard is served by the API's own process: `/` and its hashed assets with a strict CSP,
 * the right caching and precompressed bodies, a history fallback for client-side paths, and never
 * in the way of the API, health, metrics or docs routes. Through inject() on both backends, with a
 * small built dashboard made here (AIRMY_DASHBOARD_DIR); the real build over a real socket in the
 * production configuration at the end.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { DASHBOARD_CSP } from '../../src/dashboard/headers.ts';
import { type ChildServer, startChildServer } from '../support/child-server.ts';
import { bearer, createTestApp, forEachDb, type TestApp } from '../support/harness.ts';
import { ensureBuilt } from './browser.ts';

const INDEX = `<!doctype html><html><head><title>AIRMY</title>
<script type="module" crossorigin src="/assets/index-abc123.js"></script></head>
<body><div id="root"></div></body></html>`;
const SCRIPT = `console.log(${JSON.stringify('x'.repeat(4000))});`;

function fixture(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'airmy-dash-fixture-'));
  mkdirSync(path.join(dir, 'assets'));
  writeFileSync(path.join(dir, 'index.html'), INDEX);
  writeFileSync(path.join(dir, 'assets/index-abc123.js'), SCRIPT);
  return dir;
}

const HTML = { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' };

forEachDb('dashboard serving', (target) => {
  let t: TestApp;
  let dir: string;
  let key: string;
  before(async () => {
    dir = fixture();
    t = await createTestApp(target, { env: { AIRMY_DASHBOARD_DIR: dir } });
    key = (await t.newOrg('developer')).key;
  });
  after(async () => {
    await t?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('/ is index.html with the strict CSP, revalidated on every load', async () => {
    const res = await t.app.inject({ url: '/', headers: HTML });
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['content-type'], 'text/html; charset=utf-8');
    assert.equal(res.body, INDEX);
    const csp = String(res.headers['content-security-policy']);
    assert.equal(csp, DASHBOARD_CSP);
    for (const directive of [
      "default-src 'self'",
      "script-src 'self'",
      "style-src 'self'",
      "frame-ancestors 'none'",
    ])
      assert.ok(csp.split('; ').includes(directive), directive);
    assert.ok(!csp.includes('unsafe-inline') && !csp.includes('unsafe-eval'));
    assert.equal(res.headers['x-frame-options'], 'DENY');
    assert.equal(res.headers['x-content-type-options'], 'nosniff');
    assert.equal(res.headers['cache-control'], 'no-cache');
    const etag = String(res.headers.etag);
    const again = await t.app.inject({ url: '/', headers: { ...HTML, 'if-none-match': etag } });
    assert.equal(again.statusCode, 304);
    assert.equal(again.body, '');
  });

  test('hashed assets are cached for a year, sent brotli, gzip or plain as the client takes them', async () => {
    const url = '/assets/index-abc123.js';
    const br = await t.app.inject({ url, headers: { 'accept-encoding': 'gzip, deflate, br' } });
    assert.equal(br.statusCode, 200);
    assert.equal(br.headers['cache-control'], 'public, max-age=31536000, immutable');
    assert.equal(br.headers['content-type'], 'text/javascript; charset=utf-8');
    assert.equal(br.headers['content-encoding'], 'br');
    assert.equal(br.headers.vary, 'Accept-Encoding');
    assert.equal(brotliDecompressSync(br.rawPayload).toString(), SCRIPT);
    assert.ok(br.rawPayload.length < SCRIPT.length / 10);
    const gz = await t.app.inject({ url, headers: { 'accept-encoding': 'gzip' } });
    assert.equal(gz.headers['content-encoding'], 'gzip');
    assert.equal(gunzipSync(gz.rawPayload).toString(), SCRIPT);
    const refused = await t.app.inject({ url, headers: { 'accept-encoding': 'br;q=0, gzip;q=0' } });
    assert.equal(refused.headers['content-encoding'], undefined);
    assert.equal(refused.body, SCRIPT);
    const plain = await t.app.inject({ url });
    assert.equal(plain.headers['content-encoding'], undefined);
    assert.equal(plain.body, SCRIPT);
    const missing = await t.app.inject({ url: '/assets/index-gone.js', headers: HTML });
    assert.equal(missing.statusCode, 404);
    assert.equal(missing.json().error.code, 'asset_not_found');
  });

  test('a client-side path asking for HTML gets index.html; anything else keeps its JSON 404', async () => {
    for (const url of [
      '/agents',
      '/agents/ag_123',
      '/runs?status=failed',
      '/settings/keys',
      '/login?next=%2F',
    ]) {
      const res = await t.app.inject({ url, headers: HTML });
      assert.equal(res.statusCode, 200, url);
      assert.equal(res.body, INDEX, url);
      assert.equal(res.headers['content-security-policy'], DASHBOARD_CSP, url);
    }
    const head = await t.app.inject({ method: 'HEAD', url: '/agents/ag_1', headers: HTML });
    assert.equal(head.statusCode, 200);
    // not a page load: an API client, a script, a POST
    const json = await t.app.inject({ url: '/agents', headers: { accept: 'application/json' } });
    assert.equal(json.statusCode, 404);
    assert.equal(json.json().error.code, 'route_not_found');
    const post = await t.app.inject({ method: 'POST', url: '/agents', headers: HTML, payload: {} });
    assert.equal(post.statusCode, 404);
    assert.equal(post.json().error.code, 'route_not_found');
  });

  test('never shadows the API, health, metrics, changelog or docs', async () => {
    const api = await t.app.inject({ url: '/v2/organization', headers: { ...HTML, ...bearer(key) } });
    assert.equal(api.statusCode, 200);
    assert.equal(api.json().object, 'organization');
    assert.equal(api.headers['content-security-policy'], undefined);
    for (const url of ['/v2/nope', '/v2/agents/ag_1/nope', '/v2']) {
      const res = await t.app.inject({ url, headers: HTML });
      assert.equal(res.statusCode, 404, url);
      assert.equal(res.json().error.code, 'route_not_found', url);
    }
    const unauthenticated = await t.app.inject({ url: '/v2/agents', headers: HTML });
    assert.equal(unauthenticated.statusCode, 401);
    assert.equal((await t.app.inject({ url: '/v1/agents', headers: HTML })).statusCode, 410);
    const health = await t.app.inject({ url: '/healthz', headers: HTML });
    assert.deepEqual(health.json(), { status: 'ok' });
    assert.equal((await t.app.inject({ url: '/readyz', headers: HTML })).json().status, 'ready');
    const metrics = await t.app.inject({ url: '/internal/metrics', headers: HTML });
    assert.match(metrics.body, /# HELP/);
    const changelog = await t.app.inject({ url: '/changelog', headers: HTML });
    assert.match(String(changelog.headers['content-type']), /^text\/markdown/);
    const openapi = await t.app.inject({ url: '/v2/openapi.json', headers: HTML });
    assert.equal(openapi.json().openapi, '3.1.0');
    const docs = await t.app.inject({ url: '/docs/', headers: HTML });
    assert.equal(docs.statusCode, 200);
    assert.ok(!docs.body.includes('<div id="root">'), 'the docs UI was replaced by the dashboard');
    const docsMissing = await t.app.inject({ url: '/docs/nothing-here', headers: HTML });
    assert.notEqual(docsMissing.body, INDEX);
  });

  test('a server whose dashboard is not built says how to build it, and the API is unaffected', async () => {
    const empty = mkdtempSync(path.join(tmpdir(), 'airmy-dash-empty-'));
    const bare = await createTestApp(target, { env: { AIRMY_DASHBOARD_DIR: empty } });
    try {
      const res = await bare.app.inject({ url: '/', headers: HTML });
      assert.equal(res.statusCode, 503);
      assert.equal(res.json().error.code, 'dashboard_not_built');
      assert.match(res.json().error.message, /npm run build:dashboard/);
      const deep = await bare.app.inject({ url: '/agents', headers: HTML });
      assert.equal(deep.statusCode, 404);
      assert.equal((await bare.app.inject({ url: '/healthz' })).statusCode, 200);
    } finally {
      await bare.close();
      rmSync(empty, { recursive: true, force: true });
    }
  });
});

describe('the real build, served by `airmy serve` in the production configuration over TLS', () => {
  let server: ChildServer;
  let dir: string;
  before(async () => {
    ensureBuilt();
    dir = mkdtempSync(path.join(tmpdir(), 'airmy-dash-prod-'));
    server = await startChildServer({
      AIRMY_DATA_DIR: dir,
      AIRMY_ENV: 'production',
      NODE_ENV: 'production',
      AIRMY_SECRET_KEY: randomBytes(32).toString('base64'),
    });
  });
  after(async () => {
    await server?.kill();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('index.html names only hashed same-origin files, with no inline script or style', async () => {
    const res = await server.request('GET', '/', { headers: HTML });
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-security-policy'], DASHBOARD_CSP);
    assert.match(String(res.headers['strict-transport-security']), /max-age=/);
    const scripts = [...res.body.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)];
    assert.ok(scripts.length >= 1);
    for (const [, attrs, body] of scripts) {
      assert.match(attrs, /src="\/assets\/[\w-]+\.js"/);
      assert.equal(body.trim(), '');
    }
    assert.ok(!/<style\b|\sstyle=|\son\w+=/i.test(res.body), 'inline style or handler in index.html');
    const entry = /src="(\/assets\/[\w-]+\.js)"/.exec(res.body)?.[1];
    assert.ok(entry);
    const js = await server.request('GET', entry, { headers: { 'accept-encoding': 'identity' } });
    assert.equal(js.status, 200);
    assert.equal(js.headers['cache-control'], 'public, max-age=31536000, immutable');
    const onDisk = readFileSync(
      path.resolve(import.meta.dirname, '../../dist/dashboard', `.${entry}`),
      'utf8',
    );
    assert.equal(js.body, onDisk);
    const page = await server.request('GET', '/runs/run_1', { headers: HTML });
    assert.equal(page.status, 200);
    assert.equal(page.body, res.body);
  });
});

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { startChildServer } from '../support/child-server.ts';

const exec = promisify(execFile);
const MAIN = path.resolve(import.meta.dirname, '../../src/main.ts');

describe('the airmy CLI bootstraps organizations and keys', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'airmy-cli-'));
  const env = { PATH: process.env.PATH ?? '', AIRMY_DATA_DIR: dir };
  const airmy = (...args: string[]) => exec(process.execPath, [MAIN, ...args], { env });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('--help lists every command', async () => {
    const { stdout } = await airmy('--help');
    for (const c of [
      'serve',
      'migrate',
      'orgs create',
      'orgs list',
      'keys create',
      'keys list',
      'keys revoke',
    ])
      assert.match(stdout, new RegExp(c));
  });

  test('orgs create prints an org id; keys create prints a working key once; the server accepts it', async () => {
    const org = (await airmy('orgs', 'create', '--name', 'Acme', '--plan', 'developer')).stdout.trim();
    assert.match(org, /^org_[0-9A-Z]{26}$/);
    const created = await airmy('keys', 'create', '--org', org, '--scopes', 'organization:read');
    const key = created.stdout.trim();
    assert.match(key, /^sk-airmy-[0-9A-Za-z]{38}$/);
    const listed = (await airmy('keys', 'list', '--org', org)).stdout;
    assert.ok(!listed.includes(key), 'keys list never prints a secret');
    const server = await startChildServer({ AIRMY_DATA_DIR: dir });
    try {
      const res = await server.request('GET', '/v2/organization', { key });
      assert.equal(res.status, 200);
      assert.equal(res.json().id, org);
      assert.equal(res.json().plan, 'developer');
    } finally {
      await server.kill('SIGTERM');
    }
  });

  test('bad input: a clear message and a non-zero exit', async () => {
    await assert.rejects(
      airmy('orgs', 'create', '--name', 'X', '--plan', 'gold'),
      (e: { stderr: string; code: number }) => {
        assert.match(e.stderr, /Plan must be one of/);
        return e.code !== 0;
      },
    );
    await assert.rejects(airmy('frobnicate'), (e: { stderr: string }) => /unknown command/.test(e.stderr));
    await assert.rejects(
      exec(process.execPath, [MAIN, 'migrate'], { env: { ...env, AIRMY_PORT: 'x' } }),
      (e: { stderr: string }) => /^configuration error: AIRMY_PORT/.test(e.stderr),
    );
  });
});

const SECRET_KEY = Buffer.alloc(32, 7).toString('base64');

describe('demo mode', () => {
  test('production: no demo key; AIRMY_DEMO=1 brings it back with a warning', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'airmy-prod-'));
    try {
      const prod = await startChildServer({
        AIRMY_DATA_DIR: dir,
        AIRMY_ENV: 'production',
        AIRMY_SECRET_KEY: SECRET_KEY,
      });
      try {
        const res = await prod.request('GET', '/v2/organization', { key: 'sk-airmy-demo-2026' });
        assert.equal(res.status, 401);
        assert.doesNotMatch(prod.output(), /sk-airmy-demo-2026/);
      } finally {
        await prod.kill('SIGTERM');
      }
      const dir2 = mkdtempSync(path.join(tmpdir(), 'airmy-prod-demo-'));
      const demo = await startChildServer({
        AIRMY_DATA_DIR: dir2,
        AIRMY_ENV: 'production',
        AIRMY_DEMO: '1',
        AIRMY_SECRET_KEY: SECRET_KEY,
      });
      try {
        assert.equal(
          (await demo.request('GET', '/v2/organization', { key: 'sk-airmy-demo-2026' })).status,
          200,
        );
        assert.match(demo.output(), /AIRMY_DEMO=1 in production/);
      } finally {
        await demo.kill('SIGTERM');
        rmSync(dir2, { recursive: true, force: true });
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/**
 * Bug 4 of issue 19: a data dir first started in development holds the demo key's row; restarted
 * with AIRMY_ENV=production, the real server must refuse `sk-airmy-demo-2026` (and the session
 * tokens minted from it) whatever the database holds — unless AIRMY_DEMO=1 says otherwise.
 * The real `airmy serve` in a child process, on SQLite (a temp data dir) and on Postgres (a fresh
 * database, created and dropped here), skipped when Postgres is unreachable unless CI is set.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { type ChildServer, startChildServer } from '../support/child-server.ts';
import { DEMO_KEY, PG_URL } from '../support/harness.ts';

async function admin(sql: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
  } catch {
    return false;
  }
  try {
    await client.query(sql);
    return true;
  } finally {
    await client.end();
  }
}

function scenario(target: 'sqlite' | 'postgres') {
  let dir: string;
  let database: string | undefined;
  let env: Record<string, string>;
  let skip = false;
  const servers: ChildServer[] = [];
  const start = async (extra: Record<string, string>) => {
    // a loaded machine can take a while to start a server: the test's own timeout is the bound
    const s = await startChildServer({ ...env, ...extra }, 110_000);
    servers.push(s);
    return s;
  };

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), `airmy-demo-prod-${target}-`));
    env = { AIRMY_DATA_DIR: dir, AIRMY_SECRET_KEY: randomBytes(32).toString('base64') };
    if (target === 'postgres') {
      database = `airmy_demo_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
      if (!(await admin(`CREATE DATABASE ${database}`))) {
        if (process.env.CI) throw new Error(`Postgres at ${PG_URL} is unreachable`);
        skip = true;
        database = undefined;
        return;
      }
      const url = new URL(PG_URL);
      url.pathname = `/${database}`;
      env.AIRMY_DATABASE_URL = url.toString();
    }
  });
  after(async () => {
    for (const s of servers) await s.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    if (database) await admin(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
  });

  let token: string;
  test('first started in development: the demo key works, and mints a session token', async (t) => {
    if (skip) return t.skip('Postgres unreachable');
    const dev = await start({});
    assert.equal((await dev.request('GET', '/v2/organization', { key: DEMO_KEY })).status, 200);
    const minted = await dev.request('POST', '/v2/auth/token', { key: DEMO_KEY });
    assert.equal(minted.status, 201);
    token = minted.json().token as string;
    await dev.kill('SIGTERM');
  });

  test('restarted in production on the same data: the demo key and its tokens are 401', async (t) => {
    if (skip) return t.skip('Postgres unreachable');
    assert.ok(token, 'the development run minted a token');
    const prod = await start({ AIRMY_ENV: 'production' });
    assert.doesNotMatch(prod.output(), /sk-airmy-demo-2026/, 'production does not advertise the demo key');
    for (const secret of [DEMO_KEY, token]) {
      const res = await prod.request('GET', '/v2/organization', { key: secret });
      assert.equal(res.status, 401, `${secret.slice(0, 9)}…: ${res.body}`);
      assert.equal(res.json().error.type, 'authentication_error');
      assert.match(res.json().error.code, /^invalid_(api_key|token)$/);
      assert.match(res.json().error.request_id, /^req_/);
    }
    // a run with the reference's quickstart command is refused too, and creates nothing
    const run = await prod.request('POST', '/v2/runs', {
      key: DEMO_KEY,
      body: { agent_id: 'ag_01HXYZ', input: { query: 'x' } },
    });
    assert.equal(run.status, 401);
    await prod.kill('SIGTERM');
  });

  test('production with AIRMY_DEMO=1 (explicitly enabled) accepts the demo key', async (t) => {
    if (skip) return t.skip('Postgres unreachable');
    const prod = await start({ AIRMY_ENV: 'production', AIRMY_DEMO: '1' });
    assert.equal((await prod.request('GET', '/v2/organization', { key: DEMO_KEY })).status, 200);
    await prod.kill('SIGTERM');
  });
}

describe('the demo key does not outlive production [sqlite]', () => scenario('sqlite'));
describe('the demo key does not outlive production [postgres]', () => scenario('postgres'));

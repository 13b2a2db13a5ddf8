/**
 * The real thing in child processes: `airmy users create` (password on stdin, never an argument)
 * makes the first owner, a production server (AIRMY_ENV=production, NODE_ENV=production) logs them
 * in over TLS with the __Host- cookie, and the session survives a kill -9 and restart — on SQLite (a
 * temp data dir) and on Postgres (a fresh database, created and dropped here).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { cliRunner } from '../support/airmy-cli.ts';
import { type ChildServer, startChildServer } from '../support/child-server.ts';
import { PG_URL } from '../support/harness.ts';
import { COOKIE, PASSWORD } from './support.ts';

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
  const start = async () => {
    const s = await startChildServer({ ...env, AIRMY_ENV: 'production', NODE_ENV: 'production' }, 110_000);
    servers.push(s);
    return s;
  };
  const airmy = (args: string[], input?: string) => cliRunner(env)(args, { input });
  const owner = `owner-${process.pid}@example.com`;
  let orgId: string;

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), `airmy-users-${target}-`));
    env = { AIRMY_DATA_DIR: dir, AIRMY_SECRET_KEY: randomBytes(32).toString('base64') };
    if (target === 'postgres') {
      database = `airmy_users_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
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

  test('airmy users create: the password from stdin, never an argument; users list shows the user', async (t) => {
    if (skip) return t.skip('Postgres unreachable');
    const org = await airmy(['orgs', 'create', '--name', 'Acme People', '--plan', 'developer']);
    assert.equal(org.code, 0, org.stderr);
    orgId = org.stdout.trim();
    const asArg = await airmy([
      'users',
      'create',
      '--org',
      orgId,
      '--email',
      owner,
      '--role',
      'owner',
      '--password',
      PASSWORD,
    ]);
    assert.equal(asArg.code, 2);
    assert.match(asArg.stderr, /never an argument/);
    const short = await airmy(
      ['users', 'create', '--org', orgId, '--email', owner, '--role', 'owner'],
      'too short\n',
    );
    assert.equal(short.code, 1);
    assert.match(short.stderr, /at least 12 characters/);
    const none = await airmy(['users', 'create', '--org', orgId, '--email', owner, '--role', 'owner'], '');
    assert.equal(none.code, 2);
    const created = await airmy(
      ['users', 'create', '--org', 'Acme People', '--email', owner, '--role', 'owner', '--name', 'Ada'],
      `${PASSWORD}\n`,
    );
    assert.equal(created.code, 0, created.stderr);
    assert.match(created.stdout.trim(), /^usr_[0-9A-Z]{26}$/);
    assert.ok(!created.stdout.includes(PASSWORD) && !created.stderr.includes(PASSWORD));
    const listed = await airmy(['users', 'list', '--org', orgId, '--json']);
    assert.equal(listed.code, 0, listed.stderr);
    assert.deepEqual(JSON.parse(listed.stdout), [
      { id: created.stdout.trim(), email: owner, name: 'Ada', role: 'owner' },
    ]);
    const dup = await airmy(
      ['users', 'create', '--org', orgId, '--email', owner, '--role', 'viewer'],
      `${PASSWORD}\n`,
    );
    assert.equal(dup.code, 1);
    assert.match(dup.stderr, /already exists/);
  });

  let cookie: string;
  test('production: login over TLS sets the __Host- cookie Secure, HttpOnly, SameSite=Strict', async (t) => {
    if (skip) return t.skip('Postgres unreachable');
    const server = await start();
    const res = await server.request('POST', '/v2/auth/login', {
      body: { email: owner, password: PASSWORD },
    });
    assert.equal(res.status, 200, res.body);
    const setCookie = String(res.headers['set-cookie']);
    assert.match(
      setCookie,
      new RegExp(
        `^${COOKIE}=us-airmy-[0-9A-Za-z]{38}; Secure; HttpOnly; SameSite=Strict; Path=/; Max-Age=43200$`,
      ),
    );
    assert.match(String(res.headers['strict-transport-security']), /max-age=/);
    cookie = setCookie.slice(0, setCookie.indexOf(';'));
    const me = await server.request('GET', '/v2/auth/me', { headers: { cookie } });
    assert.equal(me.status, 200, me.body);
    assert.equal(me.json().role, 'owner');
    assert.equal(me.json().organization.id, orgId);
  });

  test('the session survives a kill -9 and a restart; logout then ends it for good', async (t) => {
    if (skip) return t.skip('Postgres unreachable');
    assert.equal(await servers.at(-1)!.kill('SIGKILL'), null);
    const server = await start();
    const me = await server.request('GET', '/v2/auth/me', { headers: { cookie } });
    assert.equal(me.status, 200, me.body);
    assert.equal(me.json().email, owner);
    const out = await server.request('DELETE', '/v2/auth/session', {
      headers: { cookie, 'sec-fetch-site': 'same-origin' },
    });
    assert.equal(out.status, 204, out.body);
    assert.equal((await server.request('GET', '/v2/auth/me', { headers: { cookie } })).status, 401);
    assert.equal(await server.kill('SIGTERM'), 0);
  });

  test('SIGTERM during a login: it completes or is refused 503, the server exits 0, a completed login survives', async (t) => {
    if (skip) return t.skip('Postgres unreachable');
    const server = await start();
    const pending = server
      .request('POST', '/v2/auth/login', { body: { email: owner, password: PASSWORD } })
      .catch((err: Error) => ({ status: 0, headers: {} as Record<string, unknown>, body: String(err) }));
    const code = server.kill('SIGTERM');
    const res = await pending;
    assert.equal(await code, 0);
    assert.ok([200, 503, 0].includes(res.status), `${res.status} ${res.body}`);
    if (res.status !== 200) return;
    const setCookie = String(res.headers['set-cookie']);
    const again = await start();
    const me = await again.request('GET', '/v2/auth/me', {
      headers: { cookie: setCookie.slice(0, setCookie.indexOf(';')) },
    });
    assert.equal(me.status, 200, me.body);
    await again.kill('SIGTERM');
  });
}

describe('users: CLI, production server, restart [sqlite]', () => scenario('sqlite'));
describe('users: CLI, production server, restart [postgres]', () => scenario('postgres'));

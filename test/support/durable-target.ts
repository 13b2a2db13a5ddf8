/**
 * A data dir (SQLite) or a fresh database (Postgres, created and dropped here: the server has no
 * setting for a schema) for tests that run the real `airmy serve` in child processes, with an
 * organization and key made by the CLI before any server runs, as an operator would.
 * `forEachDurableTarget` runs a suite once per database, side by side; Postgres is skipped with a
 * message when unreachable — unless CI is set, where that is a failure.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe } from 'node:test';
import { promisify } from 'node:util';
import pg from 'pg';
import { type ChildServer, startChildServer } from './child-server.ts';

const exec = promisify(execFile);
const MAIN = path.resolve(import.meta.dirname, '../../src/main.ts');
export const PG_URL = process.env.AIRMY_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const TERMINAL = ['completed', 'failed', 'cancelled', 'timed_out', 'expired'];
export type DbName = 'sqlite' | 'postgres';

async function admin<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

async function postgresReachable(): Promise<boolean> {
  const client = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    await client.end();
    return true;
  } catch {
    return false;
  }
}

export interface DurableTarget {
  env: Record<string, string>;
  key: string;
  /** the server on this data: the current one while alive, else a new one */
  live(): Promise<ChildServer>;
  cleanup(): Promise<void>;
}

export async function prepareTarget(db: DbName, env: Record<string, string>): Promise<DurableTarget> {
  const dir = mkdtempSync(path.join(tmpdir(), `airmy-child-${db}-`));
  const full: Record<string, string> = { AIRMY_DATA_DIR: dir, ...env };
  let database: string | undefined;
  if (db === 'postgres') {
    database = `airmy_child_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
    await admin((c) => c.query(`CREATE DATABASE ${database}`));
    const url = new URL(PG_URL);
    url.pathname = `/${database}`;
    full.AIRMY_DATABASE_URL = url.toString();
  }
  const airmy = async (...args: string[]) =>
    (
      await exec(process.execPath, [MAIN, ...args], { env: { PATH: process.env.PATH ?? '', ...full } })
    ).stdout.trim();
  const org = await airmy('orgs', 'create', '--name', `child ${db}`, '--plan', 'business');
  assert.match(org, /^org_[0-9A-Z]{26}$/);
  const key = await airmy('keys', 'create', '--org', org);
  const servers: ChildServer[] = [];
  let current: ChildServer | undefined;
  return {
    env: full,
    key,
    async live() {
      if (current && current.proc.exitCode === null && current.proc.signalCode === null) return current;
      current = await startChildServer(full, 90_000); // a loaded CI machine starts slowly
      servers.push(current);
      return current;
    },
    async cleanup() {
      for (const s of servers) await s.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
      if (database) await admin((c) => c.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`));
    },
  };
}

/** `fn` as a suite once per database (side by side; the cases inside one run in order). */
export function forEachDurableTarget(title: string, fn: (db: DbName) => void) {
  describe(title, { concurrency: 2 }, () => {
    describe('[sqlite]', { concurrency: 1 }, () => fn('sqlite'));
    describe('[postgres]', { concurrency: 1 }, async () => {
      if (!(await postgresReachable())) {
        if (process.env.CI)
          throw new Error(`Postgres at ${PG_URL} is unreachable, and CI must run the Postgres cases`);
        console.warn(`# skipped Postgres cases of "${title}": ${PG_URL} unreachable`);
        return;
      }
      fn('postgres');
    });
  });
}

/** Polls `fn` until it returns a non-undefined value; fails with `what()` after `ms`. */
export async function until<T>(fn: () => Promise<T | undefined>, ms: number, what: () => string): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms: ${what()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

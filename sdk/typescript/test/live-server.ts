/**
 * A live AIRMY server for the SDK and CLI suites: the real `airmy serve` in a child process over
 * real TLS (its self-signed CA), on SQLite in a temp dir or on a throwaway Postgres database, with
 * an organization and an all-scopes key made by the bootstrap CLI against the same database.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { startChildServer } from '../../../test/support/child-server.ts';

const exec = promisify(execFile);
export const REPO = path.resolve(import.meta.dirname, '../../..');
export const MAIN = path.join(REPO, 'src/main.ts');
export const PG_URL = process.env.AIRMY_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export type DbTarget = 'sqlite' | 'postgres';

export interface LiveServer {
  baseURL: string;
  port: number;
  caFile: string;
  /** an all-scopes key of a fresh enterprise organization (600 rpm, burst 100) */
  key: string;
  org: string;
  env: Record<string, string>;
  /** the bootstrap CLI against the server's database */
  cli(...args: string[]): Promise<string>;
  /** a key of a new organization with the given plan limits */
  orgKey(opts: { rpm: number; burst: number; scopes?: string }): Promise<string>;
  stop(): Promise<void>;
}

export async function postgresReachable(): Promise<boolean> {
  const client = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    await client.end();
    return true;
  } catch {
    return false;
  }
}

async function admin<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

export async function startLiveServer(
  target: DbTarget,
  extraEnv: Record<string, string> = {},
): Promise<LiveServer> {
  const dir = mkdtempSync(path.join(tmpdir(), 'airmy-sdk-'));
  const env: Record<string, string> = { PATH: process.env.PATH ?? '', AIRMY_DATA_DIR: dir, ...extraEnv };
  let database: string | undefined;
  if (target === 'postgres') {
    database = `sdk_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
    await admin((c) => c.query(`CREATE DATABASE ${database}`));
    const url = new URL(PG_URL);
    url.pathname = `/${database}`;
    env.AIRMY_DATABASE_URL = url.toString();
  }
  const cli = async (...args: string[]) =>
    (await exec(process.execPath, [MAIN, ...args], { env })).stdout.trim();
  const orgKey = async (o: { rpm: number; burst: number; scopes?: string }) => {
    const org = await cli(
      'orgs',
      'create',
      '--name',
      'sdk',
      '--plan',
      'enterprise',
      '--rpm',
      `${o.rpm}`,
      '--burst',
      `${o.burst}`,
    );
    return cli('keys', 'create', '--org', org, ...(o.scopes ? ['--scopes', o.scopes] : []));
  };
  await cli('migrate');
  const org = await cli(
    'orgs',
    'create',
    '--name',
    'sdk',
    '--plan',
    'enterprise',
    '--rpm',
    '6000',
    '--burst',
    '1000',
  );
  const key = await cli('keys', 'create', '--org', org);
  const server = await startChildServer(env, 120_000);
  const caFile = /Trust this CA:\s+(\S+)/.exec(server.output())![1];
  return {
    baseURL: `https://127.0.0.1:${server.port}/v2`,
    port: server.port,
    caFile,
    key,
    org,
    env,
    cli,
    orgKey,
    async stop() {
      await server.kill('SIGTERM');
      if (database) await admin((c) => c.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

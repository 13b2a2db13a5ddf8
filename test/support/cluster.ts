/**
 * A cluster of real processes for tests (issue 14): N API nodes (`airmy serve --no-worker`, or
 * `airmy serve` with `apiWorkers`) and M workers (`airmy worker`) as child processes on free ports,
 * against one fresh Postgres database (created here, dropped by `close`) and a Redis URL (the
 * machine's, unless the test brings its own — one it may stop). Every node gets its own data dir
 * (its own TLS CA) and the same AIRMY_SECRET_KEY. An organization and a key are made with the CLI
 * before any node starts (which also applies the migrations).
 *
 *   const c = await startCluster({ apis: 2, workers: 2, env: { OPENAI_BASE_URL: fake.baseURL } });
 *   const res = await c.apis[0].request('POST', '/v2/runs', { key: c.key, body });
 *   await c.workers[1].kill('SIGKILL');           // or c.kill(c.workers[1]) / 'SIGTERM'
 *   await c.addWorker();                          // one more, same database and Redis
 *   await c.close();
 *
 * `clusterServices()` says whether Postgres and Redis answer: a test skips with that reason
 * outside CI, and fails in CI (where .ci/run starts both).
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { type ChildServer, type ChildWorker, startChildServer, startChildWorker } from './child-server.ts';

const exec = promisify(execFile);
const MAIN = path.resolve(import.meta.dirname, '../../src/main.ts');
export const PG_URL = process.env.AIRMY_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const REDIS_URL = process.env.AIRMY_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
/** start-ups are slow on a loaded 2-core CI machine: generous, never a measure of speed */
const START_MS = 120_000;

export interface ClusterOptions {
  apis?: number;
  workers?: number;
  /** API nodes run `airmy serve` (API + worker) instead of `serve --no-worker` */
  apiWorkers?: boolean;
  /** added to every node's environment (and the CLI's) */
  env?: Record<string, string>;
  /** null: no Redis at all (embedded mode on a shared Postgres: `airmy serve` nodes only) */
  redisUrl?: string | null;
  plan?: string;
  /** start the nodes before any CLI call, all at once (migrations race for the advisory lock) */
  coldStart?: boolean;
}

export interface Cluster {
  databaseUrl: string;
  redisUrl: string | null;
  /** the environment every node gets */
  env: Record<string, string>;
  apis: ChildServer[];
  workers: ChildWorker[];
  orgId: string;
  key: string;
  addApi(extra?: Record<string, string>): Promise<ChildServer>;
  addWorker(extra?: Record<string, string>): Promise<ChildWorker>;
  /** kill -9 (default) or SIGTERM one node; resolves with its exit code (null: died of the signal) */
  kill(node: ChildServer | ChildWorker, signal?: NodeJS.Signals): Promise<number | null>;
  /** the `airmy` CLI against the cluster's database; its stdout */
  airmy(...args: string[]): Promise<string>;
  /** a query on the cluster's database, as its owner */
  query<T = Record<string, unknown>>(text: string, params?: unknown[]): Promise<T[]>;
  close(): Promise<void>;
}

async function admin<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** Whether a Redis answers PING at `url` (a raw RESP exchange: the tests need no client). */
export function redisAnswers(url = REDIS_URL, ms = 2_000): Promise<boolean> {
  const u = new URL(url);
  return new Promise((resolve) => {
    const socket = net.connect({ host: u.hostname, port: Number(u.port || 6379) });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(ms, () => done(false));
    socket.on('error', () => done(false));
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (d) => done(d.toString().startsWith('+PONG')));
  });
}

/** null when Postgres and Redis both answer; else why not (skip outside CI, fail in it). */
export async function clusterServices(): Promise<string | null> {
  try {
    await admin(PG_URL, (c) => c.query('SELECT 1'));
  } catch {
    return `Postgres unreachable at ${PG_URL}`;
  }
  if (!(await redisAnswers())) return `Redis unreachable at ${REDIS_URL}`;
  return null;
}

/** `test(name, { skip: await skipUnlessCluster() }, …)`: throws in CI when a service is missing. */
export async function skipUnlessCluster(): Promise<string | false> {
  const missing = await clusterServices();
  if (missing && process.env.CI) throw new Error(`${missing} (CI must provide it)`);
  return missing ?? false;
}

export async function startCluster(options: ClusterOptions = {}): Promise<Cluster> {
  const database = `airmy_cluster_${process.pid}_${randomBytes(4).toString('hex')}`;
  await admin(PG_URL, (c) => c.query(`CREATE DATABASE ${database}`));
  const dbUrl = new URL(PG_URL);
  dbUrl.pathname = `/${database}`;
  const databaseUrl = dbUrl.toString();
  const redisUrl = options.redisUrl === undefined ? REDIS_URL : options.redisUrl;
  const dirs: string[] = [];
  const dir = () => {
    const d = mkdtempSync(path.join(tmpdir(), 'airmy-cluster-'));
    dirs.push(d);
    return d;
  };
  const env: Record<string, string> = {
    AIRMY_DATABASE_URL: databaseUrl,
    ...(redisUrl ? { AIRMY_REDIS_URL: redisUrl } : {}),
    AIRMY_SECRET_KEY: randomBytes(32).toString('hex'),
    AIRMY_SHUTDOWN_GRACE_MS: '10000',
    // the machine's Postgres (max_connections 100) is shared with the suite running beside this one:
    // each node's own pool stays small (a worker also opens graphile-worker's pools)
    AIRMY_DATABASE_POOL_SIZE: '5',
    ...options.env,
  };
  const apis: ChildServer[] = [];
  const workers: ChildWorker[] = [];
  const cliDir = dir();
  const airmy = async (...args: string[]) =>
    (
      await exec(process.execPath, [MAIN, ...args], {
        env: { PATH: process.env.PATH ?? '', AIRMY_DATA_DIR: cliDir, ...env },
      })
    ).stdout.trim();

  const cluster: Cluster = {
    databaseUrl,
    redisUrl,
    env,
    apis,
    workers,
    orgId: '',
    key: '',
    async addApi(extra = {}) {
      const s = await startChildServer({ AIRMY_DATA_DIR: dir(), ...env, ...extra }, START_MS, {
        args: options.apiWorkers ? ['serve'] : ['serve', '--no-worker'],
      });
      apis.push(s);
      return s;
    },
    async addWorker(extra = {}) {
      const w = await startChildWorker({ AIRMY_DATA_DIR: dir(), ...env, ...extra }, START_MS);
      workers.push(w);
      return w;
    },
    kill: (node, signal = 'SIGKILL') => node.kill(signal),
    airmy,
    query: (text, params) => admin(databaseUrl, async (c) => (await c.query(text, params as never[])).rows),
    async close() {
      await Promise.all([...apis, ...workers].map((n) => n.kill('SIGKILL')));
      for (const d of dirs) rmSync(d, { recursive: true, force: true });
      await admin(PG_URL, (c) => c.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`)).catch(() => {});
    },
  };
  try {
    const startNodes = () =>
      Promise.all([
        ...Array.from({ length: options.apis ?? 2 }, () => cluster.addApi()),
        ...Array.from({ length: options.workers ?? 2 }, () => cluster.addWorker()),
      ]);
    if (options.coldStart) await startNodes();
    cluster.orgId = await airmy(
      'orgs',
      'create',
      '--name',
      'cluster test',
      '--plan',
      options.plan ?? 'business',
    );
    cluster.key = await airmy('keys', 'create', '--org', cluster.orgId);
    if (!options.coldStart) await startNodes();
  } catch (err) {
    await cluster.close();
    throw err;
  }
  return cluster;
}

/** Polls `fn` until it returns a value other than undefined; fails with `what()` after `ms`. */
export async function until<T>(fn: () => Promise<T | undefined>, ms: number, what: () => string): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms: ${what()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

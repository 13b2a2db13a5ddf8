/**
 * Builds the real app over a real database for a test: SQLite in a temp dir, and Postgres in a
 * throwaway schema of the test database. Every integration suite runs once per target.
 * Postgres is AIRMY_TEST_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/test); when it is
 * unreachable its cases are skipped with a message — unless CI=true, where that is a failure.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { describe } from 'node:test';
import type { FastifyInstance, RouteOptions } from 'fastify';
import pg from 'pg';
import pino from 'pino';
import type { Clock } from '../../src/clock.ts';
import { type Config, parseConfig } from '../../src/config.ts';
import { createTokenCounter } from '../../src/engine/providers/index.ts';
import { type BuildAppOptions, buildApp } from '../../src/http/app.ts';
import { buildResources, type Resources } from '../../src/resources.ts';

/** One tokenizer for every app a test file builds: building one costs ~1 s. */
const sharedTokens = createTokenCounter();

export const PG_URL = process.env.AIRMY_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

let pgReachable: Promise<boolean> | undefined;
export function probePostgres(): Promise<boolean> {
  pgReachable ??= (async () => {
    const client = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 2000 });
    try {
      await client.connect();
      await client.end();
      return true;
    } catch {
      return false;
    }
  })();
  return pgReachable;
}

export interface Target {
  name: 'sqlite' | 'postgres';
}

/** Runs `fn` as a describe block once for SQLite and once for Postgres. */
export function forEachDb(title: string, fn: (target: Target) => void) {
  describe(`${title} [sqlite]`, () => fn({ name: 'sqlite' }));
  describe(`${title} [postgres]`, async () => {
    if (!(await probePostgres())) {
      if (process.env.CI)
        throw new Error(`Postgres at ${PG_URL} is unreachable, and CI must run the Postgres cases`);
      console.warn(`# skipped Postgres cases of "${title}": ${PG_URL} unreachable`);
      return;
    }
    fn({ name: 'postgres' });
  });
}

export class FakeClock implements Clock {
  t: number;
  constructor(start = Date.parse('2026-11-29T12:00:00Z')) {
    this.t = start;
  }
  now() {
    return this.t;
  }
  advance(ms: number) {
    this.t += ms;
  }
}

export interface TestApp {
  app: FastifyInstance;
  resources: Resources;
  config: Config;
  logs: string[];
  /** every route the app registered, as Fastify's onRoute hook saw it */
  routes: RouteOptions[];
  /** a fresh organization and an all-scopes key on it */
  newOrg(plan?: string, scopes?: string[]): Promise<{ orgId: string; key: string; keyId: string }>;
  /** creates the agent `name` on model `mock/<name>` through the API; returns its id */
  newAgent(key: string, name: string, fields?: Record<string, unknown>): Promise<string>;
  close(): Promise<void>;
}

export interface TestAppOptions {
  env?: Record<string, string>;
  clock?: Clock;
  https?: { key: string; cert: string };
  trustProxy?: string[];
  /** the API versions the app serves (default: the server's) */
  versions?: BuildAppOptions['versions'];
  /** test-only routes added after the server's own (a route that fails on purpose) */
  routes?: (app: FastifyInstance) => void;
}

export async function createTestApp(target: Target, options: TestAppOptions = {}): Promise<TestApp> {
  const dir = mkdtempSync(path.join(tmpdir(), 'airmy-test-'));
  let schema: string | undefined;
  const env: Record<string, string> = {
    AIRMY_DATA_DIR: dir,
    AIRMY_DEMO: '1',
    AIRMY_SYNC_WAIT_MS: '10000',
    ...options.env,
  };
  if (target.name === 'postgres') {
    schema = `t_${process.pid}_${Math.random().toString(36).slice(2, 10)}`;
    const admin = new pg.Client({ connectionString: PG_URL });
    await admin.connect();
    await admin.query(`CREATE SCHEMA ${schema}`);
    await admin.end();
    env.AIRMY_DATABASE_URL = PG_URL;
  }
  const config = parseConfig(env);
  const resources = await buildResources(config, {
    clock: options.clock,
    db: { schema, poolSize: 5 },
    tokens: sharedTokens,
  });
  const logs: string[] = [];
  const logger = pino(
    { level: 'info' },
    new Writable({
      write(chunk, _enc, cb) {
        logs.push(String(chunk));
        cb();
      },
    }),
  );
  const routes: RouteOptions[] = [];
  const app = await buildApp(resources, {
    onRoute: (route) => {
      routes.push(route);
    },
    logger,
    https: options.https ?? null,
    trustProxy: options.trustProxy,
    versions: options.versions,
  });
  options.routes?.(app);
  await app.ready();
  await resources.start();
  return {
    app,
    resources,
    config,
    logs,
    routes,
    async newOrg(plan = 'free', scopes) {
      const org = await resources.services.organizations.create({ name: `test ${plan}`, plan });
      const key = await resources.services.apiKeys.create(org.id, { name: 'test', scopes });
      return { orgId: org.id, key: key.secret, keyId: key.id };
    },
    async newAgent(key, name, fields = {}) {
      const res = await app.inject({
        method: 'POST',
        url: '/v2/agents',
        headers: bearer(key),
        payload: { name, model: `mock/${name}`, ...fields },
      });
      if (res.statusCode !== 201) throw new Error(`agent ${name}: ${res.statusCode} ${res.body}`);
      return res.json().id as string;
    },
    async close() {
      await app.close();
      await resources.stop();
      await resources.close();
      rmSync(dir, { recursive: true, force: true });
      if (schema) {
        const admin = new pg.Client({ connectionString: PG_URL });
        await admin.connect();
        await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
        // graphile-worker's schema of this suite, when it ran in cluster mode (resources.ts)
        await admin.query(`DROP SCHEMA IF EXISTS gw_${schema} CASCADE`);
        await admin.end();
      }
    },
  };
}

export const bearer = (key: string) => ({ authorization: `Bearer ${key}` });
export const DEMO_KEY = 'sk-airmy-demo-2026';

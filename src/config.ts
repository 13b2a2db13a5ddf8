/**
 * Configuration comes from the environment only, parsed once into a frozen object. Nothing else in
 * the codebase reads `process.env`: the composition root hands this object down.
 * A bad value stops start-up with one line naming the variable and what is allowed.
 */
import { isIP } from 'node:net';
import path from 'node:path';
import { ConfigError } from './config-error.ts';
import { type ProviderConfig, parseProviderEnv } from './engine/providers/index.ts';

export const LogLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LogLevels)[number];

export interface Config {
  host: string;
  port: number;
  httpPort: number | null;
  dataDir: string;
  /** `sqlite:<file>` or `postgres://…` */
  databaseUrl: string;
  redisUrl: string | null;
  tlsCert: string | null;
  tlsKey: string | null;
  trustProxy: readonly string[];
  env: 'development' | 'production';
  demo: boolean;
  logLevel: LogLevel;
  syncWaitMs: number;
  workerConcurrency: number;
  shutdownGraceMs: number;
  providers: ProviderConfig;
}

export { ConfigError };

type Env = Record<string, string | undefined>;

function int(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new ConfigError(`${name}: must be a whole number from ${min} to ${max} (got "${raw}")`);
  }
  return n;
}

function oneOf<T extends string>(env: Env, name: string, allowed: readonly T[], fallback: T): T {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!(allowed as readonly string[]).includes(raw)) {
    throw new ConfigError(`${name}: must be one of ${allowed.join(', ')} (got "${raw}")`);
  }
  return raw as T;
}

function bool(env: Env, name: string): boolean | null {
  const raw = env[name];
  if (raw === undefined || raw === '') return null;
  if (['1', 'true', 'yes', 'on'].includes(raw.toLowerCase())) return true;
  if (['0', 'false', 'no', 'off'].includes(raw.toLowerCase())) return false;
  throw new ConfigError(`${name}: must be 1/true/yes/on or 0/false/no/off (got "${raw}")`);
}

function databaseUrl(env: Env, dataDir: string): string {
  const raw = env.AIRMY_DATABASE_URL;
  if (raw === undefined || raw === '') return `sqlite:${path.join(dataDir, 'airmy.db')}`;
  if (/^postgres(ql)?:\/\//.test(raw) || raw.startsWith('sqlite:')) return raw;
  throw new ConfigError(
    'AIRMY_DATABASE_URL: must be postgres://… or sqlite:<file> (default: SQLite in the data dir)',
  );
}

function trustProxy(env: Env): string[] {
  const raw = env.AIRMY_TRUST_PROXY ?? '';
  const list = raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const addr of list) {
    if (!isIP(addr))
      throw new ConfigError(
        `AIRMY_TRUST_PROXY: must be a comma-separated list of IP addresses (got "${addr}")`,
      );
  }
  return list;
}

export function parseConfig(env: Env, cwd = process.cwd()): Config {
  const dataDir = path.resolve(cwd, env.AIRMY_DATA_DIR || '.airmy');
  const appEnv = oneOf(env, 'AIRMY_ENV', ['development', 'production'] as const, 'development');
  const demoFlag = bool(env, 'AIRMY_DEMO');
  const tlsCert = env.AIRMY_TLS_CERT || null;
  const tlsKey = env.AIRMY_TLS_KEY || null;
  if ((tlsCert === null) !== (tlsKey === null)) {
    throw new ConfigError(
      'AIRMY_TLS_CERT / AIRMY_TLS_KEY: set both (PEM file paths) or neither (self-signed)',
    );
  }
  const redisUrl = env.AIRMY_REDIS_URL || null;
  if (redisUrl !== null && !/^rediss?:\/\//.test(redisUrl)) {
    throw new ConfigError('AIRMY_REDIS_URL: must be redis://… or rediss://…');
  }
  const config: Config = {
    host: env.AIRMY_HOST || '127.0.0.1',
    port: int(env, 'AIRMY_PORT', 8443, 0, 65535),
    httpPort: env.AIRMY_HTTP_PORT ? int(env, 'AIRMY_HTTP_PORT', 0, 0, 65535) : null,
    dataDir,
    databaseUrl: databaseUrl(env, dataDir),
    redisUrl,
    tlsCert: tlsCert && path.resolve(cwd, tlsCert),
    tlsKey: tlsKey && path.resolve(cwd, tlsKey),
    trustProxy: Object.freeze(trustProxy(env)),
    env: appEnv,
    demo: demoFlag ?? appEnv !== 'production',
    logLevel: oneOf(env, 'AIRMY_LOG_LEVEL', LogLevels, 'info'),
    syncWaitMs: int(env, 'AIRMY_SYNC_WAIT_MS', 60_000, 0, 3_600_000),
    workerConcurrency: int(env, 'AIRMY_WORKER_CONCURRENCY', 16, 1, 1024),
    shutdownGraceMs: int(env, 'AIRMY_SHUTDOWN_GRACE_MS', 10_000, 0, 600_000),
    providers: parseProviderEnv(env),
  };
  return Object.freeze(config);
}

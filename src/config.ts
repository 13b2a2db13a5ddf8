/**
 * Configuration comes from the environment only, parsed once into a frozen object. Nothing else in
 * the codebase reads `process.env`: the composition root hands this object down.
 * A bad value stops start-up with one line naming the variable and what is allowed.
 */
import { isIP } from 'node:net';
import path from 'node:path';
import { ConfigError } from './config-error.ts';
import { type ProviderConfig, parseProviderEnv } from './engine/providers/index.ts';
import { type FailurePolicy, parseFailurePolicy } from './infra/limiter/failure-policy.ts';

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
  /** AIRMY_LIMITER_FAILURE (default reads:open,writes:closed): what a request gets when Redis cannot rate-limit it */
  limiterFailure: FailurePolicy;
  /**
   * Cluster mode (docs/cluster.md): on when the database is Postgres AND AIRMY_REDIS_URL is set.
   * The queue is then graphile-worker, the limiter and the bus Redis; off, everything is in-process.
   */
  cluster: boolean;
  /** AIRMY_HEALTH_PORT: `airmy worker` (no API listener) serves /healthz and /readyz on it; null → none */
  healthPort: number | null;
  /** AIRMY_RUN_LEASE_MS (default 15000): a worker silent this long is declared lost; its runs are recovered */
  runLeaseMs: number;
  /** AIRMY_DATABASE_POOL_SIZE (default 10): Postgres connections this process's own pool may open */
  databasePoolSize: number;
  /**
   * Cluster mode, graphile-worker's batching (docs/cluster.md#performance): AIRMY_QUEUE_LOCAL_SIZE
   * (0: off) jobs fetched and locked per query by a worker pool (`localQueue.size`);
   * AIRMY_QUEUE_COMPLETE_BATCH_MS (off) how long finished jobs wait to be deleted together
   * (`completeJobBatchDelay`, `failJobBatchDelay`).
   */
  queueBatching: { localSize: number; completeBatchMs: number | null };
  tlsCert: string | null;
  tlsKey: string | null;
  trustProxy: readonly string[];
  env: 'development' | 'production';
  demo: boolean;
  logLevel: LogLevel;
  syncWaitMs: number;
  workerConcurrency: number;
  shutdownGraceMs: number;
  /** AIRMY_IDEMPOTENCY_LEASE_MS (default 30 s): an in-flight Idempotency-Key claim whose request stopped renewing it (a crash) is freed after this */
  idempotencyLeaseMs: number;
  providers: ProviderConfig;
  /** AIRMY_EGRESS_ALLOW: hosts or host:port pairs that outbound requests may reach even when private */
  egressAllow: readonly string[];
  /** AIRMY_SECRET_KEY (32 bytes, base64 or hex): seals connector secrets; null → `<dataDir>/secret.key` */
  secretKey: Buffer | null;
  /** AIRMY_METRICS_TOKEN: when set, GET /internal/metrics needs `Authorization: Bearer <token>` */
  metricsToken: string | null;
  /** AIRMY_DASHBOARD_DIR (default: the package's dist/dashboard, built by `npm ci`): the web UI served at `/` */
  dashboardDir: string;
  /** AIRMY_ALERT_INTERVAL_S (default 60): how often the worker evaluates alert rules */
  alertIntervalS: number;
  /** AIRMY_CANARY_CHECK_MS (default 1000): how often the worker looks for canaries whose analysis is due */
  canaryCheckMs: number;
  /** AIRMY_ALLOW_PRIVATE_WEBHOOKS=1: alert and completion webhooks may be http:// and reach private addresses (dev, tests) */
  allowPrivateWebhooks: boolean;
  /** OTEL_EXPORTER_OTLP_ENDPOINT and friends: traces over OTLP/HTTP; null (the default) → tracing off */
  otel: OtelConfig | null;
  /** code agents' sandbox (src/engine/sandbox/): the worker pool and the organization-wide maxima */
  sandbox: SandboxConfig;
  /** AIRMY_SESSION_IDLE_TIMEOUT_S (default 1800): a web login with no request for this long ends */
  sessionIdleTimeoutS: number;
  /** AIRMY_SESSION_MAX_AGE_S (default 43200): a web login ends this long after it began, active or not */
  sessionMaxAgeS: number;
}

/** The sandbox pool and the ceilings every agent's `code_limits` must stay within. */
export interface SandboxConfig {
  /** AIRMY_SANDBOX_WORKERS (default 2): worker threads running guests */
  workers: number;
  /** AIRMY_SANDBOX_GUESTS_PER_WORKER (default 16): guests one worker hosts at once */
  guestsPerWorker: number;
  /** AIRMY_SANDBOX_MAX_MEMORY_MB (default 256) */
  maxMemoryMb: number;
  /** AIRMY_SANDBOX_MAX_CPU_MS (default 60000) */
  maxCpuMs: number;
  /** AIRMY_SANDBOX_MAX_OUTPUT_BYTES (default 10485760) */
  maxOutputBytes: number;
  /** AIRMY_SANDBOX_MAX_HOST_CALLS (default 10000) */
  maxHostCalls: number;
}

/** Where and how spans are exported (src/observability/tracing.ts). */
export interface OtelConfig {
  /** the full traces URL: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, else OTEL_EXPORTER_OTLP_ENDPOINT + /v1/traces */
  tracesUrl: string;
  /** OTEL_EXPORTER_OTLP_HEADERS (+ _TRACES_HEADERS): `key=value,…`, values URL-decoded */
  headers: Readonly<Record<string, string>>;
  /** OTEL_SERVICE_NAME (default `airmy`) */
  serviceName: string;
  /** OTEL_RESOURCE_ATTRIBUTES: `key=value,…` */
  resourceAttributes: Readonly<Record<string, string>>;
  /** OTEL_EXPORTER_OTLP_TIMEOUT (ms, default 10000) */
  exportTimeoutMs: number;
  /** OTEL_BSP_SCHEDULE_DELAY (ms, default 5000) */
  scheduleDelayMs: number;
  /** OTEL_BSP_MAX_QUEUE_SIZE (default 2048): spans beyond it are dropped, never buffered unbounded */
  maxQueueSize: number;
  /** OTEL_BSP_MAX_EXPORT_BATCH_SIZE (default 512) */
  maxExportBatchSize: number;
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

function egressAllow(env: Env): string[] {
  const list = (env.AIRMY_EGRESS_ALLOW ?? '')
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter(Boolean);
  for (const entry of list) {
    if (!/^(\[[0-9a-f:.]+\]|[a-z0-9.-]+)(:\d{1,5})?$/.test(entry)) {
      throw new ConfigError(
        `AIRMY_EGRESS_ALLOW: must be a comma-separated list of host or host:port (got "${entry}")`,
      );
    }
  }
  return list;
}

function secretKey(env: Env, production: boolean): Buffer | null {
  const raw = env.AIRMY_SECRET_KEY?.trim();
  if (!raw) {
    if (production) {
      throw new ConfigError(
        'AIRMY_SECRET_KEY: required in production (32 random bytes as base64 or hex; e.g. `openssl rand -base64 32`)',
      );
    }
    return null;
  }
  const key = /^[0-9a-f]{64}$/i.test(raw) ? Buffer.from(raw, 'hex') : Buffer.from(raw, 'base64');
  if (key.length !== 32 || (!/^[0-9a-f]{64}$/i.test(raw) && key.toString('base64') !== raw)) {
    throw new ConfigError('AIRMY_SECRET_KEY: must be 32 bytes as base64 (44 chars) or hex (64 chars)');
  }
  return key;
}

/** `key=value,key2=value2` (W3C baggage-like lists of the OTEL_* variables), values URL-decoded. */
function keyValues(env: Env, name: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (env[name] ?? '').split(',')) {
    if (!part.trim()) continue;
    const eq = part.indexOf('=');
    const key = eq > 0 ? part.slice(0, eq).trim() : '';
    if (!key) throw new ConfigError(`${name}: must be a comma-separated list of key=value (got "${part}")`);
    try {
      out[key] = decodeURIComponent(part.slice(eq + 1).trim());
    } catch {
      throw new ConfigError(`${name}: the value of "${key}" is not valid URL encoding`);
    }
  }
  return out;
}

function otlpUrl(env: Env, name: string, suffix: string): string | null {
  const raw = env[name]?.trim();
  if (!raw) return null;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(`${name}: must be an http:// or https:// URL (got "${raw}")`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new ConfigError(`${name}: must be an http:// or https:// URL (got "${raw}")`);
  return suffix ? `${raw.replace(/\/+$/, '')}${suffix}` : raw;
}

function otel(env: Env): OtelConfig | null {
  if (bool(env, 'OTEL_SDK_DISABLED')) return null;
  const tracesUrl =
    otlpUrl(env, 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', '') ??
    otlpUrl(env, 'OTEL_EXPORTER_OTLP_ENDPOINT', '/v1/traces');
  if (tracesUrl === null) return null;
  const protocol = env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL || env.OTEL_EXPORTER_OTLP_PROTOCOL;
  if (protocol && protocol !== 'http/json')
    throw new ConfigError(`OTEL_EXPORTER_OTLP_PROTOCOL: only http/json is supported (got "${protocol}")`);
  return {
    tracesUrl,
    headers: Object.freeze({
      ...keyValues(env, 'OTEL_EXPORTER_OTLP_HEADERS'),
      ...keyValues(env, 'OTEL_EXPORTER_OTLP_TRACES_HEADERS'),
    }),
    serviceName: env.OTEL_SERVICE_NAME || 'airmy',
    resourceAttributes: Object.freeze(keyValues(env, 'OTEL_RESOURCE_ATTRIBUTES')),
    exportTimeoutMs: int(env, 'OTEL_EXPORTER_OTLP_TIMEOUT', 10_000, 1, 600_000),
    scheduleDelayMs: int(env, 'OTEL_BSP_SCHEDULE_DELAY', 5_000, 1, 600_000),
    maxQueueSize: int(env, 'OTEL_BSP_MAX_QUEUE_SIZE', 2048, 1, 1_000_000),
    maxExportBatchSize: int(env, 'OTEL_BSP_MAX_EXPORT_BATCH_SIZE', 512, 1, 1_000_000),
  };
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
  const limiterFailure = parseFailurePolicy(env.AIRMY_LIMITER_FAILURE);
  if (typeof limiterFailure === 'string') throw new ConfigError(`AIRMY_LIMITER_FAILURE: ${limiterFailure}`);
  const config: Config = {
    host: env.AIRMY_HOST || '127.0.0.1',
    port: int(env, 'AIRMY_PORT', 8443, 0, 65535),
    httpPort: env.AIRMY_HTTP_PORT ? int(env, 'AIRMY_HTTP_PORT', 0, 0, 65535) : null,
    dataDir,
    databaseUrl: databaseUrl(env, dataDir),
    redisUrl,
    limiterFailure: Object.freeze(limiterFailure),
    cluster: redisUrl !== null && /^postgres(ql)?:\/\//.test(databaseUrl(env, dataDir)),
    healthPort: env.AIRMY_HEALTH_PORT ? int(env, 'AIRMY_HEALTH_PORT', 0, 0, 65535) : null,
    runLeaseMs: int(env, 'AIRMY_RUN_LEASE_MS', 15_000, 1_000, 600_000),
    databasePoolSize: int(env, 'AIRMY_DATABASE_POOL_SIZE', 10, 1, 500),
    queueBatching: Object.freeze({
      localSize: int(env, 'AIRMY_QUEUE_LOCAL_SIZE', 0, 0, 1_000),
      completeBatchMs: env.AIRMY_QUEUE_COMPLETE_BATCH_MS
        ? int(env, 'AIRMY_QUEUE_COMPLETE_BATCH_MS', 0, 0, 1_000)
        : null,
    }),
    tlsCert: tlsCert && path.resolve(cwd, tlsCert),
    tlsKey: tlsKey && path.resolve(cwd, tlsKey),
    trustProxy: Object.freeze(trustProxy(env)),
    env: appEnv,
    demo: demoFlag ?? appEnv !== 'production',
    logLevel: oneOf(env, 'AIRMY_LOG_LEVEL', LogLevels, 'info'),
    syncWaitMs: int(env, 'AIRMY_SYNC_WAIT_MS', 60_000, 0, 3_600_000),
    workerConcurrency: int(env, 'AIRMY_WORKER_CONCURRENCY', 16, 1, 1024),
    shutdownGraceMs: int(env, 'AIRMY_SHUTDOWN_GRACE_MS', 10_000, 0, 600_000),
    idempotencyLeaseMs: int(env, 'AIRMY_IDEMPOTENCY_LEASE_MS', 30_000, 1_000, 3_600_000),
    providers: parseProviderEnv(env),
    egressAllow: Object.freeze(egressAllow(env)),
    secretKey: secretKey(env, appEnv === 'production'),
    metricsToken: env.AIRMY_METRICS_TOKEN || null,
    dashboardDir: env.AIRMY_DASHBOARD_DIR
      ? path.resolve(cwd, env.AIRMY_DASHBOARD_DIR)
      : path.resolve(import.meta.dirname, '../dist/dashboard'),
    alertIntervalS: int(env, 'AIRMY_ALERT_INTERVAL_S', 60, 1, 86_400),
    canaryCheckMs: int(env, 'AIRMY_CANARY_CHECK_MS', 1_000, 50, 3_600_000),
    allowPrivateWebhooks: bool(env, 'AIRMY_ALLOW_PRIVATE_WEBHOOKS') ?? false,
    otel: otel(env),
    sessionIdleTimeoutS: int(env, 'AIRMY_SESSION_IDLE_TIMEOUT_S', 1800, 60, 30 * 86_400),
    sessionMaxAgeS: int(env, 'AIRMY_SESSION_MAX_AGE_S', 43_200, 60, 400 * 86_400),
    sandbox: Object.freeze({
      workers: int(env, 'AIRMY_SANDBOX_WORKERS', 2, 1, 256),
      guestsPerWorker: int(env, 'AIRMY_SANDBOX_GUESTS_PER_WORKER', 16, 1, 1024),
      maxMemoryMb: int(env, 'AIRMY_SANDBOX_MAX_MEMORY_MB', 256, 8, 2048),
      maxCpuMs: int(env, 'AIRMY_SANDBOX_MAX_CPU_MS', 60_000, 10, 3_600_000),
      maxOutputBytes: int(env, 'AIRMY_SANDBOX_MAX_OUTPUT_BYTES', 10 * 1024 * 1024, 1_024, 100 * 1024 * 1024),
      maxHostCalls: int(env, 'AIRMY_SANDBOX_MAX_HOST_CALLS', 10_000, 1, 1_000_000),
    }),
  };
  return Object.freeze(config);
}

/** What a process runs: `serve` (API + worker), `serve --no-worker` (API only), `worker` (jobs only). */
export type Role = 'all' | 'api' | 'worker';

/**
 * Refuses a role that cannot work with this configuration, before anything starts: an API-only
 * node or a worker shares its work through Postgres (SQLite is one process's file) and hears the
 * other nodes through Redis (the in-memory bus reaches no other process).
 */
export function checkRole(config: Config, role: Role): void {
  if (role === 'all') return;
  const what = role === 'api' ? 'airmy serve --no-worker' : 'airmy worker';
  if (!/^postgres(ql)?:\/\//.test(config.databaseUrl))
    throw new ConfigError(
      `${what} needs cluster mode: AIRMY_DATABASE_URL must be postgres://… (SQLite is one process's database; use 'airmy serve')`,
    );
  if (!config.cluster)
    throw new ConfigError(
      `${what} needs cluster mode: set AIRMY_REDIS_URL (redis://…) so the nodes share limits and events`,
    );
}

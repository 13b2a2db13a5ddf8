import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, parseConfig } from '../src/config.ts';

test('defaults: embedded SQLite in ./.airmy, TLS on 127.0.0.1:8443, demo on outside production', () => {
  const c = parseConfig({}, '/srv/app');
  assert.equal(c.host, '127.0.0.1');
  assert.equal(c.port, 8443);
  assert.equal(c.dataDir, '/srv/app/.airmy');
  assert.equal(c.databaseUrl, 'sqlite:/srv/app/.airmy/airmy.db');
  assert.equal(c.demo, true);
  assert.equal(c.env, 'development');
  assert.equal(c.redisUrl, null);
  assert.deepEqual(c.limiterFailure, { read: 'open', write: 'closed' });
  // graphile-worker's batching is off unless asked for (docs/cluster.md#performance)
  assert.deepEqual(c.queueBatching, { localSize: 0, completeBatchMs: null });
  assert.deepEqual(
    parseConfig({ AIRMY_QUEUE_LOCAL_SIZE: '33', AIRMY_QUEUE_COMPLETE_BATCH_MS: '250' }).queueBatching,
    { localSize: 33, completeBatchMs: 250 },
  );
  assert.equal(c.databasePoolSize, 10);
  assert.equal(parseConfig({ AIRMY_DATABASE_POOL_SIZE: '4' }).databasePoolSize, 4);
  assert.ok(Object.isFrozen(c));
});

const SECRET_KEY = Buffer.alloc(32, 7).toString('base64');

test('production has no demo unless AIRMY_DEMO=1', () => {
  const prod = { AIRMY_ENV: 'production', AIRMY_SECRET_KEY: SECRET_KEY };
  assert.equal(parseConfig(prod).demo, false);
  assert.equal(parseConfig({ ...prod, AIRMY_DEMO: '1' }).demo, true);
});

test('AIRMY_SECRET_KEY: required in production, 32 bytes as base64 or hex', () => {
  assert.throws(() => parseConfig({ AIRMY_ENV: 'production' }), /^ConfigError: AIRMY_SECRET_KEY: required/);
  assert.equal(parseConfig({}).secretKey, null);
  assert.deepEqual(parseConfig({ AIRMY_SECRET_KEY: SECRET_KEY }).secretKey, Buffer.alloc(32, 7));
  assert.deepEqual(parseConfig({ AIRMY_SECRET_KEY: '07'.repeat(32) }).secretKey, Buffer.alloc(32, 7));
});

test('a bad value stops start-up with one line naming the variable and what is allowed', () => {
  const cases: [Record<string, string>, RegExp][] = [
    [{ AIRMY_PORT: 'http' }, /^AIRMY_PORT: must be a whole number from 0 to 65535/],
    [{ AIRMY_PORT: '70000' }, /^AIRMY_PORT:/],
    [{ AIRMY_ENV: 'staging' }, /^AIRMY_ENV: must be one of development, production/],
    [{ AIRMY_DATABASE_URL: 'mysql://x' }, /^AIRMY_DATABASE_URL: must be postgres:\/\/…/],
    [{ AIRMY_TLS_CERT: 'c.pem' }, /^AIRMY_TLS_CERT \/ AIRMY_TLS_KEY: set both/],
    [{ AIRMY_TRUST_PROXY: '10.0.0.1,proxy.local' }, /^AIRMY_TRUST_PROXY:/],
    [{ AIRMY_LOG_LEVEL: 'loud' }, /^AIRMY_LOG_LEVEL: must be one of/],
    [{ AIRMY_DEMO: 'maybe' }, /^AIRMY_DEMO:/],
    [{ AIRMY_REDIS_URL: 'http://x' }, /^AIRMY_REDIS_URL:/],
    [{ AIRMY_LIMITER_FAILURE: 'sometimes' }, /^AIRMY_LIMITER_FAILURE: must be open, closed, or reads:/],
    [{ AIRMY_LIMITER_FAILURE: 'reads:open,posts:closed' }, /^AIRMY_LIMITER_FAILURE:/],
    [{ AIRMY_SECRET_KEY: 'c2hvcnQ=' }, /^AIRMY_SECRET_KEY: must be 32 bytes/],
    [{ AIRMY_EGRESS_ALLOW: 'http://x' }, /^AIRMY_EGRESS_ALLOW:/],
    [{ AIRMY_QUEUE_LOCAL_SIZE: '-1' }, /^AIRMY_QUEUE_LOCAL_SIZE: must be a whole number from 0 to 1000/],
    [{ AIRMY_DATABASE_POOL_SIZE: '0' }, /^AIRMY_DATABASE_POOL_SIZE: must be a whole number from 1 to 500/],
    [{ AIRMY_QUEUE_COMPLETE_BATCH_MS: 'soon' }, /^AIRMY_QUEUE_COMPLETE_BATCH_MS: must be a whole number/],
  ];
  for (const [env, message] of cases) {
    assert.throws(
      () => parseConfig(env),
      (e: unknown) => e instanceof ConfigError && message.test(e.message) && !e.message.includes('\n'),
      JSON.stringify(env),
    );
  }
});

test('OpenTelemetry: off without an endpoint; the standard OTEL_* variables when set', () => {
  assert.equal(parseConfig({}).otel, null);
  assert.equal(parseConfig({ OTEL_SERVICE_NAME: 'x' }).otel, null);
  assert.equal(
    parseConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318', OTEL_SDK_DISABLED: 'true' }).otel,
    null,
  );
  const on = parseConfig({
    OTEL_EXPORTER_OTLP_ENDPOINT: 'https://collector.example:4318/',
    OTEL_EXPORTER_OTLP_HEADERS: 'authorization=Bearer%20abc, x-team=ops',
    OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment=prod',
  }).otel;
  assert.equal(on?.tracesUrl, 'https://collector.example:4318/v1/traces');
  assert.deepEqual(on?.headers, { authorization: 'Bearer abc', 'x-team': 'ops' });
  assert.equal(on?.serviceName, 'airmy');
  assert.deepEqual(on?.resourceAttributes, { 'deployment.environment': 'prod' });
  const full = parseConfig({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://c:4318/custom/path' }).otel;
  assert.equal(full?.tracesUrl, 'http://c:4318/custom/path');
});

test('OpenTelemetry: a malformed OTEL_* value stops start-up naming the variable', () => {
  for (const [env, message] of [
    [
      { OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' },
      /^ConfigError: OTEL_EXPORTER_OTLP_ENDPOINT: must be an http/,
    ],
    [
      { OTEL_EXPORTER_OTLP_ENDPOINT: 'ftp://c' },
      /^ConfigError: OTEL_EXPORTER_OTLP_ENDPOINT: must be an http/,
    ],
    [
      { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c', OTEL_EXPORTER_OTLP_HEADERS: 'novalue' },
      /^ConfigError: OTEL_EXPORTER_OTLP_HEADERS: must be a comma-separated list of key=value/,
    ],
    [
      { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c', OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' },
      /^ConfigError: OTEL_EXPORTER_OTLP_PROTOCOL: only http\/json/,
    ],
    [
      { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c', OTEL_BSP_MAX_QUEUE_SIZE: '0' },
      /^ConfigError: OTEL_BSP_MAX_QUEUE_SIZE: must be a whole number/,
    ],
  ] as const) {
    assert.throws(() => parseConfig(env), message);
  }
});

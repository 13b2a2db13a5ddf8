import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { createTestApp, type TestApp } from '../support/harness.ts';

const run = promisify(execFile);

type Enumish = { const?: string; enum?: string[]; anyOf?: Enumish[] };
/** The values a schema allows, however the generator spelled them (const, enum, anyOf of those). */
const constants = (schema: Enumish): string[] =>
  schema.anyOf
    ? schema.anyOf.flatMap(constants)
    : (schema.enum ?? (schema.const === undefined ? [] : [schema.const]));

describe('OpenAPI 3.1 generated from the route schemas', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp({ name: 'sqlite' });
  });
  after(() => t.close());

  test('served without auth at /v2/openapi.json and lints clean with Redocly', async () => {
    const res = await t.app.inject({ url: '/v2/openapi.json' });
    assert.equal(res.statusCode, 200);
    const doc = res.json();
    assert.equal(doc.openapi, '3.1.0');
    for (const p of ['/v2/organization', '/v2/api-keys', '/v2/api-keys/{id}/rotate', '/v2/auth/token']) {
      assert.ok(doc.paths[p], `missing ${p}`);
    }
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'airmy-oas-')), 'openapi.json');
    writeFileSync(file, res.body);
    const bin = path.resolve(import.meta.dirname, '../../node_modules/.bin/redocly');
    const result = await run(bin, ['lint', file, '--format=json'], {
      env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' },
    }).catch((e: { stdout: string; stderr: string }) => e);
    const report = JSON.parse(result.stdout);
    const errors = report.problems.filter((p: { severity: string }) => p.severity === 'error');
    assert.deepEqual(
      errors.map(
        (e: { ruleId: string; message: string; location: { pointer: string }[] }) =>
          `${e.ruleId}: ${e.message} @ ${e.location[0]?.pointer}`,
      ),
      [],
    );
  });

  test('a generated client learns streams, typed pipeline bodies and the rules the server checks (issue 19, bug 10)', async () => {
    const doc = (await t.app.inject({ url: '/v2/openapi.json' })).json();
    const ok = (path: string, method: string) => doc.paths[path][method].responses['200'].content;
    // streaming answers are documented as text/event-stream
    assert.deepEqual(Object.keys(ok('/v2/runs', 'post')).sort(), ['application/json', 'text/event-stream']);
    assert.deepEqual(Object.keys(ok('/v2/runs/{id}/events', 'get')), ['text/event-stream']);
    assert.deepEqual(Object.keys(ok('/v2/pipelines/{id}/runs/{run_id}/events', 'get')), [
      'text/event-stream',
    ]);
    assert.deepEqual(Object.keys(ok('/v2/deployments/{id}/logs', 'get')).sort(), [
      'application/json',
      'text/event-stream',
    ]);
    const body = (path: string, method = 'post') =>
      doc.paths[path][method].requestBody.content['application/json'].schema;
    // pipeline definitions are typed down to the retry policy
    const pipeline = body('/v2/pipelines');
    assert.deepEqual(pipeline.required, ['name', 'steps']);
    const step = pipeline.properties.steps.items;
    assert.deepEqual(step.required, ['id', 'agent_id', 'input']);
    assert.equal(step.properties.retry.properties.max_attempts.maximum, 10);
    assert.deepEqual(constants(step.properties.on_failure), ['fail', 'continue']);
    assert.equal(body('/v2/pipelines/{id}', 'patch').properties.steps.type, 'array');
    // known scopes, model ids, per-kind connector fields
    const scopes = body('/v2/api-keys').properties.scopes.items.enum;
    assert.ok(scopes.includes('runs:write') && scopes.includes('keys:admin'));
    const tokenScopes = body('/v2/auth/token').properties.scopes.items.enum;
    assert.ok(tokenScopes.includes('runs:write') && !tokenScopes.includes('keys:admin'));
    const model = new RegExp(body('/v2/agents').properties.model.pattern);
    assert.ok(model.test('openai/gpt-4.1-mini') && model.test('mock/echo') && !model.test('gpt-4'));
    const connector = body('/v2/connectors');
    assert.equal(connector.discriminator.propertyName, 'kind');
    assert.deepEqual(constants(connector.properties.kind), ['http', 'mcp']);
    const [http, mcp] = connector.oneOf;
    assert.deepEqual(constants(http.properties.kind), ['http']);
    assert.ok(http.required.includes('description'));
    assert.deepEqual(constants(mcp.properties.kind), ['mcp']);
    assert.equal(mcp.properties.method, false, 'mcp connectors take no method');
    assert.doesNotMatch(JSON.stringify(doc), /x-documented-as/);
  });

  test('docs UI at /docs', async () => {
    const res = await t.app.inject({ url: '/docs/' });
    assert.equal(res.statusCode, 200);
    assert.match(res.body, /swagger/i);
  });
});

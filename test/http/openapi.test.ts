import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { createTestApp, type TestApp } from '../support/harness.ts';

const run = promisify(execFile);

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

  test('docs UI at /docs', async () => {
    const res = await t.app.inject({ url: '/docs/' });
    assert.equal(res.statusCode, 200);
    assert.match(res.body, /swagger/i);
  });
});

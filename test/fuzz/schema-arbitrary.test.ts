/**
 * The fuzz's generators against its oracle: for every request body and parameter schema of the
 * server's OpenAPI document, what `valid` draws Ajv accepts and what `invalid` draws Ajv refuses
 * (nearly always). A generator that drifted from the document would quietly turn the fuzz into a
 * test of one side only.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { createTestApp, type TestApp } from '../support/harness.ts';
import { type Contract, readContract } from './contract.ts';
import { practical } from './requests.ts';
import { invalid, valid } from './schema-arbitrary.ts';

describe('fuzz generators agree with Ajv on the server’s own document', () => {
  let t: TestApp;
  let contract: Contract;
  before(async () => {
    t = await createTestApp({ name: 'sqlite' });
    contract = readContract((await t.app.inject({ url: '/v2/openapi.json' })).json());
  });
  after(() => t.close());

  const share = (values: unknown[], ok: (v: unknown) => boolean) => values.filter(ok).length / values.length;

  test('request bodies: valid draws pass, invalid draws fail', () => {
    const problems: string[] = [];
    const withBody = contract.operations.filter((op) => op.body);
    assert.ok(withBody.length >= 15, `operations with a body: ${withBody.length}`);
    for (const op of withBody) {
      const opts = { resolve: contract.resolve, practical };
      const good = share(fc.sample(valid(op.body!, opts), { numRuns: 60, seed: 1 }), (v) =>
        contract.bodyValid(op, v),
      );
      const bad = share(
        fc.sample(invalid(op.body!, opts), { numRuns: 60, seed: 2 }),
        (v) => !contract.bodyValid(op, v),
      );
      if (good < 0.9)
        problems.push(`${op.method} ${op.path}: ${Math.round(good * 100)}% of valid draws pass`);
      // a mutation deep in a permissive part (a free-form template, a map's key) may stay valid
      if (bad < 0.8)
        problems.push(`${op.method} ${op.path}: ${Math.round(bad * 100)}% of invalid draws fail`);
    }
    assert.deepEqual(problems, []);
  });

  test('query parameters: invalid draws fail once they are put in a URL and coerced', () => {
    const problems: string[] = [];
    for (const op of contract.operations) {
      for (const p of op.params.filter((x) => x.in === 'query')) {
        const draws = fc.sample(invalid(p.schema, { resolve: contract.resolve }), { numRuns: 40, seed: 3 });
        const asUrl = draws.map((v) =>
          Array.isArray(v)
            ? v.map(String)
            : typeof v === 'object' && v !== null
              ? JSON.stringify(v)
              : String(v),
        );
        const bad = share(asUrl, (v) => !contract.queryValid(op, { [p.name]: v as string }));
        // a wrong JSON type can still be a fine string once in a URL ("1" for a string parameter)
        if (bad < 0.3)
          problems.push(
            `${op.method} ${op.path} ?${p.name}: ${Math.round(bad * 100)}% of invalid draws fail`,
          );
      }
    }
    assert.deepEqual(problems, []);
  });
});

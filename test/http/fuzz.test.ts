/**
 * Generated bad input against every route of the foundation: random JSON, wrong types, unknown
 * fields, huge and odd unicode strings, SQL metacharacters, bad headers. Every answer must be a
 * JSON error of a 4xx status, and nothing may be written.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import { bearer, createTestApp, forEachDb, type TestApp } from '../support/harness.ts';

const nasty = fc.oneof(
  fc.string(),
  fc.string({ unit: 'grapheme', maxLength: 50 }),
  fc.constantFrom(
    "'; DROP TABLE api_keys; --",
    '" OR 1=1 --',
    '%00',
    '../../etc/passwd',
    '\u0000',
    '𝕏'.repeat(300),
    'x'.repeat(70_000),
  ),
);

const badBody = fc.oneof(
  fc.jsonValue().filter((v) => typeof v !== 'object' || v === null || Array.isArray(v)),
  fc.dictionary(
    fc.string({ minLength: 1 }).filter((k) => k !== 'name' && k !== 'scopes' && k !== '__proto__'),
    fc.jsonValue(),
    { minKeys: 1 },
  ),
  fc.record({
    name: fc.oneof(
      fc.integer(),
      fc.boolean(),
      fc.constant(null),
      fc.array(fc.string()),
      fc.constant(''),
      fc.string({ minLength: 101 }),
    ),
  }),
  fc.record({ scopes: fc.oneof(fc.string(), fc.array(fc.oneof(fc.integer(), nasty), { minLength: 1 })) }),
);

const writeRoutes = ['/v2/api-keys', '/v2/auth/token'];

forEachDb('fuzz: bad input never gets a 5xx and never writes', (target) => {
  let t: TestApp;
  let key: string;
  let orgId: string;
  before(async () => {
    t = await createTestApp(target);
    ({ key, orgId } = await t.newOrg('enterprise'));
  });
  after(() => t.close());

  const snapshot = async () => {
    const db = t.resources.db.kysely;
    const count = async (
      table: 'api_keys' | 'session_tokens' | 'api_key_secrets' | 'organizations' | 'idempotency_keys',
    ) =>
      Number(
        (
          await db
            .selectFrom(table)
            .select((eb) => eb.fn.countAll().as('n'))
            .executeTakeFirstOrThrow()
        ).n,
      );
    return {
      keys: await count('api_keys'),
      tokens: await count('session_tokens'),
      secrets: await count('api_key_secrets'),
      orgs: await count('organizations'),
      idem: await count('idempotency_keys'),
    };
  };

  const assertJsonError = (res: { statusCode: number; body: string; headers: Record<string, unknown> }) => {
    assert.ok(
      res.statusCode >= 400 && res.statusCode < 500,
      `status ${res.statusCode}: ${res.body.slice(0, 200)}`,
    );
    assert.match(String(res.headers['content-type']), /application\/json/);
    const body = JSON.parse(res.body);
    assert.equal(typeof body.error.code, 'string');
  };

  test('bad bodies on write routes', async () => {
    const before = await snapshot();
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...writeRoutes),
        badBody,
        fc.option(nasty, { nil: undefined }),
        async (url, body, idem) => {
          const res = await t.app.inject({
            method: 'POST',
            url,
            headers: {
              ...bearer(key),
              'content-type': 'application/json',
              ...(idem ? { 'idempotency-key': idem.slice(0, 300) } : {}),
            },
            payload: JSON.stringify(body),
          });
          assertJsonError(res);
        },
      ),
      { numRuns: 150 },
    );
    assert.deepEqual(await snapshot(), before);
  });

  test('unknown and hostile ids, methods and query strings', async () => {
    const before = await snapshot();
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('GET', 'DELETE', 'POST', 'PATCH', 'PUT'),
        fc.constantFrom('/v2/api-keys/', '/v2/api-keys/:id/rotate', '/v2/organization/', '/v2/auth/token/'),
        nasty,
        fc.dictionary(fc.constantFrom('limit', 'starting_after', 'ending_before', 'x'), nasty),
        async (method, pattern, id, query) => {
          // '.' and '..' are path syntax, not ids: the URL normalises them away (to a valid list)
          const raw = encodeURIComponent(id.slice(0, 200));
          const seg = raw === '' || raw === '.' || raw === '..' ? 'x' : raw;
          const url = `${pattern.includes(':id') ? pattern.replace(':id', seg) : pattern + seg}?${new URLSearchParams(query)}`;
          const res = await t.app.inject({ method: method as 'GET', url, headers: bearer(key) });
          assertJsonError(res);
        },
      ),
      { numRuns: 150 },
    );
    assert.deepEqual(await snapshot(), before);
  });

  test('hostile Authorization and Content-Type headers', async () => {
    const before = await snapshot();
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.string(),
          nasty.map((s) => `Bearer ${s}`),
          fc.constant('Bearer'),
          fc.constant('bearer sk-airmy-demo-2026x'),
        ),
        fc.constantFrom(
          'application/json',
          'text/plain',
          'application/x-www-form-urlencoded',
          'multipart/form-data; boundary=x',
          'application/json; charset=latin1',
        ),
        fc.constantFrom(...writeRoutes, '/v2/organization', '/v2/api-keys'),
        async (authorization, contentType, url) => {
          const safe = authorization.replace(/[^\x20-\x7e]/g, '');
          const res = await t.app.inject({
            method: 'POST',
            url,
            headers: { authorization: safe, 'content-type': contentType },
            payload: '{"name":"x"}',
          });
          assertJsonError(res);
          assert.ok([400, 401, 405, 415].includes(res.statusCode), `status ${res.statusCode}`);
        },
      ),
      { numRuns: 150 },
    );
    assert.deepEqual(await snapshot(), before);
    assert.ok(orgId);
  });
});

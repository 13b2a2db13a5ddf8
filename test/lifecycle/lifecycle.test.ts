import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { V2Modules } from '../../src/http/routes.ts';
import { bearer, createTestApp, FakeClock, forEachDb, type TestApp } from '../support/harness.ts';

const CHANGELOG = readFileSync(path.resolve(import.meta.dirname, '../../CHANGELOG.md'), 'utf8');

forEachDb(
  'a deprecated v2 field: still accepted, with Deprecation, Sunset and Link; counted per key; 410 after its sunset',
  (target) => {
    let t: TestApp;
    let key: string;
    let keyId: string;
    const clock = new FakeClock(Date.parse('2026-12-06T12:00:00Z'));
    before(async () => {
      t = await createTestApp(target, { clock, env: { AIRMY_METRICS_TOKEN: 'scrape-token-0123456789' } });
      ({ key, keyId } = await t.newOrg('business'));
      for (const name of ['one', 'two', 'three']) {
        await t.newAgent(key, name);
        clock.advance(1000);
      }
    });
    after(() => t.close());
    const get = (url: string) => t.app.inject({ url: `/v2${url}`, headers: bearer(key) });

    test('from/to answer as created_after/created_before do, with the deprecation headers', async () => {
      const since = '2026-12-06T12:00:00.500Z';
      const old = await get(`/logs?from=${since}&action=agent.created`);
      assert.equal(old.statusCode, 200, old.body);
      assert.equal(old.headers.deprecation, `@${Date.parse('2026-12-06T00:00:00Z') / 1000}`);
      assert.equal(old.headers.sunset, 'Mon, 06 Dec 2027 00:00:00 GMT');
      assert.equal(
        old.headers.link,
        '</changelog#audit-logs-from-to>; rel="deprecation"; type="text/markdown"',
      );
      const fresh = await get(`/logs?created_after=${since}&action=agent.created`);
      assert.equal(fresh.statusCode, 200);
      assert.equal(fresh.headers.deprecation, undefined);
      assert.equal(fresh.headers.sunset, undefined);
      assert.deepEqual(
        old.json().data.map((e: { id: string }) => e.id),
        fresh.json().data.map((e: { id: string }) => e.id),
      );
      assert.equal(fresh.json().data.length, 2);
      const mixed = await get(`/logs?from=${since}&created_before=2026-12-07T00:00:00Z`);
      assert.equal(mixed.statusCode, 422);
      assert.equal(mixed.json().error.code, 'parameter_conflict');
      // the Link resolves: the changelog is served and has the entry
      const log = await t.app.inject({ url: '/changelog' });
      assert.equal(log.statusCode, 200);
      assert.match(log.body, /### audit-logs-from-to/);
    });

    test('calls to deprecated surface are counted per key, in /v2/metrics and Prometheus', async () => {
      const { key: otherKey } = await t.newOrg('business');
      await t.app.inject({ url: '/v2/logs?to=2027-01-01T00:00:00Z', headers: bearer(otherKey) });
      await get('/logs?to=2027-01-01T00:00:00Z');
      const m = await get(
        `/metrics?metric=deprecated_calls&group_by=api_key_id&from=2026-12-06T00:00:00Z&to=2026-12-07T00:00:00Z&interval=1d`,
      );
      assert.equal(m.statusCode, 200, m.body);
      const series = m.json().series;
      assert.equal(series.length, 1, 'only this organization’s key');
      assert.deepEqual(series[0].group, { api_key_id: keyId });
      assert.equal(series[0].points[0].value, 2);
      const bySurface = await get(
        `/metrics?metric=deprecated_calls&status=audit-logs-from-to&from=2026-12-06T00:00:00Z&to=2026-12-07T00:00:00Z&interval=1d`,
      );
      assert.equal(bySurface.json().series[0].points[0].value, 2);
      const scrape = await t.app.inject({
        url: '/internal/metrics',
        headers: bearer('scrape-token-0123456789'),
      });
      assert.match(
        scrape.body,
        new RegExp(`airmy_deprecated_calls_total\\{surface="audit-logs-from-to",api_key_id="${keyId}"\\} 2`),
      );
    });

    test('after the sunset the deprecated field answers 410 naming it; its replacement still works', async () => {
      clock.t = Date.parse('2027-12-06T00:00:00Z');
      const gone = await get('/logs?from=2026-12-01T00:00:00Z');
      assert.equal(gone.statusCode, 410);
      assert.equal(gone.json().error.code, 'api_surface_sunset');
      assert.equal(gone.json().error.param, 'from');
      assert.equal((await get('/logs?created_after=2026-12-01T00:00:00Z')).statusCode, 200);
    });
  },
);

describe('the next major: versions side by side, a compatibility layer, the old one deprecated then gone', () => {
  let t: TestApp;
  let key: string;
  const clock = new FakeClock(Date.parse('2027-01-15T12:00:00Z'));
  const v2Deprecation = {
    id: 'v2',
    kind: 'version' as const,
    surface: 'API v2',
    replacement: '/v3',
    deprecatedAt: '2027-01-01T00:00:00Z',
    sunsetAt: '2028-01-01T00:00:00Z',
  };
  before(async () => {
    t = await createTestApp(
      { name: 'sqlite' },
      {
        clock,
        versions: [
          {
            prefix: '/v3',
            modules: V2Modules,
            // v3 renames the organization's `name` to `display_name`: the layer translates v2's answers
            compat: (scope: FastifyInstance) => {
              scope.addHook('onSend', async (request, _reply, payload) => {
                if (!request.url.startsWith('/v3/organization') || typeof payload !== 'string')
                  return payload;
                const { name, ...rest } = JSON.parse(payload);
                return JSON.stringify({ ...rest, display_name: name });
              });
            },
          },
          { prefix: '/v2', modules: V2Modules, deprecation: v2Deprecation },
        ],
      },
    );
    key = (await t.newOrg('business')).key;
  });
  after(() => t.close());

  test('the deprecated major answers as before, with the headers; the new one through its layer', async () => {
    const v2 = await t.app.inject({ url: '/v2/organization', headers: bearer(key) });
    assert.equal(v2.statusCode, 200);
    assert.equal(v2.json().name, 'test business');
    assert.equal(v2.headers.deprecation, `@${Date.parse('2027-01-01T00:00:00Z') / 1000}`);
    assert.equal(v2.headers.sunset, 'Sat, 01 Jan 2028 00:00:00 GMT');
    assert.match(String(v2.headers.link), /rel="deprecation"/);
    const v3 = await t.app.inject({ url: '/v3/organization', headers: bearer(key) });
    assert.equal(v3.statusCode, 200);
    assert.equal(v3.json().display_name, 'test business');
    assert.equal(v3.json().name, undefined);
    assert.equal(v3.headers.deprecation, undefined);
  });

  test('after its sunset every route of the old major is 410; the new one goes on', async () => {
    clock.t = Date.parse('2028-01-01T00:00:00Z');
    const gone = await t.app.inject({ url: '/v2/agents', headers: bearer(key) });
    assert.equal(gone.statusCode, 410);
    assert.equal(gone.json().error.code, 'api_version_sunset');
    assert.equal((await t.app.inject({ url: '/v3/agents', headers: bearer(key) })).statusCode, 200);
  });
});

test('CHANGELOG.md lists exactly the routes the server serves, and which of them stream', async () => {
  const t = await createTestApp({ name: 'sqlite' });
  try {
    const doc = (await t.app.inject({ url: '/v2/openapi.json' })).json();
    const served = new Map<string, boolean>();
    for (const [p, ops] of Object.entries<Record<string, any>>(doc.paths)) {
      for (const [method, op] of Object.entries<any>(ops)) {
        const streams = Object.values<any>(op.responses ?? {}).some((r) => r?.content?.['text/event-stream']);
        served.set(`${method.toUpperCase()} ${p}`, streams);
      }
    }
    const listed = new Map<string, boolean>();
    for (const m of CHANGELOG.matchAll(
      /^\| (GET|POST|PATCH|PUT|DELETE) \| `([^`]+)` \| ([^|]+) \| ([^|]+) \|$/gm,
    )) {
      listed.set(`${m[1]} ${m[2]}`, m[3].trim() !== '—');
    }
    assert.deepEqual(
      [...listed.keys()].sort(),
      [...served.keys()].sort(),
      'CHANGELOG.md route table vs served',
    );
    for (const [route, streams] of served)
      assert.equal(listed.get(route), streams, `${route}: streams ${streams} in the OpenAPI document`);
    for (const id of ['audit-logs-from-to']) assert.match(CHANGELOG, new RegExp(`^### ${id}$`, 'm'));
  } finally {
    await t.close();
  }
});

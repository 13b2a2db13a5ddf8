/**
 * Cross-tenant sweep, generated from the app's own route table (Fastify's onRoute hook, through the
 * harness): org A owns one object of every kind; org B's key calls every authenticated route with
 * A's ids — in the path (reads, updates, deletes, actions, SSE followers), in list filters and
 * cursors, and in request bodies — and must get exactly what it gets for an id that exists nowhere:
 * a 404 (never a 403, never A's data), or an empty list. A route with a path parameter the sweep
 * cannot place, or an id field it has no kind for, fails the sweep by name: a new route is covered
 * the day it is added, or the suite says why not.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { isDeepStrictEqual } from 'node:util';
import type { RouteOptions } from 'fastify';
import { bearer, createTestApp, forEachDb, type TestApp } from '../support/harness.ts';
import { type Sent, send } from '../support/send.ts';
import {
  absentLike,
  CHILD_OF_PIPELINE,
  createBodies,
  createFixtures,
  type Fixtures,
  ID_FIELDS,
  type Kind,
  kindOfParam,
  objectUrl,
} from '../support/tenant-fixtures.ts';

interface Route {
  method: string;
  url: string;
  params: string[];
  schema: RouteOptions['schema'];
}

/** Authenticated routes, one entry per method, HEAD left out (it is GET without a body). */
function tenantRoutes(t: TestApp): Route[] {
  const out: Route[] = [];
  for (const r of t.routes) {
    if (r.config && (r.config as { public?: boolean }).public) continue;
    if (r.url === '*' || r.url.endsWith('/*')) continue;
    for (const method of [r.method].flat()) {
      if (method === 'HEAD') continue;
      out.push({
        method,
        url: r.url,
        params: [...r.url.matchAll(/:([A-Za-z_]+)/g)].map((m) => m[1]),
        schema: r.schema,
      });
    }
  }
  return out;
}

const fill = (url: string, values: Record<string, string>) =>
  url.replace(/:([A-Za-z_]+)/g, (_, p: string) => encodeURIComponent(values[p]));

/** Id-carrying fields of a body schema, as paths (`['filters', 'agent_id']`, `['steps', 0, 'agent_id']`). */
function idFieldPaths(schema: any, at: (string | number)[] = []): (string | number)[][] {
  if (!schema || typeof schema !== 'object') return [];
  const out: (string | number)[][] = [];
  for (const [name, sub] of Object.entries<any>(schema.properties ?? {})) {
    if (name.endsWith('_id')) out.push([...at, name]);
    else out.push(...idFieldPaths(sub, [...at, name]));
  }
  if (schema.items) out.push(...idFieldPaths(schema.items, [...at, 0]));
  for (const branch of schema.anyOf ?? []) out.push(...idFieldPaths(branch, at));
  return out;
}

/**
 * Fields that name another object without `_id` in their name, or sit in a part of a body the
 * schema leaves untyped: an agent's guardrail policy, a pipeline step's agent.
 */
const EXTRA_ID_FIELDS: Record<string, { path: (string | number)[]; kind: Kind }[]> = {
  'POST /v2/agents': [{ path: ['guardrails'], kind: 'policy' }],
  'PATCH /v2/agents/:id': [{ path: ['guardrails'], kind: 'policy' }],
  'POST /v2/pipelines': [{ path: ['steps', 0, 'agent_id'], kind: 'agent' }],
  'PATCH /v2/pipelines/:id': [{ path: ['steps', 0, 'agent_id'], kind: 'agent' }],
};

const setPath = (body: any, path: (string | number)[], value: string) => {
  const copy = structuredClone(body);
  let node = copy;
  for (const part of path.slice(0, -1)) {
    node[part] ??= typeof part === 'number' ? [] : {};
    node = node[part];
  }
  node[path.at(-1)!] = value;
  return copy;
};

/** What a caller can tell two answers apart by: status, error code, and for a list the items. */
function observable(status: number, text: string, swap: [string, string]) {
  let body: any;
  try {
    body = JSON.parse(text.replaceAll(swap[0], swap[1]));
  } catch {
    return { status, text: text.slice(0, 200) };
  }
  if (body?.error) return { status, code: body.error.code, param: body.error.param };
  if (body?.object === 'list') return { status, ids: body.data.map((x: { id?: string }) => x.id) };
  return { status, kind: body?.object };
}

forEachDb('cross-tenant sweep over the route table', (target) => {
  let t: TestApp;
  let a: Fixtures;
  let b: Fixtures;
  let keyA: string;
  let keyB: string;
  let aIds: string[];
  const seenA: Record<string, string> = {};

  before(async () => {
    t = await createTestApp(target, { env: { AIRMY_EGRESS_ALLOW: '127.0.0.1:9' } });
    ({ key: keyA } = await t.newOrg('enterprise'));
    ({ key: keyB } = await t.newOrg('enterprise'));
    a = await createFixtures(t, keyA, 'tenantA');
    b = await createFixtures(t, keyB, 'tenantB');
    aIds = Object.values(a).map((f) => f.id);
    for (const f of Object.values(a)) seenA[f.id] = await readA(f.kind, f.id, f.parent, f.cookie);
  });
  after(() => t.close());

  async function readA(kind: Kind, id: string, parent?: string, cookie?: string) {
    // a web session is its user's to see (a key has none): it must still be alive, listed
    if (kind === 'userSession') {
      const res = await t.app.inject({
        url: '/v2/auth/sessions',
        headers: { cookie: `__Host-airmy_session=${cookie}` },
      });
      assert.equal(res.statusCode, 200, `A's user reads its sessions: ${res.body}`);
      return String(res.json().data.some((s: { id: string }) => s.id === id));
    }
    const res = await t.app.inject({
      method: 'GET',
      url: objectUrl({ kind, id, parent }),
      headers: bearer(keyA),
    });
    assert.equal(res.statusCode, 200, `A reads its own ${kind}: ${res.body}`);
    return res.body;
  }

  /** B's answer must not carry A's objects: none of A's ids beyond those B itself sent, no A marker. */
  const leakIn = (text: string, sent: string[]) => {
    let rest = text;
    for (const id of sent) rest = rest.replaceAll(id, '');
    const id = aIds.find((x) => rest.includes(x));
    if (id) return `answer carries A's ${id}: ${text.slice(0, 200)}`;
    if (rest.includes('tenantA')) return `answer carries A's data: ${text.slice(0, 200)}`;
    return undefined;
  };

  /** What is wrong with B's answer `got` about A's id, against `ref` for an id that exists nowhere. */
  const verdict = (got: Sent, ref: Sent, swap: [string, string], sent: string[]) => {
    if (got.sse) return "B was served an event stream of A's object";
    if (got.status === 403) return '403 tells B the object exists';
    if (got.status >= 500) return `${got.status} ${got.text.slice(0, 200)}`;
    const seen = observable(got.status, got.text, [swap[0], 'ID']);
    const expected = observable(ref.status, ref.text, [swap[1], 'ID']);
    if (!isDeepStrictEqual(seen, expected))
      return `tells A's id from an absent one: ${JSON.stringify(seen)} vs ${JSON.stringify(expected)}`;
    return leakIn(got.text, sent);
  };

  /** A body the route accepts from B for B's own objects (so a refusal is about the id alone). */
  const bodyFor = (route: Route): unknown => {
    const own = createBodies('tenantB', { agent: b.agent.id });
    const byRoute: Record<string, unknown> = {
      'POST /v2/agents': own.agent,
      'PATCH /v2/agents/:id': { description: 'patched by B' },
      'POST /v2/deployments': own.deployment,
      'POST /v2/runs': { ...own.run, background: true },
      'POST /v2/pipelines': { ...own.pipeline, name: 'B pipeline 2' },
      'PATCH /v2/pipelines/:id': { steps: own.pipeline.steps },
      'POST /v2/pipelines/:id/trigger': own.pipelineRun,
      'POST /v2/pipelines/:id/schedules': own.schedule,
      'PATCH /v2/pipelines/:id/schedules/:schedule_id': { metadata: { by: 'B' } },
      'POST /v2/alerts': { ...own.alert, name: 'B alert 2' },
      'PATCH /v2/alerts/:id': { filters: { agent_id: b.agent.id } },
      'POST /v2/connectors': { ...own.connector, name: 'b_conn_2' },
      'PATCH /v2/connectors/:id': { description: 'patched by B' },
      'POST /v2/guardrails/policies': { ...own.policy, name: 'b-policy-2' },
      'PATCH /v2/guardrails/policies/:id': { description: 'patched by B' },
      'POST /v2/api-keys': own.apiKey,
      'PATCH /v2/members/:id': { role: 'viewer' },
      'POST /v2/invitations': createBodies('tenantB').invitation,
    };
    const key = `${route.method} ${route.url}`;
    if (key in byRoute) return byRoute[key];
    return route.schema?.body ? {} : undefined;
  };

  test('every path parameter of every route has a fixture', () => {
    const missing = tenantRoutes(t).flatMap((r) =>
      r.params.filter((p) => !kindOfParam(r.url, p)).map((p) => `${r.method} ${r.url} (:${p})`),
    );
    assert.deepEqual(
      missing,
      [],
      'routes whose path parameters the sweep cannot fill: add them to tenant-fixtures.ts',
    );
    assert.ok(tenantRoutes(t).filter((r) => r.params.length).length >= 25, 'the route table was read');
  });

  // First, while B's own audit log holds only B's doings: the probes below are logged in it, A's ids too.
  test("B's lists never show A's objects, and A's ids as filters or cursors read like absent ones", async () => {
    const problems: string[] = [];
    let probes = 0;
    for (const route of tenantRoutes(t)) {
      if (route.method !== 'GET' || route.params.length) continue;
      const plain = await send(t, { method: 'GET', url: route.url, headers: bearer(keyB) });
      if (plain.status >= 300 && route.url !== '/v2/metrics')
        problems.push(`GET ${route.url}: ${plain.status} ${plain.text.slice(0, 200)}`);
      const leak = leakIn(plain.text, []);
      if (leak) problems.push(`GET ${route.url}: ${leak}`);
      const query = (route.schema?.querystring as any)?.properties ?? {};
      const listKind = kindOfParam(`${route.url}/:id`, 'id');
      const fields: [string, Kind | 'any' | undefined][] = [
        ...Object.keys(query)
          .filter((name) => name.endsWith('_id'))
          .map((name) => [name, ID_FIELDS[name]] as [string, Kind | 'any' | undefined]),
        ...(listKind
          ? ['starting_after', 'ending_before']
              .filter((n) => n in query)
              .map((n) => [n, listKind] as [string, Kind])
          : []),
      ];
      const required = (route.schema?.querystring as any)?.required ?? [];
      const base = required.includes('metric') ? 'metric=runs&' : '';
      for (const [name, kind] of fields) {
        if (!kind) {
          problems.push(
            `GET ${route.url} ?${name}: no kind for this id parameter in ID_FIELDS (tenant-fixtures.ts)`,
          );
          continue;
        }
        const k: Kind = kind === 'any' ? 'agent' : kind;
        const id = a[k].id;
        const got = await send(t, {
          method: 'GET',
          url: `${route.url}?${base}${name}=${id}`,
          headers: bearer(keyB),
        });
        const ref = await send(t, {
          method: 'GET',
          url: `${route.url}?${base}${name}=${absentLike(id)}`,
          headers: bearer(keyB),
        });
        probes++;
        const problem = verdict(got, ref, [id, absentLike(id)], [id]);
        if (problem) problems.push(`GET ${route.url}?${name}=<A's ${k}>: ${problem}`);
      }
    }
    assert.deepEqual(problems, []);
    assert.ok(probes >= 10, `probes: ${probes}`);
  });

  test("B's key with A's ids in the path: 404 like an absent id, never 403, never A's data", async () => {
    const problems: string[] = [];
    let probes = 0;
    for (const route of tenantRoutes(t)) {
      if (!route.params.length) continue;
      const kinds = route.params.map((p) => kindOfParam(route.url, p)!);
      // a nested object's route takes its own parent: A's pipeline run under A's pipeline
      const child = kinds.find((k) => CHILD_OF_PIPELINE.includes(k));
      const pick = (f: Fixtures, i: number) =>
        kinds[i] === 'pipeline' && child ? f[child].parent! : f[kinds[i]].id;
      // every parameter A's, then each one alone A's with B's own ids in the others
      const combos = [route.params.map(() => true)];
      if (route.params.length > 1)
        combos.push(...route.params.map((_, i) => route.params.map((_, j) => j === i)));
      for (const foreign of combos) {
        const values = Object.fromEntries(route.params.map((p, i) => [p, pick(foreign[i] ? a : b, i)]));
        const absent = Object.fromEntries(
          route.params.map((p, i) => [p, foreign[i] ? absentLike(values[p]) : values[p]]),
        );
        const payload = bodyFor(route);
        const where = `${route.method} ${route.url} with ${route.params.filter((_, i) => foreign[i]).join(', ')} of A`;
        const headers = bearer(keyB);
        const got = await send(t, {
          method: route.method,
          url: fill(route.url, values),
          headers,
          payload,
          maxBytes: 1,
        });
        const ref = await send(t, {
          method: route.method,
          url: fill(route.url, absent),
          headers,
          payload,
          maxBytes: 1,
        });
        probes++;
        const swapA = values[route.params[foreign.indexOf(true)]];
        const problem = verdict(got, ref, [swapA, absentLike(swapA)], Object.values(values));
        if (problem) problems.push(`${where}: ${problem}`);
        else if (got.status !== 404)
          problems.push(`${where}: ${got.status}, not 404: ${got.text.slice(0, 200)}`);
      }
    }
    assert.deepEqual(problems, []);
    assert.ok(probes >= 30, `probes: ${probes}`);
  });

  test("A's ids inside B's request bodies are refused like absent ones", async () => {
    const problems: string[] = [];
    let probes = 0;
    for (const route of tenantRoutes(t)) {
      const key = `${route.method} ${route.url}`;
      const fields = [
        ...idFieldPaths(route.schema?.body).map((path) => ({ path, kind: ID_FIELDS[String(path.at(-1))] })),
        ...(EXTRA_ID_FIELDS[key] ?? []),
      ].filter((f, i, all) => all.findIndex((g) => g.path.join('.') === f.path.join('.')) === i);
      if (!fields.length) continue;
      const body = bodyFor(route);
      const own = Object.fromEntries(route.params.map((p) => [p, b[kindOfParam(route.url, p)!].id]));
      const url = fill(route.url, own);
      for (const { path, kind } of fields) {
        if (!kind || kind === 'any' || body === undefined) {
          problems.push(
            `${key} ${path.join('.')}: no kind or no base body for this id field (extend the sweep)`,
          );
          continue;
        }
        const where = `${key} with ${path.join('.')} = A's ${kind}`;
        const headers = bearer(keyB);
        // the same body with B's own id is accepted: the refusal below is about the id alone
        const mine = await send(t, {
          method: route.method,
          url,
          headers,
          payload: setPath(body, path, b[kind].id),
        });
        if (mine.status >= 300) {
          problems.push(
            `${where}: B's own ${kind} is refused too (${mine.status} ${mine.text.slice(0, 200)})`,
          );
          continue;
        }
        const id = a[kind].id;
        const got = await send(t, { method: route.method, url, headers, payload: setPath(body, path, id) });
        const ref = await send(t, {
          method: route.method,
          url,
          headers,
          payload: setPath(body, path, absentLike(id)),
        });
        probes++;
        const problem = verdict(got, ref, [id, absentLike(id)], [id]);
        if (problem) problems.push(`${where}: ${problem}`);
        else if (got.status < 400)
          problems.push(`${where}: accepted (${got.status}); a foreign id must be refused`);
      }
    }
    assert.deepEqual(problems, []);
    assert.ok(probes >= 8, `probes: ${probes}`);
  });

  test("after the sweep, A's objects are as they were", async () => {
    for (const f of Object.values(a)) {
      assert.equal(await readA(f.kind, f.id, f.parent, f.cookie), seenA[f.id], `A's ${f.kind} changed`);
    }
  });
});

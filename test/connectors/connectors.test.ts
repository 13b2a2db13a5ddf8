import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { createSecretBox, loadSecretKey } from '../../src/infra/crypto/secret-box.ts';
import { DEMO_ORG_ID } from '../../src/resources.ts';
import { bearer, createTestApp, DEMO_KEY, forEachDb, type TestApp } from '../support/harness.ts';

const SECRET = 'tok-Zq9-very-secret-value';
const signal = new AbortController().signal;

forEachDb('connectors: CRUD, validation, secrets, demo restriction, tools', (target) => {
  let t: TestApp;
  let key: string;
  let orgId: string;
  let upstream: http.Server;
  let port: number;
  const seen: { url: string; method: string; authorization?: string; body: string }[] = [];

  before(async () => {
    upstream = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c) => {
        body += c;
      });
      req.on('end', () => {
        seen.push({ url: req.url!, method: req.method!, authorization: req.headers.authorization, body });
        if (req.url?.startsWith('/fail')) {
          res.writeHead(503, { 'content-type': 'text/plain' });
          res.end('down for maintenance');
          return;
        }
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ ok: true, path: req.url }));
      });
    });
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    port = (upstream.address() as AddressInfo).port;
    t = await createTestApp(target, { env: { AIRMY_EGRESS_ALLOW: `127.0.0.1:${port}` } });
    ({ key, orgId } = await t.newOrg('business'));
  });
  after(async () => {
    await t.close();
    upstream.close();
  });

  const inject = (method: string, url: string, payload?: object, secret = key) =>
    t.app.inject({ method: method as 'GET', url, headers: bearer(secret), ...(payload && { payload }) });

  const weather = (extra: object = {}) => ({
    name: 'weather',
    kind: 'http',
    description: 'Current weather for a city',
    url: `http://127.0.0.1:${port}/weather/{{city}}?units=metric`,
    headers: { Authorization: 'Bearer {{secrets.API_TOKEN}}' },
    secrets: { API_TOKEN: SECRET },
    ...extra,
  });

  test('create, read, list, update and delete an http connector; secrets are never returned', async () => {
    const created = await inject('POST', '/v2/connectors', weather({ metadata: { team: 'ops' } }));
    assert.equal(created.statusCode, 201, created.body);
    const c = created.json();
    assert.match(c.id, /^conn_[0-9A-Z]{26}$/);
    assert.equal(c.object, 'connector');
    assert.equal(c.kind, 'http');
    assert.equal(c.public, false);
    assert.equal(c.method, 'GET');
    assert.deepEqual(c.secrets, ['API_TOKEN']);
    assert.deepEqual(c.headers, { Authorization: 'Bearer {{secrets.API_TOKEN}}' });
    assert.deepEqual(c.input_schema, {
      type: 'object',
      properties: { city: { type: 'string' } },
      required: ['city'],
      additionalProperties: false,
    });
    assert.ok(!created.body.includes(SECRET));

    const got = await inject('GET', `/v2/connectors/${c.id}`);
    assert.equal(got.statusCode, 200);
    assert.deepEqual(got.json(), c);
    assert.ok(!got.body.includes(SECRET));

    const listed = (await inject('GET', '/v2/connectors')).json();
    assert.deepEqual(
      listed.data.map((x: any) => x.id),
      [c.id, 'http_fetch', 'calculator', 'current_time'],
    );
    assert.ok(listed.data.slice(1).every((x: any) => x.kind === 'builtin' && x.public === true));

    const patched = await inject('PATCH', `/v2/connectors/${c.id}`, {
      name: 'weather2',
      secrets: { API_TOKEN: 'rotated-secret', EXTRA: 'x-extra-secret' },
    });
    assert.equal(patched.statusCode, 200, patched.body);
    assert.equal(patched.json().name, 'weather2');
    assert.deepEqual(patched.json().secrets, ['API_TOKEN', 'EXTRA']);
    assert.ok(!patched.body.includes('rotated-secret'));
    const removedSecret = await inject('PATCH', `/v2/connectors/${c.id}`, { secrets: { EXTRA: null } });
    assert.deepEqual(removedSecret.json().secrets, ['API_TOKEN']);

    const deleted = await inject('DELETE', `/v2/connectors/${c.id}`);
    assert.deepEqual(deleted.json(), { id: c.id, object: 'connector', deleted: true });
    assert.equal((await inject('GET', `/v2/connectors/${c.id}`)).statusCode, 404);
    assert.equal((await inject('DELETE', `/v2/connectors/${c.id}`)).statusCode, 404);
    assert.ok(!t.logs.join('\n').includes(SECRET) && !t.logs.join('\n').includes('rotated-secret'));
  });

  test('secrets are stored encrypted (AES-256-GCM, bound to their connector), not in clear', async () => {
    const c = (await inject('POST', '/v2/connectors', weather({ name: 'enc' }))).json();
    const row = await t.resources.db.kysely
      .selectFrom('connectors')
      .selectAll()
      .where('id', '=', c.id)
      .executeTakeFirstOrThrow();
    assert.ok(!JSON.stringify(row).includes(SECRET));
    const sealed = JSON.parse(row.secrets).API_TOKEN as string;
    assert.match(sealed, /^v1\./);
    const box = createSecretBox(loadSecretKey(t.config));
    assert.equal(box.open(sealed, `connector:${orgId}:${c.id}:API_TOKEN`), SECRET);
    assert.throws(() => box.open(sealed, `connector:${orgId}:conn_other:API_TOKEN`));
    // a fresh IV each time: the same value seals differently
    assert.notEqual(box.seal(SECRET, 'a'), box.seal(SECRET, 'a'));
    await inject('DELETE', `/v2/connectors/${c.id}`);
  });

  test('the list pages through your connectors, then the built-ins, both ways', async () => {
    const { key: own } = await t.newOrg('business');
    const ids: string[] = [];
    for (const name of ['one', 'two', 'three']) {
      ids.unshift((await inject('POST', '/v2/connectors', weather({ name }), own)).json().id);
    }
    const all = [...ids, 'http_fetch', 'calculator', 'current_time'];
    const page = async (query: string, secret = own) => {
      const res = await inject('GET', `/v2/connectors?${query}`, undefined, secret);
      assert.equal(res.statusCode, 200, res.body);
      const body = res.json();
      return { ids: body.data.map((x: any) => x.id) as string[], has_more: body.has_more as boolean };
    };
    const forward: string[] = [];
    let cursor = '';
    for (;;) {
      const p = await page(`limit=2${cursor}`);
      forward.push(...p.ids);
      if (!p.has_more) break;
      cursor = `&starting_after=${p.ids.at(-1)}`;
    }
    assert.deepEqual(forward, all);
    assert.deepEqual(await page('limit=2&ending_before=calculator'), {
      ids: [ids[2]!, 'http_fetch'],
      has_more: true,
    });
    assert.deepEqual(await page(`limit=5&ending_before=${ids[2]}`), {
      ids: [ids[0]!, ids[1]!],
      has_more: false,
    });
    assert.deepEqual(await page('limit=2', DEMO_KEY), { ids: ['http_fetch', 'calculator'], has_more: true });
    assert.deepEqual(await page('limit=2&starting_after=calculator', DEMO_KEY), {
      ids: ['current_time'],
      has_more: false,
    });
  });

  test('without AIRMY_SECRET_KEY the key is generated once into the data dir, mode 0600, and reused', async () => {
    const file = path.join(t.config.dataDir, 'secret.key');
    assert.equal(statSync(file).mode & 0o777, 0o600);
    const key = loadSecretKey(t.config);
    assert.equal(key.length, 32);
    assert.deepEqual(loadSecretKey(t.config), key);
    const configured = Buffer.alloc(32, 1);
    assert.deepEqual(loadSecretKey({ secretKey: configured, dataDir: t.config.dataDir }), configured);
  });

  test('invalid connectors are refused with the parameter named, and nothing is created', async () => {
    const before = (await inject('GET', '/v2/connectors?limit=100')).json().data.length;
    const mcp = { name: 'mcp1', kind: 'mcp', url: 'https://mcp.example.com/mcp' };
    const cases: [object, number, string, string?][] = [
      [weather({ surprise: 1 }), 400, 'parameter_unknown'],
      [weather({ name: 'has space' }), 400, 'parameter_invalid', 'name'],
      [weather({ kind: 'ftp' }), 400, 'parameter_invalid', 'kind'],
      [weather({ name: 'calculator' }), 422, 'name_reserved', 'name'],
      [weather({ description: undefined }), 422, 'parameter_missing', 'description'],
      [weather({ url: 'ftp://example.com/{{city}}' }), 422, 'invalid_url', 'url'],
      [weather({ url: 'not a url' }), 422, 'invalid_url', 'url'],
      [weather({ url: 'https://u:p@example.com/{{city}}' }), 422, 'invalid_url', 'url'],
      [weather({ url: 'https://{{city}}.example.com/' }), 422, 'invalid_url', 'url'],
      [
        weather({
          url: 'https://example.com/{{city}}/{{day}}',
          input_schema: { type: 'object', properties: { city: { type: 'string' } } },
        }),
        422,
        'invalid_template',
        'url',
      ],
      [weather({ url: 'https://example.com/{{city.name}}' }), 422, 'invalid_template', 'url'],
      [weather({ url: 'https://example.com/{{secrets.NOPE}}' }), 422, 'unknown_secret', 'url'],
      [weather({ headers: { 'X-Key': '{{secrets.NOPE}}' } }), 422, 'unknown_secret', 'headers.X-Key'],
      [weather({ headers: { 'X-City': '{{city}}' } }), 422, 'invalid_template', 'headers.X-City'],
      [weather({ headers: { Host: 'evil.example' } }), 422, 'invalid_header', 'headers.Host'],
      [weather({ headers: { 'Bad Name': 'x' } }), 422, 'invalid_header', 'headers.Bad Name'],
      [weather({ secrets: { '1BAD': 'x' } }), 422, 'invalid_secret_name', 'secrets.1BAD'],
      [weather({ input_schema: { type: 'string' } }), 422, 'invalid_input_schema', 'input_schema.type'],
      [
        weather({ input_schema: { type: 'object', properties: { city: { type: 'nope' } } } }),
        422,
        'invalid_input_schema',
      ],
      [weather({ input_schema: { type: 'object', properties: {} } }), 422, 'invalid_template', 'url'],
      [{ ...mcp, method: 'GET' }, 422, 'invalid_for_kind', 'method'],
      [{ ...mcp, input_schema: { type: 'object' } }, 422, 'invalid_for_kind', 'input_schema'],
      [{ ...mcp, url: 'https://mcp.example.com/{{x}}' }, 422, 'invalid_url', 'url'],
      [{ ...mcp, url: 'javascript:alert(1)' }, 422, 'invalid_url', 'url'],
    ];
    for (const [body, status, code, param] of cases) {
      const res = await inject('POST', '/v2/connectors', body);
      assert.equal(res.statusCode, status, `${JSON.stringify(body)} → ${res.body}`);
      const err = res.json().error;
      assert.equal(err.code, code, res.body);
      if (param) assert.equal(err.param, param, res.body);
    }
    const taken = await inject('POST', '/v2/connectors', weather({ name: 'dup' }));
    assert.equal(taken.statusCode, 201);
    const again = await inject('POST', '/v2/connectors', weather({ name: 'dup' }));
    assert.equal(again.statusCode, 422);
    assert.equal(again.json().error.code, 'name_taken');
    assert.equal((await inject('GET', '/v2/connectors?limit=100')).json().data.length, before + 1);

    const id = taken.json().id;
    const badPatch = await inject('PATCH', `/v2/connectors/${id}`, { secrets: { API_TOKEN: null } });
    assert.equal(badPatch.statusCode, 422, 'removing a secret the headers use');
    assert.equal(badPatch.json().error.code, 'unknown_secret');
    assert.equal((await inject('PATCH', `/v2/connectors/${id}`, { kind: 'mcp' })).statusCode, 400);
    assert.equal((await inject('PATCH', `/v2/connectors/${id}`, {})).statusCode, 400);
    assert.deepEqual((await inject('GET', `/v2/connectors/${id}`)).json().secrets, ['API_TOKEN']);
    const builtinPatch = await inject('PATCH', '/v2/connectors/calculator', { description: 'x' });
    assert.equal(builtinPatch.statusCode, 403);
    assert.equal((await inject('DELETE', '/v2/connectors/calculator')).statusCode, 403);
    await inject('DELETE', `/v2/connectors/${id}`);

    const ok = await inject('POST', '/v2/connectors', {
      ...mcp,
      headers: { Authorization: 'Bearer {{secrets.T}}' },
      secrets: { T: 'mcp-token' },
    });
    assert.equal(ok.statusCode, 201, ok.body);
    assert.equal(ok.json().method, null);
    assert.equal(ok.json().input_schema, null);
    await inject('DELETE', `/v2/connectors/${ok.json().id}`);
  });

  test('another organization cannot see or use the connector', async () => {
    const c = (await inject('POST', '/v2/connectors', weather({ name: 'mine' }))).json();
    const other = await t.newOrg('business');
    assert.equal((await inject('GET', `/v2/connectors/${c.id}`, undefined, other.key)).statusCode, 404);
    const list = (await inject('GET', '/v2/connectors', undefined, other.key)).json();
    assert.ok(!list.data.some((x: any) => x.id === c.id));
    const agent = await inject(
      'POST',
      '/v2/agents',
      { name: 'a', model: 'mock/x', tools: [c.id] },
      other.key,
    );
    assert.equal(agent.statusCode, 422);
    assert.equal(agent.json().error.code, 'unknown_tool');
    await inject('DELETE', `/v2/connectors/${c.id}`);
  });

  test('the demo key (no connectors:private) sees only built-ins and can neither create, read nor use private connectors', async () => {
    // a full-access key on the demo organization sets up a private connector and an agent using it
    const full = (await t.resources.services.apiKeys.create(DEMO_ORG_ID, { name: 'full' })).secret;
    const c = (await inject('POST', '/v2/connectors', weather({ name: 'demo_private' }), full)).json();
    assert.ok(c.id);
    const agent = await inject('POST', '/v2/agents', { name: 'uses', model: 'mock/x', tools: [c.id] }, full);
    assert.equal(agent.statusCode, 201, agent.body);

    const list = (await inject('GET', '/v2/connectors', undefined, DEMO_KEY)).json();
    assert.deepEqual(
      list.data.map((x: any) => x.id),
      ['http_fetch', 'calculator', 'current_time'],
    );
    assert.equal((await inject('GET', `/v2/connectors/${c.id}`, undefined, DEMO_KEY)).statusCode, 404);
    assert.equal((await inject('GET', '/v2/connectors/calculator', undefined, DEMO_KEY)).statusCode, 200);
    const create = await inject('POST', '/v2/connectors', weather({ name: 'nope' }), DEMO_KEY);
    assert.equal(create.statusCode, 403);
    assert.equal(create.json().error.code, 'private_connectors_forbidden');
    assert.equal((await inject('PATCH', `/v2/connectors/${c.id}`, { name: 'x' }, DEMO_KEY)).statusCode, 403);
    assert.equal((await inject('DELETE', `/v2/connectors/${c.id}`, undefined, DEMO_KEY)).statusCode, 403);

    const demoAgent = await inject(
      'POST',
      '/v2/agents',
      { name: 'd', model: 'mock/x', tools: [c.id] },
      DEMO_KEY,
    );
    assert.equal(demoAgent.statusCode, 403);
    assert.equal(demoAgent.json().error.code, 'private_connectors_forbidden');
    const builtinAgent = await inject(
      'POST',
      '/v2/agents',
      { name: 'd', model: 'mock/x', tools: ['calculator', 'current_time'] },
      DEMO_KEY,
    );
    assert.equal(builtinAgent.statusCode, 201, builtinAgent.body);
    const patch = await inject('PATCH', `/v2/agents/${builtinAgent.json().id}`, { tools: [c.id] }, DEMO_KEY);
    assert.equal(patch.statusCode, 403);
    const unknown = await inject(
      'POST',
      '/v2/agents',
      { name: 'd', model: 'mock/x', tools: ['nope'] },
      DEMO_KEY,
    );
    assert.equal(unknown.statusCode, 422);
    assert.equal(unknown.json().error.param, 'tools[0]');

    const run = await inject(
      'POST',
      '/v2/runs',
      { agent_id: agent.json().id, input: { q: 'hi' }, background: true },
      DEMO_KEY,
    );
    assert.equal(run.statusCode, 403, run.body);
    assert.equal(run.json().error.code, 'private_connectors_forbidden');
    const allowed = await inject(
      'POST',
      '/v2/runs',
      { agent_id: agent.json().id, input: { q: 'hi' }, background: true },
      full,
    );
    assert.equal(allowed.statusCode, 202, allowed.body);

    // a pipeline's step runs act for the key that triggered it: the same rule applies there
    const pipeline = await inject(
      'POST',
      '/v2/pipelines',
      { name: 'uses private', steps: [{ id: 'a', agent_id: agent.json().id, input: {} }] },
      full,
    );
    assert.equal(pipeline.statusCode, 201, pipeline.body);
    const demoTrigger = await inject(
      'POST',
      `/v2/pipelines/${pipeline.json().id}/trigger`,
      { input: {} },
      DEMO_KEY,
    );
    assert.equal(demoTrigger.statusCode, 403, demoTrigger.body);
    assert.equal(demoTrigger.json().error.code, 'private_connectors_forbidden');
    const fullTrigger = await inject(
      'POST',
      `/v2/pipelines/${pipeline.json().id}/trigger`,
      { input: {} },
      full,
    );
    assert.equal(fullTrigger.statusCode, 202, fullTrigger.body);
  });

  test('an http connector calls its endpoint with the secret header and URL-encoded parameters', async () => {
    const c = (await inject('POST', '/v2/connectors', weather({ name: 'call_me' }))).json();
    const [tool] = await t.resources.services.connectors.resolveTools(orgId, [c.id]);
    assert.equal(tool!.name, 'call_me');
    assert.equal(tool!.description, 'Current weather for a city');
    seen.length = 0;
    const out = await tool!.execute({ city: 'Paris/../admin?x=1&y' }, { signal });
    assert.deepEqual(seen, [
      {
        url: '/weather/Paris%2F..%2Fadmin%3Fx%3D1%26y?units=metric',
        method: 'GET',
        authorization: `Bearer ${SECRET}`,
        body: '',
      },
    ]);
    assert.deepEqual(out, { status: 200, body: { ok: true, path: seen[0]!.url } });
    await assert.rejects(tool!.execute({}, { signal }), { code: 'invalid_input' });
    await assert.rejects(tool!.execute({ city: 3, extra: 1 }, { signal }), { code: 'invalid_input' });

    // POST: fields the URL does not use travel as JSON
    const post = (
      await inject('POST', '/v2/connectors', {
        name: 'create_ticket',
        kind: 'http',
        method: 'POST',
        description: 'Open a ticket',
        url: `http://127.0.0.1:${port}/fail/{{queue}}`,
        input_schema: {
          type: 'object',
          properties: { queue: { type: 'string' }, title: { type: 'string' } },
          required: ['queue', 'title'],
        },
      })
    ).json();
    const [ticket] = await t.resources.services.connectors.resolveTools(orgId, [post.id]);
    seen.length = 0;
    await assert.rejects(ticket!.execute({ queue: 'ops', title: 'Disk full' }, { signal }), {
      code: 'upstream_error',
      message: /HTTP 503: down for maintenance/,
    });
    assert.equal(seen[0]!.method, 'POST');
    assert.deepEqual(JSON.parse(seen[0]!.body), { title: 'Disk full' });

    // deleted connectors do not resolve
    await inject('DELETE', `/v2/connectors/${c.id}`);
    await assert.rejects(t.resources.services.connectors.resolveTools(orgId, [c.id]), {
      code: 'tool_unavailable',
    });
  });

  test('a run calls a built-in and an http connector (with its secret) through the tool loop', async () => {
    const c = (await inject('POST', '/v2/connectors', weather({ name: 'run_weather' }))).json();
    const agent = await inject('POST', '/v2/agents', {
      name: 'tooling',
      model: 'mock/tools',
      tools: ['calculator', c.id],
      parameters: {
        mock_tool_calls: [
          { tool: 'calculator', input: { expression: '6 * 7' } },
          { tool: 'run_weather', input: { city: 'Oslo' } },
        ],
      },
    });
    assert.equal(agent.statusCode, 201, agent.body);
    seen.length = 0;
    const res = await inject('POST', '/v2/runs', { agent_id: agent.json().id, input: { q: 'go' } });
    assert.equal(res.statusCode, 200, res.body);
    const run = res.json();
    assert.equal(run.status, 'completed', res.body);
    const byName = Object.fromEntries(run.tool_calls.map((call: any) => [call.name, call]));
    assert.deepEqual(byName.calculator.output, { expression: '6 * 7', result: '42' });
    assert.deepEqual(byName.run_weather.output, {
      status: 200,
      body: { ok: true, path: '/weather/Oslo?units=metric' },
    });
    assert.equal(seen.length, 1);
    assert.equal(seen[0]!.authorization, `Bearer ${SECRET}`);
    assert.ok(!res.body.includes(SECRET));

    // deleted between accept and start: the run fails with tool_unavailable, nothing is called
    await inject('DELETE', `/v2/connectors/${c.id}`);
    const failed = (
      await inject('POST', '/v2/runs', { agent_id: agent.json().id, input: { q: 'go' } })
    ).json();
    assert.equal(failed.status, 'failed');
    assert.equal(failed.error.code, 'tool_unavailable');
    assert.equal(seen.length, 1);
  });

  test('an http connector stored with a private address not on the allow-list is refused at call time', async () => {
    // refused when written (egress-at-write.test.ts): this row predates that check, or its DNS changed
    const c = (await inject('POST', '/v2/connectors', weather({ name: 'inward' }))).json();
    const config = JSON.parse(
      (
        await t.resources.db.kysely
          .selectFrom('connectors')
          .select('config')
          .where('id', '=', c.id)
          .executeTakeFirstOrThrow()
      ).config,
    );
    await t.resources.db.kysely
      .updateTable('connectors')
      .set({ config: JSON.stringify({ ...config, url: 'http://169.254.169.254/{{city}}' }) })
      .where('id', '=', c.id)
      .execute();
    const [tool] = await t.resources.services.connectors.resolveTools(orgId, [c.id]);
    await assert.rejects(tool!.execute({ city: 'x' }, { signal }), { code: 'private_address' });
    await inject('DELETE', `/v2/connectors/${c.id}`);
  });

  test('built-ins: calculator (no eval, dangerous functions disabled), current_time, http_fetch through the guard', async () => {
    const tools = await t.resources.services.connectors.resolveTools(orgId, [
      'calculator',
      'current_time',
      'http_fetch',
    ]);
    const [calc, time, fetchTool] = tools;
    assert.deepEqual(await calc!.execute({ expression: '(2 + 3) * 4^2 / 8' }, { signal }), {
      expression: '(2 + 3) * 4^2 / 8',
      result: '10',
    });
    assert.equal(
      ((await calc!.execute({ expression: '5 km to mile' }, { signal })) as any).result,
      '3.1068559611867 mile',
    );
    for (const expression of [
      'import({x: 1}, {override: true})',
      'createUnit("foo")',
      'evaluate("1+1")',
      'parse("1+1")',
      'simplify("x+x")',
      '1:100000000',
      'zeros(100000, 100000)',
      'cos.constructor("return process")()',
    ]) {
      await assert.rejects(
        calc!.execute({ expression }, { signal }),
        { code: 'invalid_expression' },
        expression,
      );
    }
    await assert.rejects(calc!.execute({ expr: '1' }, { signal }), { code: 'invalid_input' });

    const now = (await time!.execute({}, { signal })) as any;
    assert.equal(now.timezone, 'UTC');
    assert.ok(Math.abs(Date.parse(now.utc) - Date.now()) < 60_000);
    const tokyo = (await time!.execute({ timezone: 'Asia/Tokyo' }, { signal })) as any;
    assert.equal(tokyo.utc_offset, '+09:00');
    assert.equal(Date.parse(tokyo.local), Date.parse(tokyo.utc.replace(/\.\d+Z$/, 'Z')));
    await assert.rejects(time!.execute({ timezone: 'Mars/Olympus' }, { signal }), {
      code: 'invalid_timezone',
    });

    const fetched = (await fetchTool!.execute({ url: `http://127.0.0.1:${port}/page` }, { signal })) as any;
    assert.equal(fetched.status, 200);
    assert.deepEqual(JSON.parse(fetched.body), { ok: true, path: '/page' });
    await assert.rejects(fetchTool!.execute({ url: 'http://localhost/' }, { signal }), {
      code: 'private_address',
    });
    await assert.rejects(fetchTool!.execute({ url: 'file:///etc/passwd' }, { signal }), {
      code: 'scheme_not_allowed',
    });
  });
});

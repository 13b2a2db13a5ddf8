/**
 * The TypeScript SDK against a live AIRMY server over real TLS (SQLite and Postgres), every case
 * of the SDK contract: resources, sync / background / streamed runs, a stream cut mid-way and
 * resumed, a 429 retried after Retry-After, a reset after the server accepted a POST retried into
 * the same run, a list of several pages iterated whole, and each error class.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import Airmy, {
  APIConnectionError,
  APITimeoutError,
  AuthenticationError,
  BadRequestError,
  ConflictError,
  InternalServerError,
  NotFoundError,
  PermissionDeniedError,
  RateLimitError,
  type Run,
  type RunEvent,
  UnprocessableEntityError,
} from '../index.ts';
import { httpsFetch } from '../src/core/transport.ts';
import { type DbTarget, type LiveServer, postgresReachable, startLiveServer } from './live-server.ts';
import { startProxy, type TestProxy } from './proxy.ts';

function suite(target: DbTarget) {
  let server: LiveServer;
  let proxy: TestProxy;
  let client: Airmy;
  let viaProxy: Airmy;
  let agentId: string;
  let limitedKey: Promise<string>;

  before(async () => {
    server = await startLiveServer(target);
    limitedKey = server.orgKey({ rpm: 60, burst: 2 });
    proxy = await startProxy(server.port, server.caFile);
    client = new Airmy({ apiKey: server.key, baseURL: server.baseURL, caFile: server.caFile });
    viaProxy = new Airmy({ apiKey: server.key, baseURL: proxy.baseURL, caFile: server.caFile });
    agentId = (await client.agents.create({ name: 'sdk', model: 'mock/sdk' })).id;
  });
  after(async () => {
    await limitedKey?.catch(() => {});
    await proxy?.close();
    await server?.stop();
  });

  test('agents: create, retrieve, update, list, delete; the request id of a success is on the object', async () => {
    const agent = await client.agents.create({
      name: 'Support triage',
      model: 'mock/triage',
      instructions: 'Classify.',
    });
    assert.match(agent.id, /^ag_/);
    assert.match(agent._requestID ?? '', /^req_/);
    assert.equal(
      JSON.stringify(agent).includes('_requestID'),
      false,
      'the request id is not part of the JSON',
    );
    assert.equal((await client.agents.retrieve(agent.id)).name, 'Support triage');
    const updated = await client.agents.update(agent.id, { instructions: 'Classify and prioritise.' });
    assert.equal(updated.instructions, 'Classify and prioritise.');
    assert.equal(updated.version, 2);
    const first = await client.agents.list({ limit: 100 });
    assert.ok(first.data.some((a) => a.id === agent.id));
    assert.equal((await client.agents.delete(agent.id)).deleted, true);
    await assert.rejects(client.agents.retrieve(agent.id), NotFoundError);
  });

  test('a sync run answers the finished run', async () => {
    const run = await client.runs.create({
      agent_id: agentId,
      input: { query: 'Summarize Q1 revenue drivers' },
    });
    assert.equal(run.status, 'completed');
    assert.match(String((run.output as { result?: string }).result), /Summarize Q1 revenue drivers/);
    assert.deepEqual(await client.runs.retrieve(run.id), { ...run });
  });

  test('a background run, waited for, is returned finished', async () => {
    const run = await client.runs.createAndWait({
      agent_id: agentId,
      input: { query: 'slow' },
      metadata: { case: 'background' },
    });
    assert.equal(run.status, 'completed');
    assert.ok(run.completed_at);
    const listed = await client.runs.list({ metadata: { case: 'background' } });
    assert.deepEqual(
      listed.data.map((r) => r.id),
      [run.id],
    );
  });

  test('a stream cut twice mid-way resumes by itself; every event exactly once, in order', async () => {
    const slow = await client.agents.create({
      name: 'slow streamer',
      model: 'mock/slow',
      parameters: { mock_latency_ms: 1500, mock_chunk_size: 4 },
    });
    proxy.once('POST', /^\/v2\/runs$/, { kind: 'cut', events: 4 });
    proxy.once('GET', /^\/v2\/runs\/[^/]+\/events$/, { kind: 'cut', events: 4 });
    const stream = viaProxy.runs.stream({
      agent_id: slow.id,
      input: { query: 'Tell me about resumable streams' },
    });
    const events: RunEvent[] = [];
    for await (const event of stream) events.push(event);
    assert.equal(stream.reconnects, 2, 'the stream was cut twice and resumed twice');
    const seqs = events.map((e) => e.sequence_number);
    assert.deepEqual(
      seqs,
      seqs.map((_, i) => i + 1),
      'sequence numbers 1..n, none lost or repeated',
    );
    const last = events.at(-1)!;
    assert.equal(last.type, 'run.completed');
    const runId = events[0].run_id!;
    const resumes = proxy.log.filter((r) => r.path === `/v2/runs/${runId}/events`);
    assert.deepEqual(
      resumes.map((r) => r.headers['last-event-id']),
      ['4', '8'],
      'each resume asked for the events after the last one seen',
    );
    const replay: RunEvent[] = [];
    for await (const event of client.runs.events(runId)) replay.push(event);
    assert.deepEqual(
      replay.map((e) => [e.sequence_number, e.type, e.delta]),
      events.map((e) => [e.sequence_number, e.type, e.delta]),
    );
    const text = events
      .filter((e) => e.type === 'run.output.delta')
      .map((e) => e.delta)
      .join('');
    const run = await client.runs.retrieve(runId);
    assert.equal(text, (run.output as { result: string }).result);
  });

  test('a 429 is retried after the server’s Retry-After, and then succeeds', async () => {
    const key = await limitedKey;
    const seen: { status: number; at: number; retryAfter: string | null }[] = [];
    const transport = httpsFetch(readFileSync(server.caFile, 'utf8'));
    const limited = new Airmy({
      apiKey: key,
      baseURL: server.baseURL,
      fetch: async (url, init) => {
        const res = await transport(url, init);
        seen.push({ status: res.status, at: Date.now(), retryAfter: res.headers.get('retry-after') });
        return res;
      },
    });
    await limited.organization.retrieve();
    await limited.organization.retrieve();
    const org = await limited.organization.retrieve();
    assert.match(org.id, /^org_/);
    const statuses = seen.map((s) => s.status);
    assert.deepEqual(statuses.slice(0, 3), [200, 200, 429]);
    assert.equal(statuses.at(-1), 200);
    const refused = seen[2];
    const waitedMs = seen[3].at - refused.at;
    assert.ok(
      waitedMs >= Number(refused.retryAfter) * 1000,
      `waited ${waitedMs} ms, Retry-After said ${refused.retryAfter} s`,
    );
    const impatient = new Airmy({
      apiKey: key,
      baseURL: server.baseURL,
      caFile: server.caFile,
      maxRetries: 0,
    });
    await impatient.organization.retrieve().catch(() => {});
    const err = await impatient.organization.retrieve().then(
      () => assert.fail('expected a 429'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof RateLimitError);
    assert.equal(err.code, 'rate_limit_exceeded');
    assert.ok((err.retryAfter ?? 0) >= 1);
  });

  test('a reset after the server accepted a POST is retried into the same run: exactly one run exists', async () => {
    proxy.once('POST', /^\/v2\/runs$/, { kind: 'reset' });
    const before = proxy.log.length;
    const run = await viaProxy.runs.create({
      agent_id: agentId,
      input: { query: 'once' },
      metadata: { case: 'reset' },
    });
    assert.equal(run.status, 'completed');
    const posts = proxy.log.slice(before).filter((r) => r.method === 'POST');
    assert.equal(posts.length, 2, 'the POST was sent twice');
    const [firstKey, secondKey] = posts.map((p) => p.headers['idempotency-key']);
    assert.match(String(firstKey), /^airmy-typescript-retry-[0-9a-f-]{36}$/);
    assert.equal(secondKey, firstKey, 'the retry reused the Idempotency-Key');
    assert.equal(posts[0].headers['x-airmy-retry-count'], undefined);
    assert.equal(posts[1].headers['x-airmy-retry-count'], '1');
    const runs: Run[] = [];
    for await (const r of client.runs.list({ metadata: { case: 'reset' } })) runs.push(r);
    assert.deepEqual(
      runs.map((r) => r.id),
      [run.id],
    );
  });

  test('a 5xx is retried; x-should-retry from the server wins over the status', async () => {
    proxy.once('GET', /^\/v2\/organization$/, {
      kind: 'respond',
      status: 503,
      body: { error: { type: 'api_error', code: 'unavailable', message: 'try again' } },
    });
    assert.match((await viaProxy.organization.retrieve()).id, /^org_/);
    proxy.once('GET', /^\/v2\/organization$/, {
      kind: 'respond',
      status: 503,
      headers: { 'x-should-retry': 'false', 'request-id': 'req_injected' },
      body: { error: { type: 'api_error', code: 'unavailable', message: 'do not retry' } },
    });
    const before = proxy.log.length;
    const err = await viaProxy.organization.retrieve().catch((e: unknown) => e);
    assert.ok(err instanceof InternalServerError);
    assert.equal(err.requestID, 'req_injected');
    assert.equal(proxy.log.length - before, 1, 'x-should-retry: false: no retry');
    proxy.once('GET', /^\/v2\/organization$/, {
      kind: 'respond',
      status: 400,
      headers: { 'x-should-retry': 'true', 'retry-after-ms': '10' },
      body: { error: { type: 'invalid_request_error', code: 'flaky', message: 'retry me' } },
    });
    assert.match((await viaProxy.organization.retrieve()).id, /^org_/);
  });

  test('a list of more than two pages is iterated whole', async () => {
    const made = new Set<string>();
    for (let i = 0; i < 5; i++)
      made.add(
        (
          await client.connectors.create({
            name: `c${i}`,
            kind: 'http',
            description: 'A page',
            url: `https://example.com/${i}`,
          })
        ).id,
      );
    const first = await client.connectors.list({ limit: 2 });
    assert.equal(first.data.length, 2);
    assert.equal(first.has_more, true);
    let pages = 1;
    for (let p = first; p.hasNextPage(); p = await p.getNextPage()) pages++;
    assert.ok(pages >= 3, `${pages} pages`);
    const all: string[] = [];
    for await (const c of client.connectors.list({ limit: 2 })) all.push(c.id);
    assert.equal(new Set(all).size, all.length, 'no item twice');
    assert.deepEqual(new Set(all.filter((id) => made.has(id))), made);
  });

  test('each error class, with status, type, code, param and request id', async () => {
    const bad = await client.agents
      .create({ name: 'x', model: 'mock/x', nonsense: 1 } as never)
      .catch((e: unknown) => e);
    assert.ok(bad instanceof BadRequestError);
    assert.equal(bad.status, 400);
    assert.match(bad.requestID ?? '', /^req_/);
    assert.ok(bad.type && bad.code && bad.message);

    const unauthenticated = new Airmy({
      apiKey: 'sk-airmy-wrong',
      baseURL: server.baseURL,
      caFile: server.caFile,
    });
    const auth = await unauthenticated.agents.list().catch((e: unknown) => e);
    assert.ok(auth instanceof AuthenticationError);
    assert.equal(auth.status, 401);

    const readOnly = new Airmy({
      apiKey: (await client.apiKeys.create({ name: 'read only', scopes: ['organization:read'] })).secret,
      baseURL: server.baseURL,
      caFile: server.caFile,
    });
    const denied = await readOnly.agents.create({ name: 'x', model: 'mock/x' }).catch((e: unknown) => e);
    assert.ok(denied instanceof PermissionDeniedError);
    assert.equal(denied.code, 'insufficient_permissions');

    const missing = await client.runs.retrieve('run_doesnotexist').catch((e: unknown) => e);
    assert.ok(missing instanceof NotFoundError);
    assert.equal(missing.status, 404);

    const invalid = await client.agents.create({ name: 'x', model: 'nope' }).catch((e: unknown) => e);
    assert.ok(invalid instanceof UnprocessableEntityError);
    assert.equal(invalid.code, 'unknown_model');
    assert.equal(invalid.param, 'model');

    const key = `reuse-${target}-${Date.now()}`;
    await client.runs.create({ agent_id: agentId, input: { query: 'a' } }, { idempotencyKey: key });
    const reused = await client.runs
      .create({ agent_id: agentId, input: { query: 'b' } }, { idempotencyKey: key })
      .catch((e: unknown) => e);
    assert.ok(reused instanceof UnprocessableEntityError);
    assert.equal(reused.code, 'idempotency_key_reused');

    // an idempotency key still in flight: the first call is a slow sync run, the second sees it running
    const slow = await client.agents.create({
      name: 'slow',
      model: 'mock/slow',
      parameters: { mock_latency_ms: 3000 },
    });
    const inFlightKey = `inflight-${target}-${Date.now()}`;
    const params = { agent_id: slow.id, input: { query: 'slow' }, metadata: { case: `inflight-${target}` } };
    const first = client.runs.create(params, { idempotencyKey: inFlightKey });
    while ((await client.runs.list({ metadata: params.metadata })).data.length === 0);
    const conflict = await client.runs
      .create(params, { idempotencyKey: inFlightKey, maxRetries: 0 })
      .catch((e: unknown) => e);
    assert.ok(conflict instanceof ConflictError);
    assert.equal(conflict.code, 'idempotency_key_in_use');
    // with retries (the default), the same call waits out the first and gets its answer
    const [a, b] = await Promise.all([
      first,
      client.runs.create(params, { idempotencyKey: inFlightKey, maxRetries: 5 }),
    ]);
    assert.equal(b.id, a.id);

    const nowhere = new Airmy({ apiKey: server.key, baseURL: 'https://127.0.0.1:1/v2', maxRetries: 1 });
    const refused = await nowhere.organization.retrieve().catch((e: unknown) => e);
    assert.ok(refused instanceof APIConnectionError);
    assert.ok(!(refused instanceof APITimeoutError));

    const timeout = await client.runs
      .create({ agent_id: slow.id, input: { query: 'too slow' } }, { timeout: 200, maxRetries: 0 })
      .catch((e: unknown) => e);
    assert.ok(timeout instanceof APITimeoutError);
  });

  test('every other resource: deployments (logs, wait, rollback, canary promote/abort), pipelines, metrics, audit logs, alerts, keys, tokens, connectors, policies', async () => {
    const agent = await client.agents.create({ name: 'deployed', model: 'mock/deployed' });
    const v1 = await client.deployments.create({ agent_id: agent.id, description: 'v1' });
    assert.equal((await client.deployments.wait(v1.id)).status, 'active');
    const lines = await client.deployments.logs(v1.id);
    assert.ok(lines.data.some((l) => l.message.includes('active')));
    const streamed = [];
    for await (const e of client.deployments.streamLogs(v1.id, { follow: false })) streamed.push(e);
    assert.deepEqual(
      streamed.map((e) => e.sequence_number),
      lines.data.map((l) => l.sequence_number),
    );
    const v2 = await client.deployments.create({ agent_id: agent.id });
    assert.equal((await client.deployments.wait(v2.id)).status, 'active');
    assert.equal((await client.deployments.rollback(v2.id)).id, v1.id);
    assert.equal((await client.deployments.retrieve(v2.id)).status, 'rolled_back');
    // canaries: promote one by hand, abort another
    const c1 = await client.deployments.create({
      agent_id: agent.id,
      strategy: { type: 'canary', traffic_percent: 10 },
    });
    assert.equal((await client.deployments.wait(c1.id)).status, 'canary');
    const promoted = await client.deployments.promote(c1.id);
    assert.equal(promoted.status, 'active');
    assert.equal(promoted.strategy.type, 'canary');
    const c2 = await client.deployments.create({
      agent_id: agent.id,
      strategy: { type: 'canary', steps: [10, 50] },
    });
    assert.equal((await client.deployments.wait(c2.id)).canary?.traffic_percent, 10);
    assert.equal((await client.deployments.abort(c2.id)).status, 'rolled_back');
    assert.equal((await client.deployments.retrieve(v1.id)).status, 'superseded');
    const deps = [];
    for await (const d of client.deployments.list({ agent_id: agent.id, limit: 1 })) deps.push(d.id);
    assert.deepEqual(new Set(deps), new Set([v1.id, v2.id, c1.id, c2.id]));

    const pipeline = await client.pipelines.create({
      name: 'two steps',
      steps: [
        { id: 'first', agent_id: agentId, input: { query: '{{ input.topic }}' } },
        {
          id: 'second',
          agent_id: agentId,
          depends_on: ['first'],
          input: { query: '{{ steps.first.output.result }}' },
        },
      ],
    } as never);
    const prun = await client.pipelines.triggerAndWait(pipeline.id, { input: { topic: 'Q1' } });
    assert.equal(prun.status, 'completed');
    assert.deepEqual(
      prun.steps.map((st) => [st.id, st.status]),
      [
        ['first', 'completed'],
        ['second', 'completed'],
      ],
    );
    const events = [];
    for await (const e of client.pipelines.runs.events(pipeline.id, prun.id)) events.push(e.type);
    assert.equal(events.at(-1), 'pipeline.completed');
    assert.deepEqual(
      (await client.pipelines.runs.list(pipeline.id)).data.map((r) => r.id),
      [prun.id],
    );

    const metric = await client.metrics.query({ metric: 'runs', interval: '1m' });
    assert.ok(metric.series.some((se) => se.points.some((pt) => Number(pt.value) > 0)));
    const audit = await client.auditLogs.list({ action: 'agent.created', limit: 100 });
    assert.ok(audit.data.some((e) => e.resource?.id === agent.id));
    assert.equal((await client.logs.verify()).valid, true);

    const alert = await client.alerts.create({
      name: 'errors',
      metric: 'errors',
      comparator: 'gt',
      threshold: 10,
      window: '5m',
      channels: [],
    } as never);
    assert.equal((await client.alerts.update(alert.id, { threshold: 20 } as never)).threshold, 20);
    assert.equal((await client.alerts.events(alert.id)).data.length, 0);
    assert.equal((await client.alerts.delete(alert.id)).deleted, true);

    const key = await client.apiKeys.create({ name: 'short', scopes: ['organization:read'] });
    const token = await new Airmy({
      apiKey: key.secret,
      baseURL: server.baseURL,
      caFile: server.caFile,
    }).auth.createToken();
    const viaToken = new Airmy({ apiKey: token.token, baseURL: server.baseURL, caFile: server.caFile });
    assert.equal((await viaToken.organization.retrieve()).id, server.org);
    const rotated = await client.apiKeys.rotate(key.id);
    assert.notEqual(rotated.secret, key.secret);
    assert.equal((await client.apiKeys.revoke(key.id)).revoked_at !== null, true);
    await assert.rejects(viaToken.organization.retrieve(), AuthenticationError);

    const policy = await client.guardrailPolicies.create({ name: 'sdk-policy' });
    assert.equal((await client.guardrailPolicies.retrieve(policy.id)).name, 'sdk-policy');
    assert.ok((await client.guardrailPolicies.templates()).length > 0);
    assert.equal((await client.guardrailPolicies.delete(policy.id)).deleted, true);
  });

  test('construction: env AIRMY_API_KEY / AIRMY_BASE_URL, and a clear error without a key', () => {
    const saved = { key: process.env.AIRMY_API_KEY, url: process.env.AIRMY_BASE_URL };
    try {
      delete process.env.AIRMY_API_KEY;
      delete process.env.AIRMY_BASE_URL;
      assert.throws(() => new Airmy(), /AIRMY_API_KEY/);
      process.env.AIRMY_API_KEY = server.key;
      assert.equal(new Airmy().baseURL, 'https://127.0.0.1:8443/v2');
      process.env.AIRMY_BASE_URL = server.baseURL;
      assert.equal(new Airmy().baseURL, server.baseURL);
    } finally {
      if (saved.key === undefined) delete process.env.AIRMY_API_KEY;
      else process.env.AIRMY_API_KEY = saved.key;
      if (saved.url === undefined) delete process.env.AIRMY_BASE_URL;
      else process.env.AIRMY_BASE_URL = saved.url;
    }
  });
}

describe('TypeScript SDK [sqlite]', () => suite('sqlite'));
describe('TypeScript SDK [postgres]', async () => {
  if (!(await postgresReachable())) {
    if (process.env.CI) throw new Error('Postgres is unreachable, and CI must run the Postgres cases');
    console.warn('# skipped the Postgres cases of the TypeScript SDK: Postgres unreachable');
    return;
  }
  suite('postgres');
});

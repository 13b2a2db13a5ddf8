/**
 * Code agents in cluster mode (Postgres + Redis, real processes: one `serve --no-worker` API node,
 * one `airmy worker`): guests run on workers, never on the API node. The API node still refuses
 * a module that does not compile (422 with line and column) without starting a sandbox thread; a
 * sync code run sent to it is executed by the worker and answered by the API node; deployment
 * validation (the module's top level and the smoke test) runs on the worker. The API node's
 * `airmy_sandbox_workers` gauge stays 0 throughout.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type Cluster, skipUnlessCluster, startCluster, until } from '../support/cluster.ts';
import { parseSse } from '../support/sse.ts';

describe('code agents in cluster mode', async () => {
  const skip = await skipUnlessCluster();
  let c: Cluster;
  before(async () => {
    if (skip) return;
    c = await startCluster({ apis: 1, workers: 1 });
  });
  after(() => c?.close());

  const sandboxWorkers = async () => {
    const res = await c.apis[0].request('GET', '/internal/metrics');
    assert.equal(res.status, 200);
    const m = /^airmy_sandbox_workers (\d+)$/m.exec(res.body);
    assert.ok(m, 'the API node exports airmy_sandbox_workers');
    return Number(m[1]);
  };

  test('an API-only node starts no sandbox; its sync code runs are executed by a worker', {
    skip,
  }, async () => {
    const api = c.apis[0];
    const post = (url: string, body: unknown) => api.request('POST', url, { key: c.key, body });
    // a module that does not compile: refused by the API node itself, line and column included
    const bad = await post('/v2/agents', {
      name: 'broken',
      code: 'export default async (input) => {\n  return input +;\n}',
    });
    assert.equal(bad.status, 422, bad.body);
    assert.equal(bad.json().error.code, 'invalid_code');
    assert.match(bad.json().error.message, /SyntaxError.*line 2, column \d+/);
    // compiling is parsing only: a top level that would spin is not run on the API node
    const created = await post('/v2/agents', {
      name: 'code',
      code: 'let n = 0;\nexport default async (input, ctx) => { const r = await ctx.model.stream({ input: input.q }); ctx.log("seen", input.q); return { q: input.q, text: r.text, n: ++n } }',
      model: 'mock/cluster-code',
      parameters: { mock_reply: 'from the worker', mock_chunk_size: 4 },
    });
    assert.equal(created.status, 201, created.body);
    const agentId = created.json().id as string;
    assert.equal(await sandboxWorkers(), 0, 'agent writes started no sandbox thread on the API node');

    // sync: stored queued by the API node, executed by the worker, answered by the API node
    const sync = await post('/v2/runs', { agent_id: agentId, input: { q: 'sync' } });
    assert.equal(sync.status, 200, sync.body);
    assert.equal(sync.json().status, 'completed', JSON.stringify(sync.json().error));
    assert.deepEqual(sync.json().output, { q: 'sync', text: 'from the worker', n: 1 });
    // streamed: the worker's deltas and logs reach the API node's stream over the bus
    const streamed = await post('/v2/runs', { agent_id: agentId, input: { q: 'streamed' }, stream: true });
    assert.equal(streamed.status, 200);
    const events = parseSse(streamed.body);
    assert.equal(events.at(-1)?.event, 'run.completed', events.map((e) => e.event).join(','));
    const deltas = events.filter((e) => e.event === 'run.output.delta').map((e) => e.data.delta);
    assert.equal(deltas.join(''), 'from the worker');
    assert.ok(events.some((e) => e.event === 'run.log'));
    // several at once, background and sync
    const many = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        post('/v2/runs', { agent_id: agentId, input: { q: `n${i}` }, background: i % 2 === 0 }),
      ),
    );
    for (const res of many) {
      assert.ok([200, 202].includes(res.status), res.body);
      const id = res.json().id as string;
      const run = await until(
        async () => {
          const r = (await api.request('GET', `/v2/runs/${id}`, { key: c.key })).json();
          return ['completed', 'failed', 'timed_out', 'cancelled'].includes(r.status) ? r : undefined;
        },
        30_000,
        () => `run ${id} did not end`,
      );
      assert.equal(run.status, 'completed', JSON.stringify(run.error));
    }

    // deployment validation loads the module and runs the smoke test: on the worker
    const smoke = await post('/v2/agents', {
      name: 'smoked',
      code: 'export default async (input) => `pong ${input.ping}`',
      smoke_test: { input: { ping: 1 }, expect: 'pong 1' },
    });
    assert.equal(smoke.status, 201, smoke.body);
    const dep = await post('/v2/deployments', { agent_id: smoke.json().id });
    assert.equal(dep.status, 202, dep.body);
    const deployed = await until(
      async () => {
        const d = (await api.request('GET', `/v2/deployments/${dep.json().id}`, { key: c.key })).json();
        return ['pending', 'validating'].includes(d.status) ? undefined : d;
      },
      60_000,
      () => 'the deployment did not leave validation',
    );
    assert.equal(deployed.status, 'active', JSON.stringify(deployed));
    assert.equal(await sandboxWorkers(), 0, 'no sandbox thread on the API node after all that');
  });
});

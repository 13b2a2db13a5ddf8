/**
 * The bug of issue 14, in embedded mode: two `airmy serve` processes on one Postgres. The second,
 * starting, used to clear every job lock (the queue assumed it was alone) and the first one's four
 * in-flight runs ended `failed worker_lost`. Locks now name their node and only a lost node's are
 * freed (infra/queue/nodes.ts): node B's start leaves node A's runs alone, and they complete.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { type Cluster, skipUnlessCluster, startCluster, until } from '../support/cluster.ts';

const skip = await skipUnlessCluster();
let c: Cluster | undefined;
after(() => c?.close());

test('node B starting on node A’s Postgres leaves A’s 4 in-flight runs alone: all complete', {
  skip,
}, async () => {
  c = await startCluster({
    apis: 1,
    workers: 0,
    apiWorkers: true,
    redisUrl: null,
    env: { AIRMY_WORKER_CONCURRENCY: '4' },
  });
  const cluster = c;
  const [a] = cluster.apis;
  const agent = await a.request('POST', '/v2/agents', {
    key: cluster.key,
    body: {
      name: 'slow',
      model: 'mock/slow',
      parameters: { mock_latency_ms: 4000, mock_reply: 'Still mine.' },
    },
  });
  assert.equal(agent.status, 201, agent.body);
  const ids: string[] = [];
  for (let i = 0; i < 4; i++) {
    const r = await a.request('POST', '/v2/runs', {
      key: cluster.key,
      body: { agent_id: agent.json().id, input: { i }, background: true },
    });
    assert.equal(r.status, 202, r.body);
    ids.push(r.json().id);
  }
  const status = async () =>
    cluster.query<{ id: string; status: string; error: string | null }>(
      'SELECT id, status, error FROM runs WHERE id = ANY($1) ORDER BY id',
      [ids],
    );
  await until(
    async () => ((await status()).every((r) => r.status === 'running') ? true : undefined),
    60_000,
    () => 'all 4 runs running on A',
  );
  const b = await cluster.addApi();
  const rows = await until(
    async () => {
      const rs = await status();
      return rs.every((r) => !['queued', 'running'].includes(r.status)) ? rs : undefined;
    },
    60_000,
    () => 'all 4 runs to end',
  );
  assert.deepEqual(
    rows.map((r) => [r.status, r.error]),
    ids.map(() => ['completed', null]),
  );
  // both nodes hold a lease; neither was taken for lost
  const nodes = await cluster.query('SELECT id FROM airmy_nodes');
  assert.equal(nodes.length, 2);
  assert.equal((await b.request('GET', '/readyz')).status, 200);
});

/**
 * The queue-depth gauge in cluster mode, through real processes (test/support/cluster.ts): two API
 * nodes and workers started and killed here, production config (AIRMY_ENV=production, a metrics
 * token). `airmy_queue_depth{kind,state}` must read graphile-worker's table — where cluster mode's
 * jobs are — not the embedded `jobs` table, which stays empty there (it read 0 whatever waited):
 *
 * - background runs accepted with no worker up: `queued` counts them, on both API nodes alike;
 * - a worker with 2 slots takes 2 of 3 (their provider calls held by a slow fake upstream):
 *   `running` 2, `queued` 1; cancelled, every series of runs is back to 0;
 * - the worker killed -9 with 2 runs in flight: they stay `running` (locked by a dead worker) until a
 *   worker restarted on the same host recovers them — then the gauge is back to 0, every run ended;
 * - with graphile-worker's local queue (AIRMY_QUEUE_LOCAL_SIZE) a prefetched job is locked, so it
 *   counts `running`; killed -9, that worker's 2 started runs end `worker_lost` and the prefetched
 *   one, never started, runs on the next worker.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { ChildServer } from '../support/child-server.ts';
import { type Cluster, skipUnlessCluster, startCluster, until } from '../support/cluster.ts';
import { type FakeOpenAIServer, startFakeOpenAIServer } from '../support/fake-openai-server.ts';

const TOKEN = 'metrics-token-for-the-cluster-test';
const TERMINAL = ['completed', 'failed', 'cancelled', 'timed_out', 'expired'];

describe('cluster mode: airmy_queue_depth reads graphile-worker’s queue', async () => {
  const missing = await skipUnlessCluster();
  if (missing) {
    console.warn(`# skipped cluster cases: ${missing}`);
    return;
  }
  let upstream: FakeOpenAIServer;
  let cluster: Cluster;
  let a: ChildServer;
  let b: ChildServer;
  let agentId: string;

  before(async () => {
    upstream = await startFakeOpenAIServer();
    cluster = await startCluster({
      apis: 2,
      workers: 0,
      env: {
        AIRMY_ENV: 'production',
        AIRMY_METRICS_TOKEN: TOKEN,
        AIRMY_PROVIDER_LOCAL_BASE_URL: upstream.baseURL,
        AIRMY_PROVIDER_MAX_RETRIES: '0',
        AIRMY_WORKER_CONCURRENCY: '2',
        AIRMY_RUN_LEASE_MS: '3000',
      },
    });
    [a, b] = cluster.apis as [ChildServer, ChildServer];
    const res = await a.request('POST', '/v2/agents', {
      key: cluster.key,
      body: { name: 'slow', model: 'local/llama3.2' },
    });
    assert.equal(res.status, 201, res.body);
    agentId = res.json().id;
  });

  after(async () => {
    await cluster?.close();
    await upstream?.close();
  });

  /** the run series of the gauge as one node serves it: { queued, running } */
  async function depth(node: ChildServer) {
    const res = await node.request('GET', '/internal/metrics', {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    assert.equal(res.status, 200, res.body);
    const read = (state: string) => {
      const m = new RegExp(`^airmy_queue_depth\\{kind="run",state="${state}"\\} (\\d+)$`, 'm').exec(res.body);
      assert.ok(
        m,
        `no ${state} series:\n${res.body
          .split('\n')
          .filter((l) => l.includes('queue_depth'))
          .join('\n')}`,
      );
      return Number(m[1]);
    };
    return { queued: read('queued'), running: read('running') };
  }

  const depthIs = (node: ChildServer, want: { queued: number; running: number }, what: string) =>
    until(
      async () => {
        const d = await depth(node);
        return d.queued === want.queued && d.running === want.running ? d : undefined;
      },
      30_000,
      () => `${what}: wanted ${JSON.stringify(want)}`,
    );

  async function submit(node: ChildServer): Promise<string> {
    const res = await node.request('POST', '/v2/runs', {
      key: cluster.key,
      body: { agent_id: agentId, input: { q: 'wait' }, background: true },
    });
    assert.equal(res.status, 202, res.body);
    return res.json().id;
  }

  const statuses = async (ids: string[]) =>
    Promise.all(
      ids.map(async (id) => (await b.request('GET', `/v2/runs/${id}`, { key: cluster.key })).json().status),
    );

  test('queued runs count on every node; a worker taking them moves them to running; ended, all 0', async () => {
    assert.deepEqual(await depth(a), { queued: 0, running: 0 });
    const ids = [await submit(a), await submit(b), await submit(a)];
    // nothing executes them yet: three jobs wait in graphile-worker's table, seen alike by A and B
    assert.deepEqual(await depth(a), { queued: 3, running: 0 });
    assert.deepEqual(await depth(b), { queued: 3, running: 0 });

    upstream.setDelay(60_000);
    const calls = upstream.requests.length;
    await cluster.addWorker();
    await depthIs(b, { queued: 1, running: 2 }, 'a worker with 2 slots took 2 of the 3');
    await until(
      async () => (upstream.requests.length >= calls + 2 ? true : undefined),
      20_000,
      () => 'the worker never called the upstream',
    );

    for (const id of ids) {
      const res = await a.request('DELETE', `/v2/runs/${id}`, { key: cluster.key });
      assert.ok(res.status < 300, res.body);
    }
    await until(
      async () => ((await statuses(ids)).every((s) => TERMINAL.includes(s)) ? true : undefined),
      30_000,
      () => 'the runs never ended',
    );
    await depthIs(a, { queued: 0, running: 0 }, 'every run ended');
    assert.deepEqual(await depth(b), { queued: 0, running: 0 });
  });

  test('kill -9 of the worker: its runs stay running on the gauge until a restarted worker recovers them', async () => {
    upstream.setDelay(60_000);
    const worker = cluster.workers.at(-1)!;
    const calls = upstream.requests.length;
    const ids = [await submit(a), await submit(b)];
    await depthIs(a, { queued: 0, running: 2 }, 'the worker took both');
    await until(
      async () => (upstream.requests.length >= calls + 2 ? true : undefined),
      20_000,
      () => 'the worker never called the upstream',
    );
    await until(
      async () => ((await statuses(ids)).every((s) => s === 'running') ? true : undefined),
      20_000,
      () => 'the runs were never marked running',
    );
    await cluster.kill(worker, 'SIGKILL');
    // locked by a dead worker: still running as far as the queue knows (nobody swept them yet)
    assert.deepEqual(await depth(b), { queued: 0, running: 2 });

    upstream.setDelay(0);
    await cluster.addWorker();
    await until(
      async () => ((await statuses(ids)).every((s) => TERMINAL.includes(s)) ? true : undefined),
      60_000,
      () => 'the dead worker’s runs never ended',
    );
    // started on the dead worker: never called again, ended for the client to resubmit
    for (const id of ids) {
      const run = (await a.request('GET', `/v2/runs/${id}`, { key: cluster.key })).json();
      assert.equal(run.status, 'failed');
      assert.equal(run.error?.code, 'worker_lost');
    }
    await depthIs(a, { queued: 0, running: 0 }, 'recovered and ended');
    assert.deepEqual(await depth(b), { queued: 0, running: 0 });
  });

  test('with graphile-worker’s local queue a prefetched job counts running; killed -9, it runs later, not worker_lost', async () => {
    // the previous test's worker leaves cleanly: nothing executes the next runs until the batching one
    for (const w of cluster.workers.splice(0)) await cluster.kill(w, 'SIGTERM');
    upstream.setDelay(60_000);
    const calls = upstream.requests.length;
    const ids = [await submit(a), await submit(b), await submit(a)];
    assert.deepEqual(await depth(a), { queued: 3, running: 0 });
    const worker = await cluster.addWorker({ AIRMY_QUEUE_LOCAL_SIZE: '3' });
    // 2 slots execute, the third job waits in the pool's memory, locked: running as the queue sees it
    await depthIs(b, { queued: 0, running: 3 }, 'the local queue locked all three');
    await until(
      async () => ((await statuses(ids)).filter((s) => s === 'running').length === 2 ? true : undefined),
      20_000,
      () => 'two runs were never marked running',
    );
    assert.ok(upstream.requests.length >= calls + 2);
    await cluster.kill(worker, 'SIGKILL');

    upstream.setDelay(0);
    await cluster.addWorker();
    await until(
      async () => ((await statuses(ids)).every((s) => TERMINAL.includes(s)) ? true : undefined),
      60_000,
      () => 'the dead worker’s runs never ended',
    );
    const runs = await Promise.all(
      ids.map(async (id) => (await a.request('GET', `/v2/runs/${id}`, { key: cluster.key })).json()),
    );
    // the two it had started end worker_lost; the prefetched one never started, so it simply ran
    assert.deepEqual(runs.map((r) => `${r.status}:${r.error?.code ?? ''}`).sort(), [
      'completed:',
      'failed:worker_lost',
      'failed:worker_lost',
    ]);
    await depthIs(a, { queued: 0, running: 0 }, 'recovered and ended');
  });
});

/**
 * Cluster mode's Redis half, with real processes (test/support/cluster.ts): two API nodes
 * (`airmy serve --no-worker`) and one worker (`airmy worker`) on one Postgres database and one
 * Redis — a private redis-server on a free port, started and stopped here, never the shared one.
 *
 * - per-key limits hold across nodes: a key hit through both nodes at once admits its burst (plus
 *   what refilled meanwhile), the rest 429 with honest headers — per-node buckets would admit twice;
 * - a key revoked through A is refused on B long before B's 5 s key cache would have expired;
 * - a cancel through B of a run executing on the worker stops its (slow, fake) provider call: the
 *   upstream sees the request aborted; and with no bus message at all (a lost one), the database
 *   backstop stops it;
 * - Redis stopped mid-load: reads go on (open), writes are refused 503 limiter_unavailable with
 *   Retry-After (closed), never a 500, no node crashes, every accepted run ends; Redis back on the
 *   same port → writes admitted again within seconds, and events cross nodes again;
 * - a follower on B whose run ended while Redis was down gets the end once Redis is back.
 *
 * Latencies are printed (`# …`), not asserted: the suite asserts behaviour, not speed.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { ChildServer, ChildWorker } from '../support/child-server.ts';
import { type Cluster, skipUnlessCluster, startCluster } from '../support/cluster.ts';
import { type FakeOpenAIServer, startFakeOpenAIServer } from '../support/fake-openai-server.ts';
import { type OwnRedis, startOwnRedis } from '../support/redis.ts';

const TERMINAL = ['completed', 'failed', 'cancelled', 'timed_out', 'expired'];

async function until<T>(fn: () => Promise<T | undefined>, ms: number, what: string): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('cluster mode, Redis half: two API nodes and a worker, one Postgres, one Redis', async () => {
  const missing = await skipUnlessCluster();
  if (missing) {
    console.warn(`# skipped cluster cases: ${missing}`);
    return;
  }
  let redis: OwnRedis;
  let upstream: FakeOpenAIServer;
  let cluster: Cluster;
  let a: ChildServer;
  let b: ChildServer;
  let worker: ChildWorker;
  let key: string;
  let limitedKey: string;
  const agents: Record<string, string> = {};

  before(async () => {
    [redis, upstream] = await Promise.all([startOwnRedis(), startFakeOpenAIServer()]);
    cluster = await startCluster({
      apis: 2,
      workers: 1,
      redisUrl: redis.url,
      env: { AIRMY_PROVIDER_LOCAL_BASE_URL: upstream.baseURL, AIRMY_PROVIDER_MAX_RETRIES: '0' },
    });
    [a, b] = cluster.apis as [ChildServer, ChildServer];
    worker = cluster.workers[0]!;
    key = cluster.key;
    const limitedOrg = await cluster.airmy(
      ...['orgs', 'create', '--name', 'limited', '--plan', 'enterprise', '--rpm', '60', '--burst', '20'],
    );
    limitedKey = await cluster.airmy('keys', 'create', '--org', limitedOrg);
    for (const [name, model] of [
      ['fast', 'mock/fast'],
      ['slow', 'local/llama3.2'],
    ]) {
      const res = await a.request('POST', '/v2/agents', { key, body: { name, model } });
      assert.equal(res.status, 201, res.body);
      agents[name] = res.json().id;
    }
  });

  after(async () => {
    await cluster?.close();
    await upstream?.close();
    await redis?.stop();
  });

  const alive = () => {
    for (const [name, node] of [
      ['A', a],
      ['B', b],
      ['the worker', worker],
    ] as const) {
      assert.equal(node.proc.exitCode, null, `${name} exited:\n${node.output()}`);
      assert.equal(node.proc.signalCode, null, `${name} died:\n${node.output()}`);
    }
  };

  test('per-key limits hold across nodes: the burst (+ refill) is admitted once, not once per node', async () => {
    const started = Date.now();
    // rpm 60, burst 20: 80 requests at once, half through each node
    const answers = await Promise.all(
      Array.from({ length: 80 }, (_, i) => (i % 2 ? a : b).request('GET', '/v2/agents', { key: limitedKey })),
    );
    const seconds = (Date.now() - started) / 1000;
    const admitted = answers.filter((r) => r.status === 200);
    const refused = answers.filter((r) => r.status === 429);
    assert.equal(admitted.length + refused.length, 80, `statuses: ${answers.map((r) => r.status)}`);
    // one refill per second at 60 rpm: what the test's own duration can add, never a second burst
    const refill = Math.ceil(seconds) + 1;
    assert.ok(admitted.length >= 20, `admitted ${admitted.length}`);
    assert.ok(
      admitted.length <= 20 + refill,
      `admitted ${admitted.length} in ${seconds} s: more than one burst`,
    );
    console.log(
      `# limits across nodes: ${admitted.length} admitted, ${refused.length} refused in ${seconds} s`,
    );
    for (const r of answers) {
      assert.equal(r.headers['ratelimit-policy'], '"minute";q=60;w=60');
      assert.equal(r.headers['x-ratelimit-limit'], '60');
    }
    for (const r of refused) {
      assert.ok(Number(r.headers['retry-after']) >= 1);
      assert.equal(r.headers['x-ratelimit-remaining'], '0');
      assert.equal(r.json().error.code, 'rate_limit_exceeded');
    }
    // one bucket drained from both nodes: the last admitted answers report it (nearly) empty
    const remaining = admitted.map((r) => Number(r.headers['x-ratelimit-remaining']));
    assert.ok(Math.min(...remaining) <= 1, `remaining ${remaining}`);
  });

  test('a key revoked through A is refused on B before its cache there would have expired', async () => {
    const made = await a.request('POST', '/v2/api-keys', { key, body: { name: 'short-lived' } });
    assert.equal(made.status, 201, made.body);
    const { id, secret } = made.json();
    // B has it cached (5 s) from this request on
    assert.equal((await b.request('GET', '/v2/agents', { key: secret })).status, 200);
    const revoked = await a.request('DELETE', `/v2/api-keys/${id}`, { key });
    assert.equal(revoked.status, 200, revoked.body);
    const t0 = Date.now();
    const refused = await until(
      async () => {
        const r = await b.request('GET', '/v2/agents', { key: secret });
        return r.status === 401 ? r : undefined;
      },
      4_000, // well inside B's 5 s cache entry: only the invalidation can explain a 401 here
      'B kept admitting the revoked key',
    );
    assert.equal(refused.json().error.code, 'invalid_api_key');
    console.log(`# revoke on A refused on B after ${Date.now() - t0} ms`);
  });

  /** A background run submitted on A whose provider call (the slow fake upstream) is in flight on the worker. */
  async function slowRun() {
    upstream.setDelay(20_000);
    const n = upstream.requests.length;
    const res = await a.request('POST', '/v2/runs', {
      key,
      body: { agent_id: agents.slow, input: { q: 'slow' }, background: true },
    });
    assert.equal(res.status, 202, res.body);
    const id = res.json().id as string;
    await until(
      async () => (upstream.requests.length > n ? true : undefined),
      20_000,
      'the upstream never got the call',
    );
    await until(
      async () =>
        (await b.request('GET', `/v2/runs/${id}`, { key })).json().status === 'running' ? true : undefined,
      10_000,
      'the run was never marked running',
    );
    return id;
  }

  test('a cancel through B of a run executing on the worker stops its provider call (over the bus)', async () => {
    try {
      const id = await slowRun();
      const aborted = upstream.nextClientAbort();
      const aborts = upstream.clientAborts();
      const t0 = Date.now();
      const res = await b.request('DELETE', `/v2/runs/${id}`, { key });
      assert.equal(res.status, 200, res.body);
      assert.equal(
        res.json().status,
        'cancelled',
        'B saw the cancellation the worker wrote (its event crossed the bus)',
      );
      await aborted;
      console.log(`# cancel through B: the worker's upstream call aborted after ${Date.now() - t0} ms`);
      assert.equal(upstream.clientAborts(), aborts + 1);
      assert.equal((await a.request('GET', `/v2/runs/${id}`, { key })).json().status, 'cancelled');
    } finally {
      upstream.setDelay(0);
    }
  });

  test('a cancel whose bus message is lost: the executor reads it from the database and stops', async () => {
    try {
      const id = await slowRun();
      const aborted = upstream.nextClientAbort();
      const t0 = Date.now();
      // what the cancel route stores, without the bus message (as if Redis dropped it)
      await cluster.query('UPDATE runs SET cancel_requested_at = $1 WHERE id = $2', [Date.now(), id]);
      await aborted;
      console.log(`# cancel from the database alone: upstream call aborted after ${Date.now() - t0} ms`);
      const run = await until(
        async () => {
          const r = (await b.request('GET', `/v2/runs/${id}`, { key })).json();
          return TERMINAL.includes(r.status) ? r : undefined;
        },
        10_000,
        'the run never ended',
      );
      assert.equal(run.status, 'cancelled');
    } finally {
      upstream.setDelay(0);
    }
  });

  test('Redis stopped mid-load: reads open, writes 503 closed, no 500, no crash, nothing accepted lost; then back', async () => {
    const accepted: string[] = [];
    const statuses = new Map<string, number>();
    const count = (what: string, status: number) => {
      const k = `${what} ${status}`;
      statuses.set(k, (statuses.get(k) ?? 0) + 1);
    };
    let stop = false;
    const load = async (node: ChildServer) => {
      while (!stop) {
        const [read, write] = await Promise.all([
          node.request('GET', '/v2/agents', { key }),
          node.request('POST', '/v2/runs', {
            key,
            body: { agent_id: agents.fast, input: { q: 'load' }, background: true },
          }),
        ]);
        count('read', read.status);
        count('write', write.status);
        assert.ok(read.status < 500 || read.status === 503, `read ${read.status} ${read.body}`);
        assert.ok(read.status !== 500 && write.status !== 500, `a 500: ${read.body} ${write.body}`);
        if (write.status === 202) accepted.push(write.json().id);
        else {
          assert.equal(write.status, 503, write.body);
          assert.equal(write.json().error.code, 'limiter_unavailable');
          assert.equal(write.headers['retry-after'], '1');
        }
        assert.equal(read.status, 200, `reads stay open: ${read.body}`);
      }
    };
    const loads = [load(a), load(b)];
    await new Promise((r) => setTimeout(r, 500));
    await redis.stop();
    await new Promise((r) => setTimeout(r, 1_500));
    alive();
    await redis.start();
    const restarted = Date.now();
    // writes are admitted again once both nodes have reconnected
    const back = await until(
      async () => {
        const [ra, rb] = await Promise.all(
          [a, b].map((n) =>
            n.request('POST', '/v2/runs', {
              key,
              body: { agent_id: agents.fast, input: { q: 'probe' }, background: true },
            }),
          ),
        );
        for (const r of [ra!, rb!]) if (r.status === 202) accepted.push(r.json().id);
        return ra!.status === 202 && rb!.status === 202 ? Date.now() : undefined;
      },
      10_000,
      'writes never admitted again after Redis came back',
    );
    stop = true;
    await Promise.all(loads);
    alive();
    console.log(
      `# Redis down 1.5 s; writes admitted on both nodes ${back - restarted} ms after its restart; ${[...statuses].map(([k, v]) => `${k}: ${v}`).join(', ')}`,
    );
    assert.ok(
      (statuses.get('write 503') ?? 0) > 0,
      'the closed policy applied to writes while Redis was down',
    );
    // every accepted run ends (none lost)
    for (const id of accepted) {
      await until(
        async () => {
          const r = await a.request('GET', `/v2/runs/${id}`, { key });
          return TERMINAL.includes(r.json().status) ? true : undefined;
        },
        20_000,
        `run ${id} never ended`,
      );
    }
    // events cross nodes again: a stream on B of a run made on A ends with its terminal event
    const res = await b.request('POST', '/v2/runs', {
      key,
      body: { agent_id: agents.fast, input: { q: 'after' } },
    });
    assert.equal(res.status, 200, res.body);
    assert.equal(res.json().status, 'completed');
    const metrics = await a.request('GET', '/internal/metrics');
    assert.match(metrics.body, /airmy_limiter_failures_total\{policy="closed"\} [1-9]/);
    assert.match(a.output() + b.output(), /redis: .* failed; Redis is unreachable/);
  });

  test('a follower on B whose run ended while Redis was down gets the end once Redis is back (resync)', async () => {
    try {
      const id = await slowRun();
      // B follows the run: its live events can only come from the worker over Redis
      const streaming = b.request('GET', `/v2/runs/${id}/events`, { key });
      await new Promise((r) => setTimeout(r, 300));
      await redis.stop();
      // the run ends on the worker while Redis is down (the database backstop cancels it: writes are closed)
      await cluster.query('UPDATE runs SET cancel_requested_at = $1 WHERE id = $2', [Date.now(), id]);
      await until(
        async () =>
          (await a.request('GET', `/v2/runs/${id}`, { key })).json().status === 'cancelled'
            ? true
            : undefined,
        10_000,
        'the run never ended',
      );
      await redis.start();
      const t0 = Date.now();
      // without the resync the stream would stay open (heartbeats only) until the client gave up
      const res = await Promise.race([
        streaming,
        new Promise<never>((_, reject) =>
          setTimeout(() => reject(new Error('the follower on B never got the end')), 15_000).unref(),
        ),
      ]);
      console.log(
        `# follower on B ended ${Date.now() - t0} ms after Redis came back (0: the database poll ended it during the outage)`,
      );
      assert.equal(res.status, 200);
      const types = [...res.body.matchAll(/^event: (\S+)$/gm)].map((m) => m[1]);
      assert.equal(types.at(-1), 'run.cancelled', res.body);
      assert.equal(new Set(types).size, types.length, 'each event once');
    } finally {
      upstream.setDelay(0);
    }
  });
});

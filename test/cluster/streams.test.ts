/**
 * What a client sees across a cluster (issue 14), with real processes: two API nodes A and B
 * (`serve --no-worker`) and two workers on one Postgres database of the test's own and the
 * machine's Redis; a fake upstream model server streams its reply word by word, slowly.
 *
 * - a run submitted on A with `stream: true` is streamed by A and, at the same time, followed from
 *   B while a worker executes it: both streams hold every event once, in order (sequence 1..n, the
 *   events stored for the run), the deltas spell the upstream's reply; a follower on B that drops
 *   mid-run and reconnects to A with `Last-Event-ID` gets exactly the rest — no gap, no duplicate;
 * - with two workers an alert rule (AIRMY_ALERT_INTERVAL_S=1) is evaluated once per interval, not
 *   once per worker: its evaluations (each one moves the rule's row version) over a few seconds stay
 *   within one per interval (less the claim's margin, infra/queue/ticks.ts), and it fires once.
 */
import assert from 'node:assert/strict';
import https from 'node:https';
import { after, before, describe, test } from 'node:test';
import type { ChildServer } from '../support/child-server.ts';
import { type Cluster, skipUnlessCluster, startCluster, until } from '../support/cluster.ts';
import { type FakeOpenAIServer, startFakeOpenAIServer } from '../support/fake-openai-server.ts';
import { type ParsedEvent, parseSse } from '../support/sse.ts';

interface Stream {
  status: Promise<number>;
  /** the complete events received so far */
  events(): ParsedEvent[];
  /** resolves when the server ends the stream */
  ended: Promise<void>;
  close(): void;
}

/** An SSE request read as it arrives (ChildServer.request waits for the whole body). */
function openStream(
  node: ChildServer,
  method: string,
  path: string,
  key: string,
  opts: { body?: unknown; headers?: Record<string, string> } = {},
): Stream {
  let text = '';
  let settle!: (status: number) => void;
  let end!: () => void;
  const status = new Promise<number>((r) => {
    settle = r;
  });
  const ended = new Promise<void>((r) => {
    end = r;
  });
  const payload = opts.body === undefined ? undefined : JSON.stringify(opts.body);
  const req = https.request(
    {
      host: '127.0.0.1',
      port: node.port,
      path,
      method,
      ca: node.ca,
      headers: {
        authorization: `Bearer ${key}`,
        accept: 'text/event-stream',
        ...(payload ? { 'content-type': 'application/json' } : {}),
        ...opts.headers,
      },
    },
    (res) => {
      settle(res.statusCode ?? 0);
      res.setEncoding('utf8');
      res.on('data', (d) => {
        text += d;
      });
      res.on('end', end);
      res.on('close', end);
    },
  );
  req.on('error', () => {
    settle(0);
    end();
  });
  req.end(payload);
  return {
    status,
    ended,
    // only blocks the server has finished (a trailing partial block waits for the next chunk)
    events: () => parseSse(text.slice(0, text.lastIndexOf('\n\n') + 2)),
    close: () => req.destroy(),
  };
}

const seqs = (events: ParsedEvent[]) => events.map((e) => e.data.sequence_number as number);

describe('cluster streams and ticks: two API nodes, two workers', async () => {
  const missing = await skipUnlessCluster();
  if (missing) {
    console.warn(`# skipped cluster stream cases: ${missing}`);
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
      workers: 2,
      env: {
        AIRMY_PROVIDER_LOCAL_BASE_URL: upstream.baseURL,
        AIRMY_PROVIDER_MAX_RETRIES: '0',
        AIRMY_ALERT_INTERVAL_S: '1',
      },
    });
    [a, b] = cluster.apis as [ChildServer, ChildServer];
    const agent = await a.request('POST', '/v2/agents', {
      key: cluster.key,
      body: { name: 'streamer', model: 'local/llama3.2' },
    });
    assert.equal(agent.status, 201, agent.body);
    agentId = agent.json().id;
  });

  after(async () => {
    for (const n of [...(cluster?.apis ?? []), ...(cluster?.workers ?? [])])
      if (n.proc.exitCode !== null) console.log(`# exited ${n.proc.exitCode}:\n${n.output().slice(-2500)}`);
    await cluster?.close();
    await upstream?.close();
  });

  test('a run submitted on A streams from A and from B while a worker executes it; a reconnect to A with Last-Event-ID resumes exactly', async () => {
    upstream.setDelay(150); // between the upstream's SSE events: a run of ~2 s
    const key = cluster.key;
    const onA = openStream(a, 'POST', '/v2/runs', key, {
      body: { agent_id: agentId, input: { q: 'stream me' }, stream: true },
    });
    assert.equal(await onA.status, 200);
    const created = await until(
      async () => onA.events()[0],
      30_000,
      () => 'the run.created event on A',
    );
    assert.equal(created.event, 'run.created');
    const id = created.data.run_id as string;
    const onB = openStream(b, 'GET', `/v2/runs/${id}/events`, key);
    const dropping = openStream(b, 'GET', `/v2/runs/${id}/events`, key);
    assert.equal(await onB.status, 200);
    assert.equal(await dropping.status, 200);
    // the follower on B drops after the first two output deltas, mid-run
    const seen = await until(
      async () => {
        const evs = dropping.events();
        return evs.filter((e) => e.event === 'run.output.delta').length >= 2 ? evs : undefined;
      },
      30_000,
      () => `two deltas on B (got ${dropping.events().map((e) => e.event)})`,
    );
    dropping.close();
    const [{ status: statusNow }] = await cluster.query<{ status: string }>(
      'SELECT status FROM runs WHERE id = $1',
      [id],
    );
    const lastId = seen.at(-1)!.id!;
    const resumed = openStream(a, 'GET', `/v2/runs/${id}/events`, key, {
      headers: { 'last-event-id': lastId },
    });
    assert.equal(await resumed.status, 200);
    await Promise.all([onA.ended, onB.ended, resumed.ended]);

    const stored = await cluster.query<{ seq: number; type: string }>(
      'SELECT seq, type FROM run_events WHERE run_id = $1 ORDER BY seq',
      [id],
    );
    const expected = stored.map((r) => Number(r.seq));
    assert.deepEqual(
      expected,
      Array.from({ length: stored.length }, (_, i) => i + 1),
      'stored 1..n',
    );
    assert.equal(stored.at(-1)!.type, 'run.completed');
    for (const [name, stream] of [
      ['A (submitted there)', onA],
      ['B (followed there)', onB],
    ] as const) {
      const evs = stream.events();
      assert.deepEqual(seqs(evs), expected, `${name}: every event once, in order`);
      assert.deepEqual(
        evs.map((e) => e.event),
        stored.map((r) => r.type),
        name,
      );
      assert.deepEqual(
        evs.map((e) => e.id),
        expected.map(String),
        `${name}: ids are sequence numbers`,
      );
      const text = evs
        .filter((e) => e.event === 'run.output.delta')
        .map((e) => e.data.delta)
        .join('');
      assert.equal(text, upstream.script.text, name);
    }
    // the drop was mid-run (a worker still executing), and A resumed right after it
    assert.equal(statusNow, 'running', 'the follower dropped while the run was executing');
    const rest = resumed.events();
    assert.deepEqual(
      [...seqs(seen), ...seqs(rest)],
      expected,
      `dropped after ${lastId}, resumed with ${seqs(rest)}: no gap, no duplicate`,
    );
    console.log(
      `# SSE across nodes: ${expected.length} events on A and on B; B dropped after ${lastId}, A resumed with ${rest.length}`,
    );
  });

  test('with two workers an alert rule is evaluated once per interval, not once per worker', async () => {
    const key = cluster.key;
    // a run exists: `runs > 0` holds, so the rule fires at its first evaluation
    upstream.setDelay(0);
    const run = await b.request('POST', '/v2/runs', {
      key,
      body: { agent_id: agentId, input: { q: 'count me' } },
    });
    assert.equal(run.status, 200, run.body);
    const made = await a.request('POST', '/v2/alerts', {
      key,
      body: {
        name: 'any runs',
        metric: 'runs',
        comparator: 'gt',
        threshold: 0,
        window: '1h',
        channels: [],
      },
    });
    assert.equal(made.status, 201, made.body);
    const id = made.json().id as string;
    const version = async () =>
      Number(
        (await cluster.query<{ version: number }>('SELECT version FROM alert_rules WHERE id = $1', [id]))[0]!
          .version,
      );
    const v0 = await until(
      async () =>
        (await b.request('GET', `/v2/alerts/${id}`, { key })).json().last_evaluated_at
          ? version()
          : undefined,
      30_000,
      () => 'a first evaluation',
    );
    const t0 = Date.now();
    await new Promise((r) => setTimeout(r, 6_000));
    const v1 = await version();
    const elapsed = Date.now() - t0;
    const evaluations = v1 - v0;
    // one tick per interval (1 s) less the claim's margin (100 ms): at most this many in `elapsed`;
    // one evaluation per worker would be about twice as many
    const most = Math.floor(elapsed / 900) + 1;
    console.log(`# alerts: ${evaluations} evaluations in ${elapsed} ms with 2 workers (interval 1 s)`);
    assert.ok(evaluations >= 1, 'evaluated at all');
    assert.ok(evaluations <= most, `${evaluations} evaluations in ${elapsed} ms: more than one per interval`);
    const rule = (await a.request('GET', `/v2/alerts/${id}`, { key })).json();
    assert.equal(rule.state, 'firing');
    const events = (await b.request('GET', `/v2/alerts/${id}/events`, { key })).json().data;
    assert.deepEqual(
      events.map((e: { state: string }) => e.state),
      ['firing'],
      'it fired once',
    );
  });
});

/**
 * SIGTERM answers every waiting caller (issue 19, bug 2), with the real `airmy serve`: 30 sync runs
 * in flight — some finish within the grace period (200 completed), some outlast it (200 failed
 * `server_shutdown`), some never got a worker (202 queued) — and a request that arrives on an open
 * keep-alive connection while draining gets 503 with Retry-After. Every one is a well-formed HTTP
 * answer; after the restart every run is terminal and every Idempotency-Key answers (never 409).
 */
import assert from 'node:assert/strict';
import https from 'node:https';
import { after, before, test } from 'node:test';
import type { ChildServer } from '../support/child-server.ts';
import {
  type DbName,
  type DurableTarget,
  forEachDurableTarget,
  prepareTarget,
  TERMINAL,
  until,
} from '../support/durable-target.ts';

/** one HTTPS request on `agent`; a connection dropped without an answer resolves as status 0 */
function call(
  server: ChildServer,
  agent: https.Agent,
  key: string,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = https.request(
      {
        host: '127.0.0.1',
        port: server.port,
        path,
        method,
        ca: server.ca,
        agent,
        headers: {
          authorization: `Bearer ${key}`,
          ...(payload ? { 'content-type': 'application/json' } : {}),
          ...headers,
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d) => {
          text += d;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
        res.on('error', (err) => resolve({ status: 0, headers: {}, body: String(err) }));
      },
    );
    req.on('error', (err) => resolve({ status: 0, headers: {}, body: String(err) }));
    req.end(payload);
  });
}

function shutdown(db: DbName) {
  let t: DurableTarget;
  before(async () => {
    t = await prepareTarget(db, {
      AIRMY_WORKER_CONCURRENCY: '10',
      AIRMY_SHUTDOWN_GRACE_MS: '2500',
      AIRMY_LOG_LEVEL: 'info',
    });
  });
  after(() => t.cleanup());

  // two server starts and a drain: a bound of its own, past npm test's 120 s on a loaded machine
  test('SIGTERM with 30 sync runs in flight: every caller gets an HTTP answer', {
    timeout: 600_000,
  }, async () => {
    const server = await t.live();
    const agent = new https.Agent({ keepAlive: true, maxSockets: 64 });
    const api = (method: string, path: string, body?: unknown, headers?: Record<string, string>) =>
      call(server, agent, t.key, method, path, body, headers);
    const mk = async (name: string, parameters: object) => {
      const res = await api('POST', '/v2/agents', { name, model: `mock/${name}`, parameters });
      assert.equal(res.status, 201, res.body);
      return JSON.parse(res.body).id as string;
    };
    const long = await mk('outlasts-grace', { mock_latency_ms: 30_000 });
    const short = await mk('within-grace', { mock_latency_ms: 1_500, mock_reply: 'In time.' });
    const bodies = Array.from({ length: 30 }, (_, i) => ({
      agent_id: i < 5 ? long : short,
      input: { q: `caller ${i}` },
    }));
    const keys = bodies.map((_, i) => `shutdown-${db}-${i}`);
    const calls = bodies.map((b, i) => api('POST', '/v2/runs', b, { 'idempotency-key': keys[i] }));
    // an idle keep-alive connection, opened before the SIGTERM, for a request during the drain
    const idle = new https.Agent({ keepAlive: true, maxSockets: 1 });
    assert.equal((await call(server, idle, t.key, 'GET', '/v2/runs?limit=1')).status, 200);
    // wait until the 10 worker slots are busy (5 long + 5 short), 20 callers waiting for a slot
    await until(
      async () => {
        const res = await api('GET', `/v2/runs?status=running&limit=100`);
        return JSON.parse(res.body).data.length === 10 ? true : undefined;
      },
      15_000,
      () => 'waiting for 10 running runs',
    );
    const exited = server.kill('SIGTERM');
    await until(
      async () => (server.output().includes('stopping: draining') ? true : undefined),
      5_000,
      () => 'the server did not log its drain',
    );
    const during = await call(server, idle, t.key, 'GET', '/v2/runs?limit=1');
    const answers = await Promise.all(calls);
    assert.equal(await exited, 0, server.output().slice(-2000));

    const outcome = (a: { status: number; body: string }) => {
      assert.ok([200, 202].includes(a.status), `a caller got ${a.status}: ${a.body}`);
      const run = JSON.parse(a.body);
      return `${a.status} ${run.status}${run.error ? ` ${run.error.code}` : ''}`;
    };
    // which 10 callers got the worker slots depends on timing: count by agent
    const seen = answers.map(outcome);
    const tally = new Map<string, number>();
    for (const [i, o] of seen.entries()) {
      const label = `${i < 5 ? 'long' : 'short'}: ${o}`;
      tally.set(label, (tally.get(label) ?? 0) + 1);
    }
    const allowed = [
      'long: 200 failed server_shutdown',
      'long: 202 queued',
      'short: 200 completed',
      'short: 202 queued',
    ];
    for (const label of tally.keys()) assert.ok(allowed.includes(label), `unexpected answer ${label}`);
    const n = (label: string) => tally.get(label) ?? 0;
    assert.equal(
      n('long: 202 queued') + n('short: 202 queued'),
      20,
      'the callers without a worker slot: 202',
    );
    assert.ok(n('long: 200 failed server_shutdown') > 0, 'runs past the grace period end server_shutdown');
    assert.ok(n('short: 200 completed') > 0, 'runs within the grace period complete');
    // the request that arrived while draining, on a connection opened before
    assert.equal(during.status, 503, during.body);
    assert.equal(during.headers['retry-after'], '2');
    assert.equal(during.headers.connection, 'close');
    assert.equal(JSON.parse(during.body).error.code, 'server_shutting_down');

    // the next process runs what was queued; every key answers, with its own run
    const next = await t.live();
    const runIds = answers.map((a) => JSON.parse(a.body).id as string);
    for (const id of runIds) {
      await until(
        async () => {
          const r = JSON.parse((await next.request('GET', `/v2/runs/${id}`, { key: t.key })).body);
          return TERMINAL.includes(r.status) ? r : undefined;
        },
        // a long run that was queued (it got no slot before the SIGTERM) takes its 30 s here
        60_000,
        () => `run ${id} did not end after the restart`,
      );
    }
    for (const [i, b] of bodies.entries()) {
      const retry = await next.request('POST', '/v2/runs', {
        key: t.key,
        body: b,
        headers: { 'idempotency-key': keys[i] },
      });
      assert.equal(retry.status, 200, retry.body);
      assert.equal(retry.headers['idempotent-replayed'], 'true');
      assert.equal(retry.json().id, runIds[i]);
      assert.ok(TERMINAL.includes(retry.json().status));
    }
    agent.destroy();
    idle.destroy();
  });
}

forEachDurableTarget('graceful shutdown answers every caller', shutdown);

/**
 * Crash and shutdown in a loop (issue 19, reliability suite): the real `airmy serve` under mixed
 * load — sync, background and streamed runs, pipeline triggers, deployments, all with
 * Idempotency-Keys — is killed (kill -9 and SIGTERM in turn) and restarted on the same data, again
 * and again. After each restart: every accepted item reaches a terminal state, every caller of a
 * SIGTERMed server got an HTTP answer (streams: a terminal event or a clean end to resume from),
 * and every Idempotency-Key answers again (the same object; 409 only within the documented lease).
 * `AIRMY_CRASH_LOOPS` sets the iterations (default 3: kill -9, SIGTERM, kill -9).
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
import { parseSse } from '../support/sse.ts';

const LOOPS = Number(process.env.AIRMY_CRASH_LOOPS ?? 3);
const LEASE_MS = 2_000;
const PIPELINE_FINAL = ['completed', 'failed', 'cancelled', 'timed_out'];
const DEPLOYMENT_OPEN = ['pending', 'validating'];

interface Answer {
  status: number;
  body: string;
}

function send(server: ChildServer, key: string, method: string, path: string, body?: unknown, idem?: string) {
  return new Promise<Answer>((resolve) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = https.request(
      {
        host: '127.0.0.1',
        port: server.port,
        path,
        method,
        ca: server.ca,
        agent: false,
        headers: {
          authorization: `Bearer ${key}`,
          ...(payload ? { 'content-type': 'application/json' } : {}),
          ...(idem ? { 'idempotency-key': idem } : {}),
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d) => {
          text += d;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
        res.on('error', () => resolve({ status: 0, body: text }));
      },
    );
    req.on('error', () => resolve({ status: 0, body: '' }));
    req.end(payload);
  });
}

interface Keyed {
  kind: 'sync' | 'background' | 'stream' | 'pipeline' | 'deployment';
  path: string;
  body: unknown;
  idem: string;
  answer?: Answer;
}

function crashLoop(db: DbName) {
  let t: DurableTarget;
  before(async () => {
    t = await prepareTarget(db, {
      AIRMY_WORKER_CONCURRENCY: '4',
      AIRMY_SHUTDOWN_GRACE_MS: '1500',
      AIRMY_IDEMPOTENCY_LEASE_MS: String(LEASE_MS),
    });
  });
  after(() => t.cleanup());

  // restarts dominate (seconds each on a loaded machine): a bound of its own, past npm test's 120 s
  test(`${LOOPS} crashes and shutdowns under mixed load`, { timeout: LOOPS * 240_000 }, async () => {
    let server = await t.live();
    const api = async (method: string, path: string, body?: unknown) => {
      const a = await send(server, t.key, method, path, body);
      return { status: a.status, json: a.body ? JSON.parse(a.body) : undefined };
    };
    const agent = async (name: string, parameters: object) => {
      const res = await api('POST', '/v2/agents', { name, model: `mock/${name}`, parameters });
      assert.equal(res.status, 201, JSON.stringify(res.json));
      return res.json.id as string;
    };
    const quick = await agent('quick', { mock_reply: 'ok', mock_latency_ms: 300 });
    const slow = await agent('slow', { mock_reply: 'one two three four five six', mock_latency_ms: 2500 });
    const pipeline = await api('POST', '/v2/pipelines', {
      name: 'loop',
      steps: [
        { id: 'a', agent_id: quick, input: { q: 'a' } },
        { id: 'b', agent_id: slow, depends_on: ['a'], input: { q: '{{ steps.a.output.result }}' } },
      ],
    });
    assert.equal(pipeline.status, 201, JSON.stringify(pipeline.json));
    const pid = pipeline.json.id as string;

    const all: Keyed[] = [];
    for (let round = 0; round < LOOPS; round++) {
      const signal: NodeJS.Signals = round % 2 === 0 ? 'SIGKILL' : 'SIGTERM';
      const batch: Keyed[] = [];
      const add = (kind: Keyed['kind'], path: string, body: unknown) =>
        batch.push({ kind, path, body, idem: `${db}-${round}-${batch.length}` });
      for (let i = 0; i < 3; i++)
        add('sync', '/v2/runs', { agent_id: i ? slow : quick, input: { r: round, i } });
      for (let i = 0; i < 3; i++)
        add('background', '/v2/runs', { agent_id: slow, input: { r: round, i }, background: true });
      for (let i = 0; i < 2; i++)
        add('stream', '/v2/runs', { agent_id: slow, input: { r: round, i }, stream: true });
      add('pipeline', `/v2/pipelines/${pid}/trigger`, { input: { r: round } });
      add('deployment', '/v2/deployments', { agent_id: quick });
      const inFlight = batch.map(async (k) => {
        k.answer = await send(server, t.key, 'POST', k.path, k.body, k.idem);
      });
      await until(
        async () =>
          (await api('GET', '/v2/runs?status=running&limit=100')).json.data.length >= 3 ? true : undefined,
        20_000,
        () => `round ${round}: nothing running`,
      );
      const code = await server.kill(signal);
      await Promise.all(inFlight);
      all.push(...batch);
      if (signal === 'SIGTERM') {
        assert.equal(code, 0, server.output().slice(-2000));
        for (const k of batch) {
          assert.ok(k.answer!.status >= 200 && k.answer!.status < 300, `${k.kind} got ${k.answer!.status}`);
          if (k.kind === 'stream') {
            const events = parseSse(k.answer!.body);
            const ended = events.at(-1);
            assert.ok(
              TERMINAL.some((s) => ended?.event === `run.${s}`) || k.answer!.body.includes('\nretry: '),
              `a stream neither ended with a terminal event nor cleanly: ${k.answer!.body.slice(-300)}`,
            );
          } else JSON.parse(k.answer!.body);
        }
      }
      server = await t.live();
      await settleAndCheck(server, t.key, all, pid);
    }
  });
}

/** Every accepted item terminal; every key answers again with the same object. */
async function settleAndCheck(server: ChildServer, key: string, items: Keyed[], pid: string) {
  const get = async (path: string) => JSON.parse((await send(server, key, 'GET', path)).body);
  for (const k of items) {
    const answered = k.answer!.status >= 200 && k.answer!.status < 300;
    // the key answers again: the stored answer, or one resolved from what the dead request created
    const retry = await until(
      async () => {
        const r = await send(server, key, 'POST', k.path, k.body, k.idem);
        return r.status === 409 ? undefined : r;
      },
      LEASE_MS + 5_000,
      () => `${k.kind} ${k.idem} stays 409 past the idempotency lease`,
    );
    assert.ok(retry.status >= 200 && retry.status < 300, `${k.kind} retry: ${retry.status} ${retry.body}`);
    const first = answered
      ? k.kind === 'stream'
        ? parseSse(k.answer!.body)[0]?.data.run_id
        : JSON.parse(k.answer!.body).id
      : undefined;
    const id = (
      k.kind === 'stream' && retry.body.startsWith('id:')
        ? parseSse(retry.body)[0].data.run_id
        : JSON.parse(retry.body).id
    ) as string;
    if (first) assert.equal(id, first, `${k.kind} ${k.idem}: the retry names another object`);
    const path =
      k.kind === 'pipeline'
        ? `/v2/pipelines/${pid}/runs/${id}`
        : k.kind === 'deployment'
          ? `/v2/deployments/${id}`
          : `/v2/runs/${id}`;
    await until(
      async () => {
        const o = await get(path);
        const done =
          k.kind === 'pipeline'
            ? PIPELINE_FINAL.includes(o.status)
            : k.kind === 'deployment'
              ? !DEPLOYMENT_OPEN.includes(o.status)
              : TERMINAL.includes(o.status);
        return done ? true : undefined;
      },
      30_000,
      () => `${k.kind} ${id} never reached a final state`,
    );
  }
}

forEachDurableTarget('crash and shutdown loop', crashLoop);

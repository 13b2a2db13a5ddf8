/**
 * Live SSE followers joining streamed runs mid-stream see exactly the stored sequence: no gap, no
 * duplicate (issue 19, bug 3: rows handed to a pending group commit were in neither `pending()`
 * nor the database, so a follower subscribing in that window never saw them).
 *
 * Followers join at the moments that matter: each time a run publishes a delta (the test listens on
 * the server's bus), a few more followers subscribe, i.e. while that delta is buffered, being
 * flushed or just committed. `AIRMY_FOLLOWERS` raises the count (the reliability suite's 1,000).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { bearer, createTestApp, forEachDb, type TestApp } from '../support/harness.ts';
import { parseSse } from '../support/sse.ts';

const FOLLOWERS = Number(process.env.AIRMY_FOLLOWERS ?? 500);
const RUNS = 10;
const WORDS = 40;

forEachDb('live followers see every stored event', (target) => {
  let t: TestApp;
  let key: string;
  let agent: string;
  before(async () => {
    t = await createTestApp(target, { env: { AIRMY_WORKER_CONCURRENCY: String(RUNS) } });
    key = (await t.newOrg('enterprise')).key;
    const reply = Array.from({ length: WORDS }, (_, i) => `w${i}`).join(' ');
    agent = await t.newAgent(key, 'chatty', { parameters: { mock_reply: reply, mock_latency_ms: 3000 } });
  });
  after(() => t.close());

  test(`${FOLLOWERS} followers join ${RUNS} streamed runs mid-stream; each equals the stored replay`, async () => {
    const perRun = Math.ceil(FOLLOWERS / RUNS);
    const follows: Promise<{ runId: string; body: string }>[] = [];
    const follow = (runId: string) =>
      follows.push(
        t.app
          .inject({ url: `/v2/runs/${runId}/events`, headers: bearer(key) })
          .then((res) => ({ runId, body: res.body })),
      );
    const unsubscribes: (() => void)[] = [];
    const midStream = new Map<string, number>();
    const streams = Array.from({ length: RUNS }, async () => {
      // the creating stream: read until its first event names the run, then keep draining it
      const creator = await t.app.inject({
        method: 'POST',
        url: '/v2/runs',
        headers: bearer(key),
        payload: { agent_id: agent, input: { q: 1 }, stream: true },
        payloadAsStream: true,
      });
      assert.equal(creator.statusCode, 200);
      const body = creator.stream();
      body.setEncoding('utf8');
      let text = '';
      const runId = await new Promise<string>((resolve, reject) => {
        body.on('data', (chunk: string) => {
          text += chunk;
          const first = /"run_id":"(run_[0-9A-Z]+)"/.exec(text);
          if (first) resolve(first[1]);
        });
        body.on('error', reject);
      });
      follows.push(new Promise((resolve) => body.on('end', () => resolve({ runId, body: text }))));
      let joined = 0;
      // followers join as deltas are published: while each one sits in a buffer or a commit (on a
      // machine so loaded that the run ends first, the rest join after its end, replay only)
      unsubscribes.push(
        t.resources.bus.subscribe(`run:${runId}`, (m) => {
          const e = m as { type: string };
          if (joined >= perRun) return;
          if (e.type === 'run.completed') {
            while (joined < perRun) {
              follow(runId);
              joined++;
            }
            return;
          }
          if (e.type !== 'run.output.delta') return;
          const n = Math.min(Math.ceil(perRun / 8), perRun - joined); // over the first 8 deltas
          for (let i = 0; i < n; i++) follow(runId);
          joined += n;
          midStream.set(runId, (midStream.get(runId) ?? 0) + n);
        }),
      );
      return runId;
    });
    const runIds = await Promise.all(streams);
    // a follower for each run from the start, so every run is watched whatever the timing
    for (const id of runIds) follow(id);
    const bodies: { runId: string; body: string }[] = [];
    // followers started by later deltas are pushed while we wait: drain until none is left
    for (let i = 0; i < follows.length; i++) bodies.push(await follows[i]);
    for (const u of unsubscribes) u();

    const stored = new Map<string, string[]>();
    for (const id of runIds) {
      const replay = parseSse(
        (await t.app.inject({ url: `/v2/runs/${id}/events`, headers: bearer(key) })).body,
      );
      assert.equal(replay.at(-1)!.event, 'run.completed');
      assert.equal(replay.length, WORDS + 3, 'created, started, one delta per word, completed');
      stored.set(
        id,
        replay.map((e) => `${e.id}:${e.event}`),
      );
    }
    let mismatched = 0;
    let firstMismatch = '';
    for (const { runId, body } of bodies) {
      const seen = parseSse(body).map((e) => `${e.id}:${e.event}`);
      const want = stored.get(runId)!;
      if (JSON.stringify(seen) !== JSON.stringify(want)) {
        mismatched++;
        firstMismatch ||= `${runId}: saw ${seen.length} events, stored ${want.length}; missing ${want.filter((x) => !seen.includes(x)).join(',')}`;
      }
    }
    assert.ok(bodies.length >= FOLLOWERS, `${bodies.length} followers ran`);
    for (const id of runIds) assert.ok((midStream.get(id) ?? 0) > 0, `no follower joined ${id} mid-stream`);
    assert.equal(
      mismatched,
      0,
      `${mismatched} of ${bodies.length} followers differ from the replay; ${firstMismatch}`,
    );
  });
});

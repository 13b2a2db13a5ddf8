/**
 * Issue 19, bug 0: one request must not freeze the server. A 1 MiB run of one character and a
 * 100,000-character instruction used to hold the event loop for minutes in token counting (BPE
 * was quadratic in a piece). While such a run executes, /healthz keeps answering and the run
 * completes with a token count.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { bearer, createTestApp, forEachDb, type TestApp } from '../support/harness.ts';

forEachDb('a huge single-character input does not block the event loop', (target) => {
  let t: TestApp;
  let key: string;
  before(async () => {
    t = await createTestApp(target, { env: { AIRMY_SYNC_WAIT_MS: '60000' } });
    key = (await t.newOrg('developer')).key;
  });
  after(() => t.close());

  test('/healthz answers within a second throughout, and the run completes', async () => {
    const agent = await t.newAgent(key, 'huge', { instructions: 'B'.repeat(100_000), guardrails: 'none' });
    const query = 'A'.repeat(1024 * 1024 - 200);
    const payload = JSON.stringify({ agent_id: agent, input: { query } });
    assert.ok(payload.length < 1024 * 1024);

    let done = false;
    const latencies: number[] = [];
    const poll = (async () => {
      while (!done) {
        const started = performance.now();
        const res = await t.app.inject({ url: '/healthz' });
        latencies.push(performance.now() - started);
        assert.equal(res.statusCode, 200);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    })();
    const run = await t.app
      .inject({
        method: 'POST',
        url: '/v2/runs',
        headers: { ...bearer(key), 'content-type': 'application/json' },
        payload,
      })
      .finally(() => {
        done = true;
      });
    await poll;
    assert.equal(run.statusCode, 200, run.body.slice(0, 500));
    const body = run.json();
    assert.equal(body.status, 'completed');
    // 100,000 B's and ~1 M A's are tens of thousands of tokens each, counted, not skipped.
    assert.ok(body.usage.input_tokens > 100_000, `input tokens ${body.usage.input_tokens}`);
    assert.ok(latencies.length >= 3, `healthz was polled ${latencies.length} times`);
    const worst = Math.max(...latencies);
    assert.ok(worst < 1000, `slowest /healthz took ${worst.toFixed(0)} ms`);
  });
});

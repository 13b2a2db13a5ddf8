/**
 * Issue 19, bug 0: one request must not freeze the server. A 1 MiB run of one character and a
 * 100,000-character instruction used to hold the event loop for minutes in token counting (BPE
 * was quadratic in a piece). While such a run executes, /healthz keeps answering and the run
 * completes with a token count. Likewise a guardrail regex that passes the static safety checks
 * but backtracks polynomially (`a*a*a*b`: cubic) must not hold the loop.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { bearer, createTestApp, forEachDb, type TestApp } from '../support/harness.ts';

/** Runs `work` while polling /healthz; returns its result and the slowest /healthz latency. */
async function whilePolling<T>(t: TestApp, work: () => Promise<T>) {
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
  const result = await work().finally(() => {
    done = true;
  });
  await poll;
  return { result, polls: latencies.length, worst: Math.max(...latencies) };
}

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

    const {
      result: run,
      polls,
      worst,
    } = await whilePolling(t, () =>
      t.app.inject({
        method: 'POST',
        url: '/v2/runs',
        headers: { ...bearer(key), 'content-type': 'application/json' },
        payload,
      }),
    );
    assert.equal(run.statusCode, 200, run.body.slice(0, 500));
    const body = run.json();
    assert.equal(body.status, 'completed');
    // 100,000 B's and ~1 M A's are tens of thousands of tokens each, counted, not skipped.
    assert.ok(body.usage.input_tokens > 100_000, `input tokens ${body.usage.input_tokens}`);
    assert.ok(polls >= 3, `healthz was polled ${polls} times`);
    assert.ok(worst < 1000, `slowest /healthz took ${worst.toFixed(0)} ms`);
  });

  test('a polynomial guardrail regex (a*a*a*b) on a long input neither freezes nor is skipped', async () => {
    const policy = await t.app.inject({
      method: 'POST',
      url: '/v2/guardrails/policies',
      headers: bearer(key),
      payload: {
        name: 'cubic',
        extends: 'none',
        rules: [{ kind: 'regex', pattern: 'a*a*a*b', action: 'block' }],
      },
    });
    assert.equal(policy.statusCode, 201, policy.body);
    const agent = await t.newAgent(key, 'cubic', {
      guardrails: policy.json().id,
      parameters: { mock_reply: 'Done.' },
    });
    const send = (query: string) =>
      t.app.inject({
        method: 'POST',
        url: '/v2/runs',
        headers: bearer(key),
        payload: { agent_id: agent, input: { query } },
      });
    const { result, polls, worst } = await whilePolling(t, () => send('a'.repeat(30_000)));
    assert.equal(result.statusCode, 200, result.body.slice(0, 300));
    assert.equal(result.json().status, 'completed');
    assert.ok(polls >= 1 && worst < 1000, `slowest /healthz took ${worst.toFixed(0)} ms`);
    // the rule still works: the same text ending in b is blocked
    const blocked = await send(`${'a'.repeat(30_000)}b`);
    assert.equal(blocked.statusCode, 422, blocked.body.slice(0, 300));
    assert.equal(blocked.json().error.code, 'guardrail_violation');
  });
});

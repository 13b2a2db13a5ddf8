/**
 * Rate-limit headers on every authenticated answer — `RateLimit-Policy: "minute";q=<rpm>;w=60`,
 * `RateLimit: "minute";r=<remaining>;t=<seconds>` (IETF draft -10), and `X-RateLimit-Limit`,
 * `-Remaining`, `-Reset` agreeing with them — and, last of the suite because it spends the
 * organization's bucket, the 429: `rate_limit_exceeded` with `Retry-After` (whole seconds, ≥ 1).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Answer } from '../client.ts';
import { assertError, type Context } from '../context.ts';

/** Bursts above this are not spent by the suite (the 429 case is skipped). */
const MAX_BURST_TO_EXHAUST = 2_000;

function limitHeaders(res: Answer) {
  const policy = /^"minute";q=(\d+);w=60$/.exec(res.header('ratelimit-policy') ?? '');
  assert.ok(policy, `RateLimit-Policy on a ${res.status}: "${res.header('ratelimit-policy')}"`);
  const state = /^"minute";r=(\d+);t=(\d+)$/.exec(res.header('ratelimit') ?? '');
  assert.ok(state, `RateLimit on a ${res.status}: "${res.header('ratelimit')}"`);
  const [q, r, t] = [Number(policy[1]), Number(state[1]), Number(state[2])];
  assert.equal(res.header('x-ratelimit-limit'), String(q), 'X-RateLimit-Limit = q');
  assert.equal(res.header('x-ratelimit-remaining'), String(r), 'X-RateLimit-Remaining = r');
  assert.equal(res.header('x-ratelimit-reset'), String(t), 'X-RateLimit-Reset = t');
  return { q, r, t };
}

export function rateLimitCases(ctx: () => Context) {
  test('every authenticated answer carries the policy and the state, agreeing with each other', async () => {
    const c = ctx();
    const ok = await c.client.request('GET', '/organization', { key: c.key });
    const { q } = limitHeaders(ok);
    assert.equal(q, c.limits.requests_per_minute, 'q is the plan’s requests per minute');
    // error answers of an authenticated request carry them too
    limitHeaders(await c.client.request('GET', '/agents/ag_conformance_missing', { key: c.key }));
    limitHeaders(await c.client.request('GET', '/agents', { key: c.readOnlyToken }));
    limitHeaders(await c.client.request('GET', '/organization', { headers: { cookie: c.cookie } }));
  });

  test('remaining goes down by one per request', async () => {
    const c = ctx();
    const a = limitHeaders(await c.client.request('GET', '/organization', { key: c.key }));
    const b = limitHeaders(await c.client.request('GET', '/organization', { key: c.key }));
    // refill may add one back between the two (one request per 60/q s)
    assert.ok(b.r === a.r - 1 || b.r === a.r, `remaining ${a.r} then ${b.r}`);
    assert.ok(a.r <= c.limits.burst);
  });

  test('past the burst: 429 rate_limit_exceeded, Retry-After ≥ 1 s, RateLimit r=0', async (t) => {
    const c = ctx();
    if (c.limits.burst > MAX_BURST_TO_EXHAUST)
      return t.skip(`burst ${c.limits.burst} is too large to spend here`);
    let limited: Answer | undefined;
    // a few at a time, until the first refusal (at most burst + a margin for refill meanwhile)
    for (let sent = 0; sent < c.limits.burst + 50 && !limited; sent += 10) {
      const batch = await Promise.all(
        Array.from({ length: 10 }, () =>
          c.client.request('GET', '/organization', { key: c.key, allow429: true }),
        ),
      );
      limited = batch.find((r) => r.status === 429);
    }
    assert.ok(limited, `no 429 after ${c.limits.burst + 50} requests`);
    assertError(limited, 429, 'rate_limit_exceeded', 'rate_limit_error');
    const retryAfter = limited.header('retry-after') ?? '';
    assert.match(retryAfter, /^\d+$/, 'Retry-After is whole seconds');
    assert.ok(Number(retryAfter) >= 1);
    const { r } = limitHeaders(limited);
    assert.equal(r, 0);
    // every credential of the organization shares the plan: a session of it is limited too
    const viaCookie = await c.client.request('GET', '/organization', {
      headers: { cookie: c.cookie },
      allow429: true,
    });
    // (refused, or — had a refill come meanwhile — admitted from the same nearly empty bucket, not a fresh one)
    if (viaCookie.status !== 429) {
      assert.equal(viaCookie.status, 200, viaCookie.body);
      const { r: left } = limitHeaders(viaCookie);
      assert.ok(
        left < c.limits.burst / 2,
        `a session of the limited org has ${left} left: its own fresh bucket?`,
      );
    }
  });
}

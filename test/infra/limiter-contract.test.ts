/**
 * The Limiter port's contract (src/infra/limiter/limiter.ts), one suite every adapter passes: the
 * embedded one here; a cluster (Redis) adapter calls `limiterContract` with its own factory.
 * Time is a parameter of `take`, so no case waits.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createMemoryLimiter, type LimitBucket, type Limiter } from '../../src/infra/limiter/limiter.ts';

const FREE = { rpm: 100, burst: 150 };
const T0 = Date.parse('2026-12-06T12:00:00Z');

export function limiterContract(name: string, make: () => Limiter | Promise<Limiter>) {
  describe(`Limiter contract: ${name}`, () => {
    let n = 0;
    const fresh = () => `c${process.pid}-${Date.now()}-${n++}`;
    const bucket = (key: string, policy = FREE): LimitBucket => ({ key, policy });

    test('a bucket admits its burst at once, then refuses with an honest Retry-After', async () => {
      const limiter = await make();
      const b = [bucket(fresh())];
      for (let i = 1; i <= 150; i++) {
        const d = await limiter.take(b, T0);
        assert.equal(d.allowed, true, `request ${i}`);
        assert.equal(d.limit, 100);
        assert.equal(d.remaining, 150 - i);
      }
      const refused = await limiter.take(b, T0);
      assert.equal(refused.allowed, false);
      assert.equal(refused.remaining, 0);
      assert.ok(refused.retryAfterSeconds >= 1);
      // one emission interval (0.6 s) later exactly one more fits
      assert.equal((await limiter.take(b, T0 + 600)).allowed, true);
      assert.equal((await limiter.take(b, T0 + 600)).allowed, false);
      // at Retry-After a refused request is admitted
      assert.equal((await limiter.take(b, T0 + 600 + refused.retryAfterSeconds * 1000)).allowed, true);
    });

    test('buckets are independent', async () => {
      const limiter = await make();
      const a = [bucket(fresh())];
      for (let i = 0; i < 150; i++) await limiter.take(a, T0);
      assert.equal((await limiter.take(a, T0)).allowed, false);
      assert.equal((await limiter.take([bucket(fresh())], T0)).allowed, true);
    });

    test('several buckets: admitted only when all admit; the decision is the binding one', async () => {
      const limiter = await make();
      const key = fresh();
      const org = fresh();
      for (let i = 0; i < 100; i++) await limiter.take([bucket(fresh()), bucket(org)], T0);
      const d = await limiter.take([bucket(key), bucket(org)], T0);
      assert.equal(d.allowed, true);
      assert.equal(d.remaining, 49, 'the org bucket (49 left) binds, not the key (149 left)');
      for (let i = 0; i < 49; i++) await limiter.take([bucket(key), bucket(org)], T0);
      const refused = await limiter.take([bucket(key), bucket(org)], T0);
      assert.equal(refused.allowed, false);
      assert.ok(refused.retryAfterSeconds >= 1);
    });

    test('all or nothing: a request one bucket refuses is taken from none', async () => {
      const limiter = await make();
      const key = fresh();
      const org = fresh();
      for (let i = 0; i < 150; i++) await limiter.take([bucket(org)], T0);
      for (let i = 0; i < 500; i++)
        assert.equal((await limiter.take([bucket(key), bucket(org)], T0)).allowed, false);
      // the key's own bucket was never spent: it alone still has its whole burst
      const alone = await limiter.take([bucket(key)], T0);
      assert.equal(alone.allowed, true);
      assert.equal(alone.remaining, 149);
    });

    test('refused by several: Retry-After is the longest wait, so it is never early', async () => {
      const limiter = await make();
      const slow = fresh();
      const fast = fresh();
      const slowPolicy = { rpm: 1, burst: 1 };
      assert.equal((await limiter.take([bucket(slow, slowPolicy)], T0)).allowed, true);
      for (let i = 0; i < 150; i++) await limiter.take([bucket(fast)], T0);
      const d = await limiter.take([bucket(fast), bucket(slow, slowPolicy)], T0);
      assert.equal(d.allowed, false);
      assert.equal(d.retryAfterSeconds, 60);
      assert.equal(d.limit, 1);
    });
  });
}

limiterContract('memory (embedded)', () => createMemoryLimiter());

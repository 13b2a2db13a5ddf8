/**
 * The Limiter port's contract (src/infra/limiter/limiter.ts), one suite every adapter passes: the
 * embedded one and the cluster one (Redis, src/infra/limiter/redis-limiter.ts, against the real
 * shared Redis with a key prefix per case). Time is a parameter of `take` (the Redis adapter is
 * told to use it instead of Redis TIME, `clock: 'caller'`), so no case waits. Then what only the
 * Redis adapter has: Redis's own clock, concurrency from several connections, a restarted Redis
 * (NOSCRIPT), and the failure policy when Redis is gone.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ApiError } from '../../src/errors.ts';
import { parseFailurePolicy, withFailurePolicy } from '../../src/infra/limiter/failure-policy.ts';
import { createMemoryLimiter, type LimitBucket, type Limiter } from '../../src/infra/limiter/limiter.ts';
import { createRedisLimiter } from '../../src/infra/limiter/redis-limiter.ts';
import { connectRedis, type RedisClient, whenReady } from '../../src/infra/redis/client.ts';
import { REDIS_URL, redisReachable, startOwnRedis } from '../support/redis.ts';

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

const prefix = () => `airmy-test:${process.pid}:${Math.random().toString(36).slice(2)}:`;

describe('Redis limiter', async () => {
  if (!(await redisReachable('Redis limiter'))) return;
  let redis: RedisClient;
  before(async () => {
    redis = connectRedis(REDIS_URL, 'airmy-test');
    await whenReady(redis);
  });
  after(() => redis.quit());

  limiterContract('redis (cluster)', () => createRedisLimiter({ redis, prefix: prefix(), clock: 'caller' }));

  test("with Redis's clock (the default) the caller's clock does not matter", async () => {
    const limiter = createRedisLimiter({ redis, prefix: prefix() });
    const b = [{ key: 'k', policy: { rpm: 1, burst: 3 } }];
    // callers whose clocks are an hour apart spend the same bucket
    for (const now of [0, Date.now() + 3_600_000, Date.now() - 3_600_000])
      assert.equal((await limiter.take(b, now)).allowed, true);
    const refused = await limiter.take(b, Date.now() + 86_400_000);
    assert.equal(refused.allowed, false);
    assert.ok(refused.retryAfterSeconds >= 59 && refused.retryAfterSeconds <= 60);
  });

  test('concurrent takes from several connections admit exactly the burst', async () => {
    const conns = await Promise.all(
      [1, 2, 3, 4].map(async () => {
        const c = connectRedis(REDIS_URL, 'airmy-test');
        await whenReady(c);
        return c;
      }),
    );
    try {
      const p = prefix();
      const limiters = conns.map((c) => createRedisLimiter({ redis: c, prefix: p }));
      const b = [
        { key: 'key', policy: { rpm: 6, burst: 40 } },
        { key: 'org', policy: { rpm: 6, burst: 40 } },
      ];
      const answers = await Promise.all(
        Array.from({ length: 200 }, (_, i) => limiters[i % 4]!.take(b, Date.now())),
      );
      assert.equal(answers.filter((a) => a.allowed).length, 40);
      assert.deepEqual(
        answers
          .filter((a) => a.allowed)
          .map((a) => a.remaining)
          .sort((x, y) => x - y),
        Array.from({ length: 40 }, (_, i) => i),
        'each admitted request saw its own remaining count',
      );
    } finally {
      await Promise.all(conns.map((c) => c.quit()));
    }
  });

  test('idle buckets expire: each key carries a TTL no longer than its refill', async () => {
    const p = prefix();
    const limiter = createRedisLimiter({ redis, prefix: p });
    await limiter.take([{ key: 'k', policy: { rpm: 60, burst: 10 } }], 0);
    const ttl = await redis.pttl(`${p}k`);
    assert.ok(ttl > 0 && ttl <= 1_000, `ttl ${ttl}`);
  });

  test('a restarted Redis (script cache gone) is used again at once, then the failure policy', async () => {
    const own = await startOwnRedis();
    const conn = connectRedis(own.url, 'airmy-test');
    try {
      await whenReady(conn);
      const failures: string[] = [];
      const limiter = withFailurePolicy({
        primary: createRedisLimiter({ redis: conn }),
        policy: parseFailurePolicy(undefined) as never,
        onFailure: (mode) => failures.push(mode),
      });
      const b = [{ key: 'k', policy: { rpm: 60, burst: 2 } }];
      assert.equal((await limiter.take(b, Date.now(), 'write')).allowed, true);
      await conn.script('FLUSH');
      assert.equal((await limiter.take(b, Date.now(), 'write')).allowed, true, 'NOSCRIPT → loaded again');
      await own.stop();
      // down: reads fall back to this process's buckets (open), writes are refused 503 (closed)
      const read = await limiter.take(b, Date.now(), 'read');
      assert.equal(read.allowed, true);
      await assert.rejects(
        async () => limiter.take(b, Date.now(), 'write'),
        (err) => err instanceof ApiError && err.status === 503 && err.headers['retry-after'] === '1',
      );
      assert.deepEqual(failures, ['open', 'closed']);
      await own.start();
      await whenReady(conn, 5_000);
      assert.equal((await limiter.take(b, Date.now(), 'write')).allowed, true, 'back to Redis');
      assert.equal(failures.length, 2);
    } finally {
      conn.disconnect();
      await own.stop();
    }
  });
});

test('a hung Redis (SIGSTOP): one take waits out the command timeout, the next are answered at once; SIGCONT → back', async (t) => {
  if (!(await redisReachable('hung Redis'))) return t.skip('no redis-server');
  const own = await startOwnRedis();
  const conn = connectRedis(own.url, 'airmy-test');
  const failures: string[] = [];
  try {
    await whenReady(conn);
    const limiter = withFailurePolicy({
      primary: createRedisLimiter({ redis: conn }),
      policy: { read: 'open', write: 'closed' },
      onFailure: (mode) => failures.push(mode),
    });
    const b = [{ key: 'k', policy: { rpm: 60, burst: 100 } }];
    assert.equal((await limiter.take(b, Date.now(), 'read')).allowed, true);
    process.kill(own.pid(), 'SIGSTOP');
    const timed = async (kind: 'read' | 'write') => {
      const t0 = performance.now();
      try {
        return { answer: (await limiter.take(b, Date.now(), kind)).allowed, ms: performance.now() - t0 };
      } catch (err) {
        return { answer: (err as ApiError).status, ms: performance.now() - t0 };
      }
    };
    const first = await timed('write');
    const next = await timed('write');
    const read = await timed('read');
    console.log(`# hung Redis: first take ${first.ms.toFixed(0)} ms, next ${next.ms.toFixed(1)} ms`);
    assert.equal(first.answer, 503);
    assert.equal(next.answer, 503);
    assert.equal(read.answer, true, 'reads open on local buckets');
    assert.ok(next.ms < first.ms, 'the trip answers without waiting for the command timeout');
    process.kill(own.pid(), 'SIGCONT');
    const until = Date.now() + 10_000;
    let back = false;
    while (!back && Date.now() < until) {
      const r = await timed('write');
      back = r.answer === true;
      if (!back) await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(back, 'writes admitted again once Redis answers');
  } finally {
    try {
      process.kill(own.pid(), 'SIGCONT');
    } catch {}
    conn.disconnect();
    await own.stop();
  }
});

test('AIRMY_LIMITER_FAILURE parsing', () => {
  assert.deepEqual(parseFailurePolicy(undefined), { read: 'open', write: 'closed' });
  assert.deepEqual(parseFailurePolicy('open'), { read: 'open', write: 'open' });
  assert.deepEqual(parseFailurePolicy('closed'), { read: 'closed', write: 'closed' });
  assert.deepEqual(parseFailurePolicy('reads:closed'), { read: 'closed', write: 'closed' });
  assert.deepEqual(parseFailurePolicy('writes:open,reads:open'), { read: 'open', write: 'open' });
  assert.equal(typeof parseFailurePolicy('sometimes'), 'string');
});

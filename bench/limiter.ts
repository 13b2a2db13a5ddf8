/**
 * `npm run bench -- limiter`: what a rate-limit check costs per request, embedded (the in-memory
 * GCRA, synchronous) against cluster mode (the Redis Lua script: one round trip to the Redis at
 * AIRMY_BENCH_REDIS_URL, default the machine's 127.0.0.1:6379, keys under a throwaway prefix), both
 * measured in this run, in this process. Two figures each: one take at a time (latency) and 50 in
 * flight (throughput, as 50 concurrent requests of one node would ask). The gateway asks once per
 * authenticated request, with two buckets (key and organization), as here.
 */
import { performance } from 'node:perf_hooks';
import { createMemoryLimiter, type LimitBucket, type Limiter } from '../src/infra/limiter/limiter.ts';
import { createRedisLimiter } from '../src/infra/limiter/redis-limiter.ts';
import { connectRedis, whenReady } from '../src/infra/redis/client.ts';

const REDIS_URL = process.env.AIRMY_BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
const KEYS = 1_000;
const policy = { rpm: 100_000_000, burst: 100_000_000 };
const buckets = (i: number): LimitBucket[] => [
  { key: `key:k${i % KEYS}`, policy },
  { key: `org:o${i % 10}`, policy },
];

async function measure(limiter: Limiter, seconds: number, inFlight: number) {
  let n = 0;
  const end = performance.now() + seconds * 1000;
  const lane = async () => {
    while (performance.now() < end) {
      await limiter.take(buckets(n), Date.now(), 'write');
      n++;
    }
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: inFlight }, lane));
  const ms = performance.now() - t0;
  return { perSecond: (n / ms) * 1000, usPerTake: (ms * 1000 * inFlight) / n };
}

export async function limiterBench(seconds = 2): Promise<string> {
  const redis = connectRedis(REDIS_URL, 'airmy-bench');
  try {
    await whenReady(redis, 5_000);
  } catch {
    redis.disconnect();
    return `\nlimiter: skipped (no Redis at ${REDIS_URL})\n`;
  }
  try {
    const prefix = `airmy-bench:${process.pid}:`;
    const rows: string[][] = [];
    for (const inFlight of [1, 50]) {
      const memory = await measure(createMemoryLimiter(), seconds, inFlight);
      const shared = await measure(createRedisLimiter({ redis, prefix }), seconds, inFlight);
      rows.push(
        [
          `embedded (memory), ${inFlight} in flight`,
          memory.perSecond.toFixed(0),
          memory.usPerTake.toFixed(1),
          '1.00',
        ],
        [
          `cluster (Redis script), ${inFlight} in flight`,
          shared.perSecond.toFixed(0),
          shared.usPerTake.toFixed(1),
          (shared.perSecond / memory.perSecond).toFixed(4),
        ],
      );
    }
    const header = ['limiter take() (2 buckets)', 'takes/s', 'µs per take (latency)', 'ratio (takes/s)'];
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
    const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
    return `\n${line(header)}\n| ${widths.map((w) => '-'.repeat(w)).join(' | ')} |\n${rows.map(line).join('\n')}\n`;
  } finally {
    await redis.quit();
  }
}

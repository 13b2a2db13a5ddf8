/**
 * The Limiter port on Redis (cluster mode): the GCRA of limiter.ts, every bucket of a request in
 * ONE Lua script, so the read-decide-write of all of them is atomic across every node (Redis runs
 * a script alone). One key per bucket holding its TAT in milliseconds, with a TTL equal to the
 * time until the bucket is full again: a full bucket and a missing key mean the same thing, so
 * idle keys cost no memory.
 *
 * The clock is Redis's own (`TIME`): every node measures against one clock, so a node whose clock
 * runs ahead cannot refill buckets early, nor one behind drain them. (Redis 5+ replicates a script's
 * effects, not the script, so reading TIME in a script is allowed.) The caller's `now` is used only
 * with `clock: 'caller'` — the contract tests, which move time by hand.
 *
 * The script mirrors `gcraAll` line by line (same double arithmetic, same tie-breaks), so both
 * adapters give the same answers and the same `RateLimit-*` / `Retry-After` headers.
 *
 * A failure (Redis unreachable, a timeout) rejects with `LimiterUnavailable`; what the request then
 * gets is the failure policy's decision (failure-policy.ts), not this adapter's.
 */
import type { LimitBucket, LimitDecision, Limiter } from './limiter.ts';

/** KEYS: one per bucket. ARGV[1]: caller's now in ms, or '' for Redis TIME; then rpm, burst per bucket. */
const TAKE_SCRIPT = `
local now
if ARGV[1] ~= '' then
  now = tonumber(ARGV[1])
else
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local refused = false
local b_limit, b_remaining, b_reset, b_retry
local nexts = {}
for i = 1, #KEYS do
  local rpm = tonumber(ARGV[2 * i])
  local burst = tonumber(ARGV[2 * i + 1])
  local interval = 60000 / rpm
  local capacity = interval * burst
  local tat = tonumber(redis.call('GET', KEYS[i]) or '')
  local base = now
  if tat ~= nil and tat > now then base = tat end
  local nxt = base + interval
  local used = nxt - now
  nexts[i] = nxt
  if used > capacity then
    local retry = math.max(1, math.ceil((used - capacity) / 1000))
    if (not refused) or retry > b_retry then
      b_limit = rpm
      b_remaining = 0
      b_reset = math.ceil((base - now) / 1000)
      b_retry = retry
    end
    refused = true
  elseif not refused then
    local remaining = math.floor((capacity - used) / interval)
    if b_limit == nil or remaining < b_remaining then
      b_limit = rpm
      b_remaining = remaining
      b_reset = math.ceil(used / 1000)
      b_retry = 0
    end
  end
end
if not refused then
  for i = 1, #KEYS do
    redis.call('SET', KEYS[i], string.format('%.17g', nexts[i]), 'PX', math.max(1, math.ceil(nexts[i] - now)))
  end
end
if refused then return {0, b_limit, b_remaining, b_reset, b_retry} end
return {1, b_limit, b_remaining, b_reset, b_retry}
`;

/** Redis could not answer: the failure policy decides (failure-policy.ts). */
export class LimiterUnavailable extends Error {
  override name = 'LimiterUnavailable';
}

/** The part of an ioredis client this adapter uses (so a test can hand in any connection). */
export interface RedisLike {
  readonly status: string;
  evalsha(sha: string, numKeys: number, ...args: (string | number)[]): Promise<unknown>;
  eval(script: string, numKeys: number, ...args: (string | number)[]): Promise<unknown>;
  script(subcommand: 'LOAD', script: string): Promise<unknown>;
}

export interface RedisLimiterOptions {
  redis: RedisLike;
  /** key prefix; one per test keeps tests on a shared Redis apart */
  prefix?: string;
  /** 'redis' (default): Redis TIME; 'caller': the `now` passed to take (tests) */
  clock?: 'redis' | 'caller';
}

export function createRedisLimiter({ redis, prefix = 'airmy:rl:', clock = 'redis' }: RedisLimiterOptions) {
  let sha: string | null = null;

  async function run(keys: string[], args: (string | number)[]): Promise<unknown> {
    if (sha !== null) {
      try {
        return await redis.evalsha(sha, keys.length, ...keys, ...args);
      } catch (err) {
        // a restarted (or flushed) Redis forgot the script: load it again below
        if (!String((err as Error).message).includes('NOSCRIPT')) throw err;
        sha = null;
      }
    }
    sha = String(await redis.script('LOAD', TAKE_SCRIPT));
    return redis.evalsha(sha, keys.length, ...keys, ...args);
  }

  const limiter: Limiter & { readonly ready: boolean } = {
    /** false while disconnected: the failure policy answers without trying (no wait at all) */
    get ready() {
      return redis.status === 'ready';
    },
    async take(buckets: readonly LimitBucket[], now: number): Promise<LimitDecision> {
      if (buckets.length === 0) throw new Error('Limiter.take needs at least one bucket');
      if (redis.status !== 'ready') throw new LimiterUnavailable(`Redis is ${redis.status}`);
      const keys = buckets.map((b) => prefix + b.key);
      const args: (string | number)[] = [clock === 'caller' ? String(now) : ''];
      for (const b of buckets) args.push(b.policy.rpm, b.policy.burst);
      let reply: unknown;
      try {
        reply = await run(keys, args);
      } catch (err) {
        throw new LimiterUnavailable((err as Error).message, { cause: err });
      }
      const [allowed, limit, remaining, reset, retry] = reply as number[];
      return {
        allowed: allowed === 1,
        limit: limit!,
        remaining: remaining!,
        resetSeconds: reset!,
        retryAfterSeconds: retry!,
      };
    },
  };
  return limiter;
}

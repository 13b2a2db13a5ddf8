/**
 * Cluster mode's Redis adapters, built together: the shared limiter (behind its failure policy)
 * and the bus, on two connections per process — one for commands (the limiter's script, PUBLISH)
 * and one in subscriber mode. Loaded by dynamic import from src/resources.ts only when
 * AIRMY_REDIS_URL is set, so the embedded server never loads ioredis.
 */
import { createRedisBus } from '../bus/redis-bus.ts';
import { type FailureMode, type FailurePolicy, withFailurePolicy } from '../limiter/failure-policy.ts';
import type { Limiter } from '../limiter/limiter.ts';
import { createRedisLimiter } from '../limiter/redis-limiter.ts';
import { connectRedis, whenReady } from './client.ts';

/** At most one "Redis is unreachable" line per this long per process, however many requests fail. */
const LOG_EVERY_MS = 10_000;
/** Start-up waits this long for Redis (as it waits for the database), then fails with a clear line. */
const START_TIMEOUT_MS = 10_000;

export interface RedisAdapterHooks {
  policy: FailurePolicy;
  /** one per request the failure policy decided (a Prometheus counter) */
  onLimiterFailure: (mode: FailureMode) => void;
  /** one per message that could not be published (a Prometheus counter) */
  onPublishFailure: () => void;
  warn: (fields: Record<string, unknown>, message: string) => void;
  info: (fields: Record<string, unknown>, message: string) => void;
}

export async function createRedisAdapters(url: string, hooks: RedisAdapterHooks) {
  let lastLog = 0;
  let suppressed = 0;
  let down = false;
  /** rate-limited: the first failure is logged at once, then a summary at most every LOG_EVERY_MS */
  const failed = (what: string, err: unknown) => {
    down = true;
    const now = Date.now();
    if (now - lastLog < LOG_EVERY_MS) {
      suppressed++;
      return;
    }
    hooks.warn(
      { err: (err as Error)?.message ?? String(err), suppressed, policy: hooks.policy },
      `redis: ${what} failed; Redis is unreachable (limiter failure policy applies, bus messages are dropped)`,
    );
    lastLog = now;
    suppressed = 0;
  };
  const commands = connectRedis(url, 'airmy', (err) => failed('connection', err));
  const subscriber = connectRedis(url, 'airmy-sub', (err) => failed('subscriber connection', err));
  commands.on('ready', () => {
    if (!down) return;
    down = false;
    hooks.info({ suppressed }, 'redis: reachable again; shared limiter and bus restored');
  });
  try {
    await Promise.all([whenReady(commands, START_TIMEOUT_MS), whenReady(subscriber, START_TIMEOUT_MS)]);
  } catch {
    commands.disconnect();
    subscriber.disconnect();
    throw new Error(`AIRMY_REDIS_URL: Redis is not reachable (waited ${START_TIMEOUT_MS / 1000} s)`);
  }
  const limiter: Limiter = withFailurePolicy({
    primary: createRedisLimiter({ redis: commands }),
    policy: hooks.policy,
    onFailure: (mode, err) => {
      hooks.onLimiterFailure(mode);
      failed('rate-limit check', err);
    },
  });
  const bus = createRedisBus({
    publisher: commands,
    subscriber,
    onPublishFailure: (err) => {
      hooks.onPublishFailure();
      failed('publish', err);
    },
  });
  return {
    limiter,
    bus,
    /** readiness: the command connection answers PING and the subscriber is connected */
    async ping(): Promise<boolean> {
      try {
        await commands.ping();
        return subscriber.status === 'ready';
      } catch {
        return false;
      }
    },
    async close() {
      await bus.close();
      await Promise.allSettled([commands.quit(), subscriber.quit()]);
      commands.disconnect();
      subscriber.disconnect();
    },
  };
}
export type RedisAdapters = Awaited<ReturnType<typeof createRedisAdapters>>;

/**
 * Redis connections for the cluster adapters (limiter, bus), with the options that make a Redis
 * outage cost an answer, never a hang or a crash:
 *
 * - `enableOfflineQueue: false`: while disconnected a command fails at once instead of waiting in
 *   a queue (a request would otherwise hang until the reconnect, then replay stale work);
 * - `commandTimeout`: a connected but unresponsive server (paused, overloaded) fails a command
 *   after COMMAND_TIMEOUT_MS;
 * - `maxRetriesPerRequest: 0`: a command lost with its connection is not re-sent after the
 *   reconnect (a rate-limit take replayed later would spend a bucket twice);
 * - `retryStrategy`: reconnect forever, quickly (at most RECONNECT_MAX_MS apart), so service is
 *   back within about a second of Redis coming back;
 * - an `error` listener: ioredis emits `error` on every failed connection attempt, and an
 *   EventEmitter `error` without a listener would crash the process.
 *
 * This module imports ioredis, so it is only ever loaded by dynamic import in cluster mode
 * (src/resources.ts): the embedded server never loads it.
 */
import { Redis } from 'ioredis';

export const COMMAND_TIMEOUT_MS = 500;
const CONNECT_TIMEOUT_MS = 1_000;
const RECONNECT_MAX_MS = 500;

export type RedisClient = Redis;

export function connectRedis(
  url: string,
  name: string,
  onError: (err: Error) => void = () => {},
): RedisClient {
  const redis = new Redis(url, {
    connectionName: name,
    enableOfflineQueue: false,
    commandTimeout: COMMAND_TIMEOUT_MS,
    connectTimeout: CONNECT_TIMEOUT_MS,
    maxRetriesPerRequest: 0,
    autoResubscribe: false,
    retryStrategy: (times) => Math.min(50 * times, RECONNECT_MAX_MS),
    disableClientInfo: true,
  });
  redis.on('error', onError);
  return redis;
}

/** Resolves once connected (or rejects after `ms`): start-up waits for Redis like it does for the database. */
export function whenReady(redis: RedisClient, ms = 10_000): Promise<void> {
  if (redis.status === 'ready') return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      redis.off('ready', ready);
      reject(new Error(`Redis not reachable within ${ms} ms`));
    }, ms);
    const ready = () => {
      clearTimeout(timer);
      resolve();
    };
    redis.once('ready', ready);
  });
}

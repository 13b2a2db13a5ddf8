/**
 * What a request gets when the shared (Redis) limiter cannot answer: AIRMY_LIMITER_FAILURE.
 *
 * - `open`: the request is admitted as far as THIS node's own in-memory GCRA allows (the embedded
 *   limiter, same plan limits). Never unlimited: across N nodes a key gets at most N times its plan
 *   while Redis is away, and the usual headers and 429s still apply.
 * - `closed`: the request is refused `503 limiter_unavailable` with `Retry-After: 1` (not a 429:
 *   the client is not over its limit, the server cannot tell).
 *
 * The policy is per route class, and the default is `reads:open,writes:closed`:
 * - reads (GET, HEAD, OPTIONS) are cheap and repeatable; refusing them would turn a Redis blip
 *   into an outage of every dashboard and event stream (SSE), for no protection worth having;
 * - writes (above all POST /v2/runs) spend model-provider money and create work that outlives the
 *   request; admitting them against per-node buckets lets a client that spreads its requests over
 *   N nodes spend N plans, and a Redis outage is short (the client retries after 1 s; SDKs do).
 *   An operator who prefers availability sets `AIRMY_LIMITER_FAILURE=open`.
 *
 * Whatever the policy: no request waits for a Redis that is down (the adapter answers at once while
 * disconnected; when it hangs, the first request within COMMAND_TIMEOUT_MS and the next ones at once
 * for TRIP_MS), no error becomes a 500, and `onFailure`
 * is told (a Prometheus counter, a rate-limited log line). Service is back as soon as ioredis has
 * reconnected (within about a second of Redis returning): nothing here remembers the outage.
 */
import { ApiError, ErrorTypes } from '../../errors.ts';
import { createMemoryLimiter, type Limiter, type RequestKind } from './limiter.ts';

export type FailureMode = 'open' | 'closed';
export interface FailurePolicy {
  read: FailureMode;
  write: FailureMode;
}

export const DEFAULT_FAILURE_POLICY: FailurePolicy = Object.freeze({ read: 'open', write: 'closed' });

/** `open`, `closed`, or `reads:<mode>,writes:<mode>` (either part may be left out: its default stays). */
export function parseFailurePolicy(raw: string | undefined): FailurePolicy | string {
  if (raw === undefined || raw.trim() === '') return DEFAULT_FAILURE_POLICY;
  const v = raw.trim().toLowerCase();
  if (v === 'open' || v === 'closed') return { read: v, write: v };
  const policy = { ...DEFAULT_FAILURE_POLICY };
  for (const part of v.split(',')) {
    const m = /^\s*(reads|writes)\s*:\s*(open|closed)\s*$/.exec(part);
    if (!m) return `must be open, closed, or reads:open|closed,writes:open|closed (got "${raw}")`;
    policy[m[1] === 'reads' ? 'read' : 'write'] = m[2] as FailureMode;
  }
  return policy;
}

export const limiterUnavailable = () =>
  new ApiError(
    503,
    ErrorTypes.api,
    'limiter_unavailable',
    'The rate limiter is unreachable, so this request cannot be admitted now; retry shortly',
    { headers: { 'retry-after': '1' } },
  );

export interface ResilientLimiterOptions {
  /** the shared limiter; `ready` false means it is known to be down (no attempt is made) */
  primary: Limiter & { readonly ready?: boolean };
  policy: FailurePolicy;
  /** every request the policy decided instead of the primary */
  onFailure: (mode: FailureMode, err: unknown) => void;
}

/**
 * After a timed-out take (Redis connected but not answering: paused, overloaded), the primary is not
 * asked again for this long: requests get the policy's answer at once instead of each waiting out
 * its own command timeout. One request per trip then probes it again.
 */
export const TRIP_MS = 1_000;

const isTimeout = (err: unknown) => /timed out/i.test(String((err as Error)?.message ?? err));

export function withFailurePolicy({ primary, policy, onFailure }: ResilientLimiterOptions): Limiter {
  // the node-local buckets `open` falls back to; they start full, as after a restart
  const local = createMemoryLimiter();
  let trippedUntil = 0;
  return {
    take(buckets, now, kind: RequestKind = 'write') {
      const fail = (err: unknown) => {
        if (isTimeout(err)) trippedUntil = Date.now() + TRIP_MS;
        const mode = policy[kind];
        onFailure(mode, err);
        if (mode === 'closed') throw limiterUnavailable();
        return local.take(buckets, now);
      };
      // known down: answered at once, without an attempt (a sync throw is the gateway's 503)
      if (primary.ready === false) return fail(new Error('limiter offline'));
      if (trippedUntil !== 0) {
        if (Date.now() < trippedUntil) return fail(new Error('limiter not answering (tripped)'));
        trippedUntil = 0;
      }
      let answer: ReturnType<Limiter['take']>;
      try {
        answer = primary.take(buckets, now, kind);
      } catch (err) {
        return fail(err);
      }
      return answer instanceof Promise ? answer.catch(fail) : answer;
    },
  };
}

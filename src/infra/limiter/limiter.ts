/**
 * The Limiter port: GCRA (the generic cell rate algorithm, a token bucket without a refill timer).
 * One number per key — the theoretical arrival time (TAT) — so the embedded adapter is a Map and the
 * cluster one a single Redis key per bucket.
 *
 * With emission interval T = 60 s / rpm and capacity `burst`, a request at `now` is admitted when
 * max(TAT, now) + T - now <= burst * T. So `burst` requests fit in one instant, and after that one
 * more every T. Retry-After is the wait until the next request would fit, rounded up to whole seconds.
 */
export interface LimitPolicy {
  /** sustained requests per minute (bucket refill) */
  rpm: number;
  /** bucket capacity */
  burst: number;
}

export interface LimitDecision {
  allowed: boolean;
  limit: number;
  remaining: number;
  /** seconds until the bucket is full again */
  resetSeconds: number;
  /** seconds to wait before retrying; 0 when allowed */
  retryAfterSeconds: number;
}

export interface Limiter {
  /** The embedded adapter answers synchronously (every request asks); a remote one with a promise. */
  take(key: string, policy: LimitPolicy, now: number): LimitDecision | Promise<LimitDecision>;
}

/** Pure GCRA step shared by both adapters: returns the decision and the new TAT to store. */
export function gcra(
  tat: number | undefined,
  policy: LimitPolicy,
  now: number,
): { decision: LimitDecision; tat: number } {
  const interval = 60_000 / policy.rpm;
  const capacity = interval * policy.burst;
  const base = Math.max(tat ?? now, now);
  const next = base + interval;
  const used = next - now;
  if (used > capacity) {
    const waitMs = used - capacity;
    return {
      tat: base,
      decision: {
        allowed: false,
        limit: policy.rpm,
        remaining: 0,
        resetSeconds: Math.ceil((base - now) / 1000),
        retryAfterSeconds: Math.max(1, Math.ceil(waitMs / 1000)),
      },
    };
  }
  return {
    tat: next,
    decision: {
      allowed: true,
      limit: policy.rpm,
      remaining: Math.floor((capacity - used) / interval),
      resetSeconds: Math.ceil(used / 1000),
      retryAfterSeconds: 0,
    },
  };
}

/** Embedded adapter. Buckets that have refilled completely are dropped, so memory tracks active keys. */
export function createMemoryLimiter(): Limiter {
  const tats = new Map<string, number>();
  let sweepAt = 0;
  return {
    take(key, policy, now) {
      if (now >= sweepAt) {
        for (const [k, t] of tats) if (t <= now) tats.delete(k);
        sweepAt = now + 60_000;
      }
      const { decision, tat } = gcra(tats.get(key), policy, now);
      tats.set(key, tat);
      return decision;
    },
  };
}

/**
 * The Limiter port: GCRA (the generic cell rate algorithm, a token bucket without a refill timer).
 * One number per key — the theoretical arrival time (TAT) — so the embedded adapter is a Map and the
 * cluster one a single Redis key per bucket.
 *
 * With emission interval T = 60 s / rpm and capacity `burst`, a request at `now` is admitted when
 * max(TAT, now) + T - now <= burst * T. So `burst` requests fit in one instant, and after that one
 * more every T. Retry-After is the wait until the next request would fit, rounded up to whole seconds.
 *
 * A request may count against several buckets at once (the gateway uses two: its API key's and its
 * organization's, so minting more keys does not multiply a plan). `take` is all or nothing: the
 * request is admitted only when every bucket admits it, and then taken from each; refused, it takes
 * from none (a refusal by the organization's bucket must not spend the key's). The answer is the
 * binding bucket's: when refused, the refusing one with the longest wait (so Retry-After is never
 * early); when admitted, the one with the fewest requests left. A cluster adapter does the same in
 * one atomic step (a Redis script over every bucket's key).
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

export interface LimitBucket {
  key: string;
  policy: LimitPolicy;
}

/** What kind of request asks: a remote adapter's failure policy may treat them apart (failure-policy.ts). */
export type RequestKind = 'read' | 'write';

export interface Limiter {
  /**
   * One request against every bucket, all or nothing; the binding bucket's decision. The embedded
   * adapter answers synchronously (every request asks); a remote one with a promise.
   */
  take(
    buckets: readonly LimitBucket[],
    now: number,
    kind?: RequestKind,
  ): LimitDecision | Promise<LimitDecision>;
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

/**
 * Pure all-or-nothing step over several buckets, shared by both adapters: the binding decision and
 * the TATs to store (null when refused: nothing changes).
 */
export function gcraAll(
  tats: readonly (number | undefined)[],
  buckets: readonly LimitBucket[],
  now: number,
): { decision: LimitDecision; tats: number[] | null } {
  let binding: LimitDecision | undefined;
  let refused = false;
  const next: number[] = [];
  for (let i = 0; i < buckets.length; i++) {
    const step = gcra(tats[i], buckets[i]!.policy, now);
    next.push(step.tat);
    const d = step.decision;
    if (!d.allowed) {
      if (!refused || d.retryAfterSeconds > binding!.retryAfterSeconds) binding = d;
      refused = true;
    } else if (!refused && (binding === undefined || d.remaining < binding.remaining)) {
      binding = d;
    }
  }
  if (binding === undefined) throw new Error('Limiter.take needs at least one bucket');
  return { decision: binding, tats: refused ? null : next };
}

/** Embedded adapter. Buckets that have refilled completely are dropped, so memory tracks active keys. */
export function createMemoryLimiter(): Limiter {
  const tats = new Map<string, number>();
  let sweepAt = 0;
  return {
    take(buckets, now) {
      if (now >= sweepAt) {
        for (const [k, t] of tats) if (t <= now) tats.delete(k);
        sweepAt = now + 60_000;
      }
      const step = gcraAll(
        buckets.map((b) => tats.get(b.key)),
        buckets,
        now,
      );
      if (step.tats !== null) {
        for (let i = 0; i < buckets.length; i++) tats.set(buckets[i]!.key, step.tats[i]!);
      }
      return step.decision;
    },
  };
}

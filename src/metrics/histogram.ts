/**
 * The latency histogram: fixed, log-linear buckets, so histograms of any minutes, hours or series
 * merge by adding bucket counts — a percentile over a week is a sum of stored counts, never a
 * re-read of the runs.
 *
 * Buckets (latency in whole milliseconds): 0–31 ms get one bucket per millisecond (exact); above,
 * every power of two is cut into 32 equal sub-buckets, so a bucket spans at most 1/32 of its lower
 * bound (≤ 3.2 % relative width). Values beyond 2^32 − 1 ms (49 days) share the last bucket.
 *
 * Percentile method — nearest rank over the merged histogram: with n samples the p-th percentile
 * is the sample of rank k = ceil(p·n / 100) (k ≥ 1) in ascending order; we find the bucket holding
 * rank k and report that bucket's upper bound, capped at the largest sample of the set (known
 * exactly from the rollups). For values under 32 ms that is the exact nearest-rank sample.
 * Equivalently, from raw samples: `min(upperBound(bucketOf(sorted[k − 1])), max)`.
 */

const SUB_BITS = 5;
const SUB = 1 << SUB_BITS; // 32 sub-buckets per power of two; values < 32 are exact
const MAX_VALUE = 2 ** 32 - 1;

/** The bucket index of a latency in ms (negative and fractional values are clamped / rounded). */
export function bucketOf(ms: number): number {
  const v = Math.min(MAX_VALUE, Math.max(0, Math.round(ms)));
  if (v < SUB) return v;
  const e = 31 - Math.clz32(v); // floor(log2 v) ≥ SUB_BITS
  const shift = e - SUB_BITS;
  const sub = Math.floor(v / 2 ** shift) - SUB; // 0..31
  return SUB + shift * SUB + sub;
}

/** The largest latency (ms) that falls in bucket `index`. */
export function upperBound(index: number): number {
  if (index < SUB) return index;
  const shift = Math.floor((index - SUB) / SUB);
  const sub = (index - SUB) % SUB;
  return (SUB + sub) * 2 ** shift + 2 ** shift - 1;
}

/** Nearest-rank position (1-based) of the p-th percentile among n samples. */
export function nearestRank(p: number, n: number): number {
  return Math.max(1, Math.ceil((p * n) / 100));
}

/**
 * The p-th percentile of a merged histogram (bucket index → count), per the method above; null
 * when it holds no samples.
 */
export function percentile(buckets: Map<number, number>, p: number, max: number | null): number | null {
  let n = 0;
  for (const c of buckets.values()) n += c;
  if (n === 0) return null;
  const rank = nearestRank(p, n);
  let seen = 0;
  for (const [index, count] of [...buckets.entries()].sort((a, b) => a[0] - b[0])) {
    seen += count;
    if (seen >= rank) {
      const upper = upperBound(index);
      return max === null ? upper : Math.min(upper, max);
    }
  }
  return null;
}

/** Buckets there are: a scratch array of this length indexes every one. */
export const BUCKETS = bucketOf(MAX_VALUE) + 1;

/**
 * The same over stored JSON histograms `{"bucket": count, …}` (several are merged). A hand-rolled
 * scan into a scratch array indexed by bucket rather than JSON.parse and a sort: this runs once per
 * point of a percentile series — thousands per query. `scratch` (length BUCKETS, all zero) is
 * left zeroed again. `n` is the number of samples (the rollups' latency_count), `max` the largest.
 */
export function percentileOfJson(
  json: readonly string[],
  p: number,
  n: number,
  max: number,
  scratch: Float64Array = new Float64Array(BUCKETS),
): number | null {
  if (n <= 0) return null;
  let lo = BUCKETS;
  let hi = -1;
  for (const text of json) {
    let i = 0;
    const len = text.length;
    while (i < len) {
      // "key":count
      const q = text.indexOf('"', i);
      if (q < 0) break;
      let k = 0;
      let j = q + 1;
      for (let c = text.charCodeAt(j); c >= 48 && c <= 57; c = text.charCodeAt(++j)) k = k * 10 + (c - 48);
      j += 2; // closing quote and colon
      while (text.charCodeAt(j) === 32) j++;
      let v = 0;
      for (let c = text.charCodeAt(j); c >= 48 && c <= 57; c = text.charCodeAt(++j)) v = v * 10 + (c - 48);
      if (k < BUCKETS) {
        scratch[k] += v;
        if (k < lo) lo = k;
        if (k > hi) hi = k;
      }
      i = j;
    }
  }
  const rank = nearestRank(p, n);
  let seen = 0;
  let found = -1;
  for (let k = lo; k <= hi; k++) {
    seen += scratch[k];
    if (found < 0 && seen >= rank) found = k;
    scratch[k] = 0;
  }
  return found < 0 ? null : Math.min(upperBound(found), max);
}

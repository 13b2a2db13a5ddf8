import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bucketOf, percentile, percentileOfJson, upperBound } from '../../src/metrics/histogram.ts';

const hist = (values: number[]) => {
  const m = new Map<number, number>();
  for (const v of values) m.set(bucketOf(v), (m.get(bucketOf(v)) ?? 0) + 1);
  return m;
};

test('buckets: exact below 32 ms, then at most 1/32 wide, ordered, covering every value', () => {
  for (let v = 0; v < 32; v++) assert.equal(upperBound(bucketOf(v)), v);
  let previous = -1;
  for (const v of [32, 33, 63, 64, 65, 100, 999, 1000, 1007, 1008, 65_535, 3_600_000, 2 ** 32 - 1]) {
    const b = bucketOf(v);
    assert.ok(b >= previous, `${v}`);
    previous = b;
    const upper = upperBound(b);
    assert.ok(upper >= v && upper - v < v / 32, `${v} → ${upper}`);
    assert.equal(bucketOf(upper), b);
    if (upper < 2 ** 32 - 1) assert.equal(bucketOf(upper + 1), b + 1);
  }
  assert.equal(bucketOf(2 ** 40), bucketOf(2 ** 32 - 1)); // beyond 49 days: the last bucket
});

test('percentiles are nearest-rank: the ceil(p·n/100)-th sample’s bucket upper bound, capped at the max', () => {
  const hundred = Array.from({ length: 100 }, (_, i) => i + 1);
  const h = hist(hundred);
  assert.equal(percentile(h, 50, 100), 50);
  assert.equal(percentile(h, 95, 100), 95); // 95 is in [94, 95]
  assert.equal(percentile(h, 99, 100), 99);
  assert.equal(percentile(hist([1, 2, 3, 4]), 50, 4), 2); // rank ceil(2) = 2
  assert.equal(percentile(hist([1, 2, 3]), 50, 3), 2); // rank ceil(1.5) = 2
  assert.equal(percentile(hist([1000]), 99, 1000), 1000); // bucket [992, 1007] capped at the max
  assert.equal(percentile(hist([1000, 1001, 5000]), 50, 5000), 1007);
  assert.equal(percentile(new Map(), 50, null), null);
});

test('histograms merge by adding counts: a percentile over two halves equals the one over the whole', () => {
  const a = [5, 40, 41, 300, 1200, 1300];
  const b = [7, 39, 800, 801, 802, 90_000];
  const merged = new Map(hist(a));
  for (const [k, c] of hist(b)) merged.set(k, (merged.get(k) ?? 0) + c);
  for (const p of [50, 95, 99])
    assert.equal(percentile(merged, p, 90_000), percentile(hist([...a, ...b]), p, 90_000));
});

test('stored JSON histograms (either dialect’s spelling, keys in any order) give the same percentiles', () => {
  const a = [5, 40, 41, 300, 1200, 1300];
  const b = [7, 39, 800, 801, 802, 90_000];
  const json = (values: number[], spaced: boolean) =>
    JSON.stringify(Object.fromEntries([...hist(values)].reverse()), null, spaced ? 1 : 0).replace(/\n/g, '');
  for (const p of [1, 50, 90, 95, 99, 100]) {
    const expected = percentile(hist([...a, ...b]), p, 90_000);
    assert.equal(percentileOfJson([json(a, false), json(b, true)], p, 12, 90_000), expected, `p${p}`);
  }
  assert.equal(percentileOfJson(['{}'], 50, 0, 0), null);
});

/**
 * Metrics queries over the rollups (rollup.ts). A query names a metric and a stat, a time range cut
 * into buckets aligned to UTC interval boundaries, equality filters on the dimensions the metric
 * carries, and at most one dimension to group by. `from` is rounded down and `to` up to the
 * interval, and the answer states the range it covers; every bucket in it is present (0 for counts
 * and sums, null for avg, max and percentiles when it is empty).
 *
 * Each metric reads one kind of series; `errors` is the `runs` series whose status is one of
 * ErrorStatuses (schema.ts). Percentiles are nearest-rank over merged histograms (histogram.ts).
 *
 * Used by GET /v2/metrics and by alert rules (`parseQuery` validates a rule's query the same way;
 * `value` computes one figure over a trailing window).
 */
import type { Clock } from '../clock.ts';
import { iso } from '../clock.ts';
import { unprocessable } from '../errors.ts';
import { BUCKETS, percentileOfJson } from './histogram.ts';
import { type Dimension, MINUTE, Projections, projName } from './rollup.ts';
import {
  ErrorStatuses,
  type FilterName,
  FilterNames,
  type GroupByName,
  GroupByNames,
  type IntervalName,
  Intervals,
  type MetricName,
  MetricNames,
  Metrics,
  type StatName,
  StatNames,
} from './schema.ts';
import type { MetricStore, RollupColumn, SeriesSelection } from './store.ts';
import type { MetricsWriter } from './writer.ts';

/** Points per series at most: a larger answer is a mistake (use a larger interval). */
export const MAX_POINTS = 10_000;
/** The default interval is the smallest giving at most this many points. */
const DEFAULT_POINTS = 1_440;
const HOUR = 3_600_000;

export interface MetricQueryInput {
  metric: MetricName;
  stat: StatName;
  interval: IntervalName;
  /** epoch ms; rounded down to the interval by `query` */
  from: number;
  /** epoch ms, exclusive; rounded up to the interval by `query` */
  to: number;
  filters: Partial<Record<FilterName, string>>;
  group_by: GroupByName | null;
}

export interface MetricPoint {
  t: string;
  value: number | null;
}

export interface MetricResult {
  object: 'metric';
  metric: MetricName;
  stat: StatName;
  interval: IntervalName;
  from: string;
  to: string;
  series: { group: Record<string, string | null>; points: MetricPoint[] }[];
}

/** One figure over a trailing window (alerts): whole minutes [ceil(from), ceil(to)). */
export interface MetricValueInput {
  metric: MetricName;
  stat: StatName;
  from: number;
  to: number;
  filters: Partial<Record<FilterName, string>>;
}

export interface MetricsServiceDeps {
  store: MetricStore;
  clock: Clock;
  /** flushed before a query so this process's buffered counts (rate_limited) are visible */
  writer?: Pick<MetricsWriter, 'flush'>;
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$/;

const oneOf = (values: readonly string[]) => values.join(', ');
const alignDown = (t: number, step: number) => Math.floor(t / step) * step;
const alignUp = (t: number, step: number) => Math.ceil(t / step) * step;

function text(raw: Record<string, unknown>, name: string): string | undefined {
  const v = raw[name];
  if (v === undefined || v === null || v === '') return undefined;
  if (Array.isArray(v)) throw unprocessable('parameter_invalid', `${name} may be given only once`, name);
  if (typeof v !== 'string') throw unprocessable('parameter_invalid', `${name} must be a string`, name);
  return v;
}

function time(raw: Record<string, unknown>, name: string): number | undefined {
  const v = text(raw, name);
  if (v === undefined) return undefined;
  const t = RFC3339.test(v) ? Date.parse(v) : Number.NaN;
  if (!Number.isFinite(t) || t < 0) {
    throw unprocessable(
      'parameter_invalid',
      `${name} must be an RFC 3339 date-time, e.g. 2026-11-29T12:00:00Z`,
      name,
    );
  }
  return t;
}

function pointCount(from: number, to: number, step: number) {
  return (alignUp(to, step) - alignDown(from, step)) / step;
}

/** Validates a query given as strings (a query string, an alert rule); throws a 422 naming the parameter. */
export function parseMetricQuery(raw: Record<string, unknown>, now: number): MetricQueryInput {
  for (const name of Object.keys(raw)) {
    if (
      !['metric', 'stat', 'from', 'to', 'interval', 'group_by', ...FilterNames].includes(name) &&
      raw[name] !== undefined
    ) {
      throw unprocessable('parameter_unknown', `Unknown metrics parameter: ${name}`, name);
    }
  }
  const metricName = text(raw, 'metric');
  if (metricName === undefined) throw unprocessable('parameter_missing', 'metric is required', 'metric');
  if (!(MetricNames as readonly string[]).includes(metricName)) {
    throw unprocessable('parameter_invalid', `metric must be one of ${oneOf(MetricNames)}`, 'metric');
  }
  const metric = metricName as MetricName;
  const def = Metrics[metric];

  const statName = text(raw, 'stat') ?? def.defaultStat;
  if (!(StatNames as readonly string[]).includes(statName)) {
    throw unprocessable('parameter_invalid', `stat must be one of ${oneOf(StatNames)}`, 'stat');
  }
  if (!def.stats.includes(statName as StatName)) {
    throw unprocessable(
      'stat_not_supported',
      `stat ${statName} does not apply to ${metric}; use ${oneOf(def.stats)}`,
      'stat',
    );
  }
  const stat = statName as StatName;

  const filters: Partial<Record<FilterName, string>> = {};
  for (const name of FilterNames) {
    const v = text(raw, name);
    if (v === undefined) continue;
    if (!def.filters.includes(name)) {
      throw unprocessable(
        'filter_not_supported',
        `${metric} cannot be filtered by ${name}${def.filters.length ? `; it can be by ${oneOf(def.filters)}` : ''}`,
        name,
      );
    }
    if (name === 'status' && def.kind !== 'deprecated_call' && !def.statuses.includes(v)) {
      throw unprocessable(
        'parameter_invalid',
        `status for ${metric} must be one of ${oneOf(def.statuses)}`,
        name,
      );
    }
    if (v.length > 100) throw unprocessable('parameter_invalid', `${name} is too long`, name);
    filters[name] = v;
  }

  const groupName = text(raw, 'group_by');
  let group_by: GroupByName | null = null;
  if (groupName !== undefined) {
    if (!(GroupByNames as readonly string[]).includes(groupName)) {
      throw unprocessable('parameter_invalid', `group_by must be one of ${oneOf(GroupByNames)}`, 'group_by');
    }
    if (!def.groupBy.includes(groupName as GroupByName)) {
      throw unprocessable(
        'group_by_not_supported',
        def.groupBy.length
          ? `${metric} can be grouped by ${oneOf(def.groupBy)} only`
          : `${metric} cannot be grouped`,
        'group_by',
      );
    }
    group_by = groupName as GroupByName;
  }

  const to = time(raw, 'to') ?? now;
  const from = time(raw, 'from') ?? to - HOUR;
  if (from >= to) throw unprocessable('invalid_time_range', 'from must be before to', 'from');

  const intervalName = text(raw, 'interval');
  let interval: IntervalName;
  if (intervalName === undefined) {
    const names = Object.keys(Intervals) as IntervalName[];
    interval =
      names.find((n) => pointCount(from, to, Intervals[n]) <= DEFAULT_POINTS) ?? names[names.length - 1];
  } else {
    if (!Object.hasOwn(Intervals, intervalName)) {
      throw unprocessable(
        'parameter_invalid',
        `interval must be one of ${oneOf(Object.keys(Intervals))}`,
        'interval',
      );
    }
    interval = intervalName as IntervalName;
  }
  const points = pointCount(from, to, Intervals[interval]);
  if (points > MAX_POINTS) {
    throw unprocessable(
      'too_many_points',
      `from..to at ${interval} is ${points} points per series; at most ${MAX_POINTS}: use a larger interval or a shorter range`,
      'interval',
    );
  }
  return { metric, stat, interval, from, to, filters, group_by };
}

function columnsFor(metric: MetricName, stat: StatName): RollupColumn[] {
  if (metric !== 'run_latency_ms') return metric === 'tokens_used' ? ['count', 'tokens'] : ['count'];
  if (PERCENTILES[stat] !== undefined) return ['latency_count', 'latency_max', 'hist'];
  return ['latency_count', 'latency_sum', 'latency_max'];
}

/** The smallest stored projection keeping every dimension the query needs (rollup.ts). */
function projectionFor(needed: Dimension[], res: number): string {
  if (res === MINUTE) return '';
  const fit = Projections.find((dims) => needed.every((d) => dims.includes(d)));
  return fit ? projName(fit) : '';
}

function selection(
  orgId: string,
  metric: MetricName,
  stat: StatName,
  filters: MetricQueryInput['filters'],
  range: { res: number; from: number; to: number },
  groupBy: GroupByName | null,
): SeriesSelection {
  const def = Metrics[metric];
  const equals: Partial<Record<Dimension, string>> = {};
  for (const name of FilterNames) if (filters[name] !== undefined) equals[name] = filters[name];
  const needed = Object.keys(equals) as Dimension[];
  if (groupBy) needed.push(groupBy);
  if (metric === 'errors') needed.push('status');
  return {
    orgId,
    kind: def.kind,
    proj: projectionFor(needed, range.res),
    equals,
    statusIn: metric === 'errors' ? ErrorStatuses : undefined,
    groupBy: groupBy ?? undefined,
    columns: columnsFor(metric, stat),
    ...range,
  };
}

const PERCENTILES: Partial<Record<StatName, number>> = { p50: 50, p95: 95, p99: 99 };

/** A bucket's figure from its totals; null/0 conventions for empty buckets live in `empty`. */
function figure(metric: MetricName, stat: StatName, a: Totals, scratch: Float64Array): number | null {
  const latency = metric === 'run_latency_ms';
  switch (stat) {
    case 'count':
      return latency ? a.latency_count : a.count;
    case 'sum':
      return latency ? a.latency_sum : a.tokens;
    case 'avg':
      if (latency) return a.latency_count > 0 ? a.latency_sum / a.latency_count : null;
      return a.count > 0 ? a.tokens / a.count : null;
    case 'max':
      return a.latency_count > 0 ? a.latency_max : null;
    case 'p50':
    case 'p95':
    case 'p99':
      return a.hists
        ? percentileOfJson(a.hists, PERCENTILES[stat]!, a.latency_count, a.latency_max, scratch)
        : null;
  }
}

interface Totals {
  count: number;
  tokens: number;
  latency_count: number;
  latency_sum: number;
  latency_max: number;
  /** the stored JSON histograms of the rows folded in (decoded only for percentiles) */
  hists: string[] | null;
}

const empty = (stat: StatName) => (stat === 'count' || stat === 'sum' ? 0 : null);

export function createMetricsService({ store, clock, writer }: MetricsServiceDeps) {
  /**
   * Each group's figures, point k covering [from + k·step, from + (k+1)·step); undefined where no
   * rollup row fell (the caller's empty value).
   */
  async function compute(
    s: SeriesSelection,
    metric: MetricName,
    stat: StatName,
    step: number,
  ): Promise<Map<string, (number | null | undefined)[]>> {
    await writer?.flush();
    const points = (s.to - s.from) / step;
    const totals = new Map<string, (Totals | undefined)[]>();
    // rows are dictionary-like objects: read only the columns that were selected
    const has = (c: RollupColumn) => s.columns.includes(c);
    const [hasCount, hasTokens, hasLatency, hasSum, hasHist] = [
      has('count'),
      has('tokens'),
      has('latency_count'),
      has('latency_sum'),
      has('hist'),
    ];
    for (const r of await store.rows(s)) {
      let byT = totals.get(r.g);
      if (!byT) {
        byT = new Array(points);
        totals.set(r.g, byT);
      }
      const k = Math.floor((r.t - s.from) / step);
      let a = byT[k];
      if (!a) {
        a = { count: 0, tokens: 0, latency_count: 0, latency_sum: 0, latency_max: 0, hists: null };
        byT[k] = a;
      }
      if (hasCount) a.count += r.count!;
      if (hasTokens) a.tokens += r.tokens!;
      if (hasLatency) {
        a.latency_count += r.latency_count!;
        const max = r.latency_max!;
        if (max > a.latency_max) a.latency_max = max;
      }
      if (hasSum) a.latency_sum += r.latency_sum!;
      if (hasHist) {
        const hist = r.hist!;
        if (hist !== '{}') {
          if (a.hists) a.hists.push(hist);
          else a.hists = [hist];
        }
      }
    }
    const out = new Map<string, (number | null | undefined)[]>();
    const scratch = new Float64Array(s.columns.includes('hist') ? BUCKETS : 0);
    for (const [g, byT] of totals) {
      const values = new Array<number | null | undefined>(points);
      for (let k = 0; k < points; k++) {
        const a = byT[k];
        values[k] = a === undefined ? undefined : figure(metric, stat, a, scratch);
      }
      out.set(g, values);
    }
    return out;
  }

  return {
    parseQuery: (raw: Record<string, unknown>): MetricQueryInput => parseMetricQuery(raw, clock.now()),

    async query(orgId: string, q: MetricQueryInput): Promise<MetricResult> {
      const step = Intervals[q.interval];
      const from = alignDown(q.from, step);
      const to = alignUp(q.to, step);
      if ((to - from) / step > MAX_POINTS) {
        throw unprocessable('too_many_points', `At most ${MAX_POINTS} points per series`, 'interval');
      }
      const res = step === Intervals['5m'] ? MINUTE : step;
      const values = await compute(
        selection(orgId, q.metric, q.stat, q.filters, { res, from, to }, q.group_by),
        q.metric,
        q.stat,
        step,
      );
      const groups = q.group_by ? [...values.keys()].sort() : [''];
      const times: string[] = [];
      for (let t = from; t < to; t += step) times.push(iso(t)!);
      const none = empty(q.stat);
      const series = groups.map((g) => {
        const byT = values.get(g);
        const points: MetricPoint[] = times.map((t, k) => {
          const v = byT?.[k];
          return { t, value: v === undefined ? none : v };
        });
        return { group: q.group_by ? { [q.group_by]: g === '' ? null : g } : {}, points };
      });
      return {
        object: 'metric',
        metric: q.metric,
        stat: q.stat,
        interval: q.interval,
        from: iso(from)!,
        to: iso(to)!,
        series,
      };
    },

    /** One figure over the whole minutes [ceil(from), ceil(to)) — e.g. an alert rule's window. */
    async value(orgId: string, q: MetricValueInput): Promise<number | null> {
      const to = alignUp(q.to, MINUTE);
      const from = Math.min(alignUp(q.from, MINUTE), to - MINUTE);
      const values = await compute(
        selection(orgId, q.metric, q.stat, q.filters, { res: MINUTE, from, to }, null),
        q.metric,
        q.stat,
        to - from,
      );
      const v = values.get('')?.[0];
      return v === undefined ? empty(q.stat) : v;
    },
  };
}
export type MetricsService = ReturnType<typeof createMetricsService>;

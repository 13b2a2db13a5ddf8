/**
 * What can be asked of GET /v2/metrics: each metric, the stats that fit it, the filters and
 * groupings its rollups carry. The query string is typed loosely (strings) on purpose: every value
 * is checked by `parseQuery` (service.ts) so that a nonsense combination is a 422 naming the
 * parameter, whether it arrives over HTTP or from an alert rule.
 */
import Type, { type Static } from 'typebox';

export const MetricNames = [
  'runs',
  'run_latency_ms',
  'tokens_used',
  'errors',
  'pipeline_runs',
  'rate_limited',
  'deprecated_calls',
] as const;
export type MetricName = (typeof MetricNames)[number];

export const StatNames = ['count', 'sum', 'avg', 'p50', 'p95', 'p99', 'max'] as const;
export type StatName = (typeof StatNames)[number];

export const Intervals = { '1m': 60_000, '5m': 300_000, '1h': 3_600_000, '1d': 86_400_000 } as const;
export type IntervalName = keyof typeof Intervals;

export const FilterNames = ['agent_id', 'deployment_id', 'pipeline_id', 'status', 'api_key_id'] as const;
export type FilterName = (typeof FilterNames)[number];

export const GroupByNames = ['agent_id', 'status', 'model', 'deployment_id', 'api_key_id'] as const;
export type GroupByName = (typeof GroupByNames)[number];

/** Which rollup rows a metric reads (`metric_series.kind`). */
export type SeriesKind = 'run' | 'pipeline_run' | 'rate_limited' | 'deprecated_call';

/** Run statuses that count as errors: the run did not do its job for a reason that was not the caller's
 * choice. `expired` (no worker started it in time) is included — it is an availability failure an
 * alert should see; `cancelled` is not (the caller asked for it). */
export const ErrorStatuses = ['failed', 'timed_out', 'expired'] as const;
const RunTerminal = ['completed', 'failed', 'cancelled', 'timed_out', 'expired'] as const;
const PipelineTerminal = ['completed', 'failed', 'cancelled', 'timed_out'] as const;

export interface MetricDefinition {
  kind: SeriesKind;
  stats: readonly StatName[];
  defaultStat: StatName;
  filters: readonly FilterName[];
  groupBy: readonly GroupByName[];
  /** the values `status` may take for this metric */
  statuses: readonly string[];
}

const runFilters = FilterNames;
const runGroups = ['agent_id', 'status', 'model', 'deployment_id'] as const;

export const Metrics: Record<MetricName, MetricDefinition> = {
  runs: {
    kind: 'run',
    stats: ['count'],
    defaultStat: 'count',
    filters: runFilters,
    groupBy: runGroups,
    statuses: RunTerminal,
  },
  run_latency_ms: {
    kind: 'run',
    stats: ['count', 'sum', 'avg', 'p50', 'p95', 'p99', 'max'],
    defaultStat: 'avg',
    filters: runFilters,
    groupBy: runGroups,
    statuses: RunTerminal,
  },
  tokens_used: {
    kind: 'run',
    stats: ['sum', 'avg'],
    defaultStat: 'sum',
    filters: runFilters,
    groupBy: runGroups,
    statuses: RunTerminal,
  },
  errors: {
    kind: 'run',
    stats: ['count'],
    defaultStat: 'count',
    filters: runFilters,
    groupBy: runGroups,
    statuses: ErrorStatuses,
  },
  pipeline_runs: {
    kind: 'pipeline_run',
    stats: ['count'],
    defaultStat: 'count',
    filters: ['pipeline_id', 'status', 'api_key_id'],
    groupBy: ['status'],
    statuses: PipelineTerminal,
  },
  rate_limited: {
    kind: 'rate_limited',
    stats: ['count'],
    defaultStat: 'count',
    filters: ['api_key_id'],
    groupBy: ['api_key_id'],
    statuses: [],
  },
  // Calls that used deprecated surface (src/http/lifecycle): `status` holds the surface's id.
  deprecated_calls: {
    kind: 'deprecated_call',
    stats: ['count'],
    defaultStat: 'count',
    filters: ['api_key_id', 'status'],
    groupBy: ['api_key_id', 'status'],
    statuses: [],
  },
};

const str = (description: string) => Type.Optional(Type.String({ maxLength: 100, description }));

export const MetricsQuery = Type.Object(
  {
    metric: Type.String({ maxLength: 100, description: `One of ${MetricNames.join(', ')}` }),
    stat: str(
      'count, sum, avg, p50, p95, p99 or max, as fit the metric (runs, errors, pipeline_runs, rate_limited, deprecated_calls: count; tokens_used: sum, avg; run_latency_ms: all). Default: count, sum for tokens_used, avg for run_latency_ms',
    ),
    from: str('RFC 3339 start (inclusive), rounded down to the interval; default `to` minus one hour'),
    to: str('RFC 3339 end (exclusive), rounded up to the interval; default now'),
    interval: str(
      '1m, 5m, 1h or 1d; default the smallest giving at most 1,440 points. At most 10,000 points per series',
    ),
    agent_id: str('Only runs of this agent'),
    deployment_id: str('Only runs served by this deployment'),
    pipeline_id: str('Only (step) runs of this pipeline, or pipeline runs of it'),
    status: str(
      'Only runs (or pipeline runs) that ended with this status; for deprecated_calls, the id of a deprecated surface',
    ),
    api_key_id: str('Only what this API key submitted (or, for rate_limited, was refused)'),
    group_by: str(
      'agent_id, status, model or deployment_id (api_key_id for rate_limited and deprecated_calls): one series per value',
    ),
  },
  { additionalProperties: false },
);
export type MetricsQueryT = Static<typeof MetricsQuery>;

export const MetricPoint = Type.Object({
  t: Type.String({ format: 'date-time', description: 'Start of the bucket (UTC)' }),
  // a type list rather than anyOf: the serializer then picks the branch with a typeof, not a
  // schema validation per point (thousands per answer)
  value: Type.Unsafe<number | null>({
    type: ['number', 'null'],
    description: 'Counts and sums are 0 in an empty bucket; avg, max and percentiles null',
  }),
});

export const MetricResponse = Type.Object(
  {
    object: Type.Literal('metric'),
    metric: Type.String(),
    stat: Type.String(),
    interval: Type.String(),
    from: Type.String({ format: 'date-time' }),
    to: Type.String({ format: 'date-time' }),
    series: Type.Array(
      Type.Object({
        group: Type.Record(Type.String(), Type.Unsafe<string | null>({ type: ['string', 'null'] }), {
          description: 'The group_by dimension and its value (null: runs without one); {} without group_by',
        }),
        points: Type.Array(MetricPoint),
      }),
    ),
  },
  { $id: 'Metric' },
);

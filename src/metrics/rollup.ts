/**
 * From a finished thing (a run, a pipeline run, a refused request) to the rollup rows it adds.
 * Pure: the live writer (writer.ts) and the benchmark's seeder call the same code, so seeded data is
 * shaped exactly like production data.
 *
 * A *series* is one combination of dimensions within an org (kind, agent, deployment, pipeline, API
 * key, model, status; '' where a dimension does not apply). Its id is a hash of that combination,
 * so a writer never needs to look it up: it inserts the series row if missing and adds to the
 * series' rollup at each resolution — minute, hour, day — keyed by the bucket's UTC start. A rollup
 * row carries the count, token and latency totals and the latency histogram as JSON
 * `{bucket: count}` (histogram.ts), merged by the UPSERT (store.ts).
 *
 * Projections. With every dimension kept, a week of hourly figures grouped by agent would read one
 * row per (agent × status × key × … × hour) — about as many rows as runs once traffic is steady.
 * So each observation is also added to a few *projections*: the same rollups with all but one or
 * two dimensions collapsed to '*' (the org total, per agent, per status, per model, per deployment,
 * per key, per pipeline, per agent and status), at the hour and day resolutions. A query reads the
 * smallest projection that keeps every dimension it filters or groups on (service.ts), so its cost
 * is about (groups × buckets) rows whatever the number of runs; minute-resolution queries (short
 * ranges) read the full series.
 */
import { createHash } from 'node:crypto';
import type { PipelineRunRow, RunRow } from '../infra/db/schema.ts';
import { bucketOf } from './histogram.ts';
import type { SeriesKind } from './schema.ts';

export const MINUTE = 60_000;
export const HOUR = 3_600_000;
export const DAY = 86_400_000;
/** Stored resolutions, in ms: every query interval is a multiple of one of them. */
export const Resolutions = [MINUTE, HOUR, DAY] as const;

export const Dimensions = [
  'agent_id',
  'deployment_id',
  'pipeline_id',
  'api_key_id',
  'model',
  'status',
] as const;
export type Dimension = (typeof Dimensions)[number];

/** Projections kept at the hour and day resolutions, smallest first; '' (every dimension) is implied. */
export const Projections: readonly (readonly Dimension[])[] = [
  [],
  ['agent_id'],
  ['status'],
  ['model'],
  ['deployment_id'],
  ['api_key_id'],
  ['pipeline_id'],
  ['agent_id', 'status'],
];
const PROJECTED_RES = [HOUR, DAY] as const;
export const projName = (dims: readonly Dimension[]) => (dims.length ? dims.join(',') : '*');
/** The dimension value a projection collapsed */
export const WILDCARD = '*';

export interface SeriesKey {
  org_id: string;
  kind: SeriesKind;
  /** '' for the full series, else `projName` of the dimensions kept */
  proj: string;
  agent_id: string;
  deployment_id: string;
  pipeline_id: string;
  api_key_id: string;
  model: string;
  status: string;
}

export interface Series extends SeriesKey {
  id: string;
}

/** One observation: at `at` (epoch ms), `count` things with `tokens` tokens and maybe a latency. */
export interface Delta {
  series: Omit<SeriesKey, 'proj'>;
  at: number;
  count: number;
  tokens: number;
  /** one latency sample in ms (null: none, e.g. a run that never started) */
  latency: number | null;
}

export interface RollupRow {
  series_id: string;
  res: number;
  t: number;
  count: number;
  tokens: number;
  latency_count: number;
  latency_sum: number;
  latency_max: number;
  /** bucket index → count, serialised to `hist` on write */
  buckets: Map<number, number>;
}

export function seriesId(k: SeriesKey): string {
  const text = [
    k.org_id,
    k.kind,
    k.proj,
    k.agent_id,
    k.deployment_id,
    k.pipeline_id,
    k.api_key_id,
    k.model,
    k.status,
  ].join('\u001f');
  return createHash('sha256').update(text).digest('base64url').slice(0, 22);
}

export function runDelta(run: RunRow): Delta {
  let pipelineId = '';
  if (run.pipeline_run_id) {
    try {
      const meta = JSON.parse(run.metadata) as Record<string, unknown>;
      if (typeof meta.pipeline_id === 'string') pipelineId = meta.pipeline_id;
    } catch {
      // metadata is always JSON; a step run without its pipeline id just is not filterable by it
    }
  }
  return {
    series: {
      org_id: run.org_id,
      kind: 'run',
      agent_id: run.agent_id,
      deployment_id: run.deployment_id ?? '',
      pipeline_id: pipelineId,
      api_key_id: run.api_key_id ?? '',
      model: run.model,
      status: run.status,
    },
    at: run.completed_at ?? 0,
    count: 1,
    tokens: (run.input_tokens ?? 0) + (run.output_tokens ?? 0),
    latency: run.latency_ms,
  };
}

export function pipelineRunDelta(row: PipelineRunRow): Delta {
  return {
    series: {
      org_id: row.org_id,
      kind: 'pipeline_run',
      agent_id: '',
      deployment_id: '',
      pipeline_id: row.pipeline_id,
      api_key_id: row.api_key_id ?? '',
      model: '',
      status: row.status,
    },
    at: row.completed_at ?? 0,
    count: 1,
    tokens: row.tokens_used,
    latency: row.started_at !== null && row.completed_at !== null ? row.completed_at - row.started_at : null,
  };
}

/** A per-key count of requests (refused 429; used deprecated surface), `status` its qualifier. */
export function keyCountDelta(
  kind: 'rate_limited' | 'deprecated_call',
  orgId: string,
  keyId: string,
  status: string,
  at: number,
  count: number,
): Delta {
  return {
    series: {
      org_id: orgId,
      kind,
      agent_id: '',
      deployment_id: '',
      pipeline_id: '',
      api_key_id: keyId,
      model: '',
      status,
    },
    at,
    count,
    tokens: 0,
    latency: null,
  };
}

const naturalKey = (s: Delta['series']) =>
  `${s.org_id}\u001f${s.kind}\u001f${s.agent_id}\u001f${s.deployment_id}\u001f${s.pipeline_id}\u001f${s.api_key_id}\u001f${s.model}\u001f${s.status}`;

/** Folds observations into the rows to upsert: one per (series, resolution, bucket start). */
export class RollupBatch {
  readonly series = new Map<string, Series>();
  readonly rollups = new Map<string, RollupRow>();
  /** natural key → series id (a hash): pass a long-lived map to keep hashing out of every batch */
  private readonly ids: Map<string, string>;
  private readonly fanout = new Map<string, string[]>();
  private readonly rowCache = new Map<string, RollupRow[]>();

  constructor(ids: Map<string, string> = new Map()) {
    this.ids = ids;
  }

  private id(key: SeriesKey): string {
    const natural = `${key.org_id}\u001f${key.kind}\u001f${key.proj}\u001f${key.agent_id}\u001f${key.deployment_id}\u001f${key.pipeline_id}\u001f${key.api_key_id}\u001f${key.model}\u001f${key.status}`;
    let id = this.ids.get(natural);
    if (id === undefined) {
      id = seriesId(key);
      this.ids.set(natural, id);
    }
    if (!this.series.has(id)) this.series.set(id, { ...key, id });
    return id;
  }

  /** the row of one series at one resolution and bucket start */
  private row(series_id: string, res: number, t: number): RollupRow {
    const key = `${series_id}|${res}|${t}`;
    let row = this.rollups.get(key);
    if (!row) {
      row = {
        series_id,
        res,
        t,
        count: 0,
        tokens: 0,
        latency_count: 0,
        latency_sum: 0,
        latency_max: 0,
        buckets: new Map(),
      };
      this.rollups.set(key, row);
    }
    return row;
  }

  /**
   * Every row an observation of `series` in the minute of `at` adds to: the full series at each
   * resolution, then each projection at hour and day. Cached per (series, minute), so a batch of
   * runs of one agent finds its rows with one lookup each.
   */
  private rowsFor(series: Delta['series'], at: number): RollupRow[] {
    const natural = naturalKey(series);
    const key = `${natural}\u001f${at - (at % MINUTE)}`;
    let rows = this.rowCache.get(key);
    if (!rows) {
      const ids = this.fanoutOf(series, natural);
      rows = Resolutions.map((res) => this.row(ids[0], res, at - (at % res)));
      for (let i = 1; i < ids.length; i++) {
        for (const res of PROJECTED_RES) rows.push(this.row(ids[i], res, at - (at % res)));
      }
      this.rowCache.set(key, rows);
    }
    return rows;
  }

  add(d: Delta) {
    const latency = d.latency === null ? null : Math.max(0, Math.round(d.latency));
    const bucket = latency === null ? 0 : bucketOf(latency);
    for (const row of this.rowsFor(d.series, d.at)) {
      row.count += d.count;
      row.tokens += d.tokens;
      if (latency !== null) {
        row.latency_count += 1;
        row.latency_sum += latency;
        if (latency > row.latency_max) row.latency_max = latency;
        row.buckets.set(bucket, (row.buckets.get(bucket) ?? 0) + 1);
      }
    }
  }

  /** the full series' id, then each projection's (cached per dimension combination) */
  private fanoutOf(series: Delta['series'], natural: string): string[] {
    let ids = this.fanout.get(natural);
    if (!ids) {
      ids = [this.id({ ...series, proj: '' })];
      for (const dims of Projections) {
        const key: SeriesKey = { ...series, proj: projName(dims) };
        for (const dim of Dimensions) if (!dims.includes(dim)) key[dim] = WILDCARD;
        ids.push(this.id(key));
      }
      this.fanout.set(natural, ids);
    }
    return ids;
  }

  get size() {
    return this.rollups.size;
  }
}

/** `{bucket: count}` as stored */
export const histJson = (buckets: Map<number, number>) => JSON.stringify(Object.fromEntries(buckets));

/**
 * Rollup SQL. Writes are UPSERTs (`ON CONFLICT … DO UPDATE`, both dialects) that add to a bucket's
 * totals and merge its histogram, so they commute: any number of writers, in any order, inside the
 * transaction of the change they count. Reads return the rollup rows of the matching series; the
 * service folds them into points (a query reads about groups × buckets rows: see rollup.ts).
 */
import { type Kysely, sql } from 'kysely';
import type { DialectName } from '../infra/db/db.ts';
import { rowInserter } from '../infra/db/row-insert.ts';
import type { Database } from '../infra/db/schema.ts';
import { type Dimension, Dimensions, histJson, type RollupBatch } from './rollup.ts';
import type { SeriesKind } from './schema.ts';

/**
 * The histogram merge inside the UPSERT: counts of equal buckets added, other buckets kept. JSON
 * functions differ by dialect; the stored text has the same shape. The common write — one run, so
 * one bucket, `{"37":1}` as histJson spells it — takes a cheap path (read and set one key); a batch
 * (several buckets) merges both objects in full.
 */
function mergeHist(dialect: DialectName) {
  if (dialect === 'postgres') {
    const k = sql`split_part(excluded.hist, '"', 2)`;
    const v = sql`split_part(split_part(excluded.hist, ':', 2), '}', 1)::bigint`;
    return sql<string>`CASE WHEN excluded.hist = '{}' THEN metric_rollups.hist
      WHEN strpos(excluded.hist, ',') = 0 THEN jsonb_set(metric_rollups.hist::jsonb, ARRAY[${k}], to_jsonb(COALESCE((metric_rollups.hist::jsonb ->> ${k})::bigint, 0) + ${v}))::text
      ELSE (SELECT COALESCE(jsonb_object_agg(k, n), '{}'::jsonb)::text FROM (SELECT k, SUM(v::bigint) AS n FROM (SELECT key AS k, value AS v FROM jsonb_each_text(metric_rollups.hist::jsonb) UNION ALL SELECT key, value FROM jsonb_each_text(excluded.hist::jsonb)) u GROUP BY k) m) END`;
  }
  const path = sql`'$."' || substr(excluded.hist, 3, instr(excluded.hist, '":') - 3) || '"'`;
  const v = sql`CAST(substr(excluded.hist, instr(excluded.hist, '":') + 2, length(excluded.hist) - instr(excluded.hist, '":') - 2) AS INTEGER)`;
  return sql<string>`CASE WHEN excluded.hist = '{}' THEN metric_rollups.hist
    WHEN instr(excluded.hist, ',') = 0 THEN json_set(metric_rollups.hist, ${path}, COALESCE(json_extract(metric_rollups.hist, ${path}), 0) + ${v})
    ELSE (SELECT json_group_object(k, n) FROM (SELECT k, SUM(v) AS n FROM (SELECT key AS k, value AS v FROM json_each(metric_rollups.hist) UNION ALL SELECT key, value FROM json_each(excluded.hist)) GROUP BY k)) END`;
}

const SERIES_COLUMNS = ['id', 'org_id', 'kind', 'proj', ...Dimensions] as const;
export const RollupColumns = [
  'count',
  'tokens',
  'latency_count',
  'latency_sum',
  'latency_max',
  'hist',
] as const;
export type RollupColumn = (typeof RollupColumns)[number];
const ROLLUP_COLUMNS = ['series_id', 'res', 't', ...RollupColumns] as const;

/** The UPSERT's conflict clause: adds to the totals, merges the histogram (no parameters). */
function rollupConflict(dialect: DialectName) {
  return sql` on conflict ("series_id", "res", "t") do update set
    "count" = metric_rollups.count + excluded.count,
    "tokens" = metric_rollups.tokens + excluded.tokens,
    "latency_count" = metric_rollups.latency_count + excluded.latency_count,
    "latency_sum" = metric_rollups.latency_sum + excluded.latency_sum,
    "latency_max" = CASE WHEN excluded.latency_max > metric_rollups.latency_max THEN excluded.latency_max ELSE metric_rollups.latency_max END,
    "hist" = ${mergeHist(dialect)}`;
}

/**
 * Adds a batch to the stored rollups, inside the caller's transaction. Statements are compiled once
 * per writer (row-insert.ts): this runs in the transaction that ends runs, on the hot path.
 */
export function createBatchWriter(kysely: Kysely<Database>, dialect: DialectName) {
  const insertSeries = rowInserter(
    dialect,
    'metric_series',
    SERIES_COLUMNS,
    ' on conflict ("id") do nothing',
  );
  const conflict = rollupConflict(dialect).compile(kysely);
  if (conflict.parameters.length) throw new Error('the rollup conflict clause must not take parameters');
  const upsertRollups = rowInserter(dialect, 'metric_rollups', ROLLUP_COLUMNS, conflict.sql);

  return async function writeBatch(trx: Kysely<Database>, batch: RollupBatch): Promise<void> {
    // a stable order: concurrent writers on Postgres lock the same rows in the same order (no deadlock)
    const series = [...batch.series.values()].sort((a, b) => (a.id < b.id ? -1 : 1));
    await insertSeries(trx, series);
    const rollups = [...batch.rollups.values()]
      .sort((a, b) =>
        a.series_id < b.series_id ? -1 : a.series_id > b.series_id ? 1 : a.res - b.res || a.t - b.t,
      )
      .map(({ buckets, ...row }) => ({ ...row, hist: histJson(buckets) }));
    await upsertRollups(trx, rollups);
  };
}
export type BatchWriter = ReturnType<typeof createBatchWriter>;

export interface SeriesSelection {
  orgId: string;
  kind: SeriesKind;
  /** the projection to read ('' the full series) */
  proj: string;
  /** dimension column → required value */
  equals: Partial<Record<Dimension, string>>;
  /** when set, status must be one of these (errors) */
  statusIn?: readonly string[];
  groupBy?: Dimension;
  /** stored resolution to read (ms) */
  res: number;
  /** [from, to) in epoch ms */
  from: number;
  to: number;
  /** the rollup columns the stat needs (fewer columns, cheaper rows) */
  columns: readonly RollupColumn[];
}

/** A rollup row as read: the selected columns only (numbers on both dialects: BIGINTs parse to numbers). */
export interface RollupReadRow {
  g: string;
  t: number;
  count?: number;
  tokens?: number;
  latency_count?: number;
  latency_sum?: number;
  latency_max?: number;
  hist?: string;
}

export function createMetricStore(db: Kysely<Database>) {
  return {
    /** the rollup rows of the selected series in [from, to), with the group-by dimension's value as `g` */
    async rows(s: SeriesSelection): Promise<RollupReadRow[]> {
      let q = db
        .selectFrom('metric_series as s')
        .innerJoin('metric_rollups as r', 'r.series_id', 's.id')
        .where('s.org_id', '=', s.orgId)
        .where('s.kind', '=', s.kind)
        .where('s.proj', '=', s.proj);
      for (const [column, value] of Object.entries(s.equals)) {
        if (value !== undefined) q = q.where(`s.${column as Dimension}`, '=', value);
      }
      if (s.statusIn) q = q.where('s.status', 'in', [...s.statusIn]);
      const rows = await q
        .where('r.res', '=', s.res)
        .where('r.t', '>=', s.from)
        .where('r.t', '<', s.to)
        .select([
          (s.groupBy ? sql<string>`${sql.ref(`s.${s.groupBy}`)}` : sql<string>`''`).as('g'),
          'r.t',
          ...s.columns.map((c) => `r.${c}` as const),
        ])
        .execute();
      return rows as unknown as RollupReadRow[];
    },
  };
}
export type MetricStore = ReturnType<typeof createMetricStore>;

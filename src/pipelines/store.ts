import { type Kysely, sql } from 'kysely';
import type { Db } from '../infra/db/db.ts';
import { type PageParams, paginate } from '../infra/db/paginate.ts';
import type { Database, PipelineRow, PipelineRunEventRow, PipelineRunRow } from '../infra/db/schema.ts';

export interface PipelineRunFilters {
  status?: string[];
  created_after?: number;
  created_before?: number;
}

export function createPipelineStore(db: Db) {
  const k = db.kysely;
  const live = (orgId: string) =>
    k.selectFrom('pipelines').selectAll().where('org_id', '=', orgId).where('deleted_at', 'is', null);
  return {
    insert: (row: PipelineRow, trx: Kysely<Database> = k) =>
      trx.insertInto('pipelines').values(row).execute(),
    get: (orgId: string, id: string) => live(orgId).where('id', '=', id).executeTakeFirst(),
    list: (orgId: string, page: PageParams) => paginate(live(orgId), page),
    /** Optimistic: applies only to the version it was computed from. */
    async update(row: PipelineRow, fromVersion: number, trx: Kysely<Database> = k) {
      const { id, org_id, created_at, ...changes } = row;
      const r = await trx
        .updateTable('pipelines')
        .set(changes)
        .where('id', '=', id)
        .where('org_id', '=', org_id)
        .where('version', '=', fromVersion)
        .where('deleted_at', 'is', null)
        .executeTakeFirst();
      return Number(r.numUpdatedRows) === 1;
    },
    async softDelete(orgId: string, id: string, at: number, trx: Kysely<Database> = k) {
      const r = await trx
        .updateTable('pipelines')
        .set({ deleted_at: at })
        .where('id', '=', id)
        .where('org_id', '=', orgId)
        .where('deleted_at', 'is', null)
        .executeTakeFirst();
      return Number(r.numUpdatedRows) === 1;
    },

    insertRun: (trx: Kysely<Database>, row: PipelineRunRow) =>
      trx.insertInto('pipeline_runs').values(row).execute(),
    getRun: (orgId: string, pipelineId: string, id: string) =>
      k
        .selectFrom('pipeline_runs')
        .selectAll()
        .where('org_id', '=', orgId)
        .where('pipeline_id', '=', pipelineId)
        .where('id', '=', id)
        .executeTakeFirst(),
    getRunById: (id: string) =>
      k.selectFrom('pipeline_runs').selectAll().where('id', '=', id).executeTakeFirst(),
    listRuns(orgId: string, pipelineId: string, f: PipelineRunFilters, page: PageParams) {
      let q = k
        .selectFrom('pipeline_runs')
        .selectAll()
        .where('org_id', '=', orgId)
        .where('pipeline_id', '=', pipelineId);
      if (f.status?.length) q = q.where('status', 'in', f.status);
      if (f.created_after !== undefined) q = q.where('created_at', '>', f.created_after);
      if (f.created_before !== undefined) q = q.where('created_at', '<', f.created_before);
      return paginate(q, page);
    },
    unfinishedRunIds: async () =>
      (
        await k
          .selectFrom('pipeline_runs')
          .select('id')
          .where('status', 'in', ['queued', 'running'])
          .orderBy('id')
          .execute()
      ).map((r) => r.id),
    /** Takes the row lock on Postgres (SQLite's write transaction already excludes others). */
    async lockRun(trx: Kysely<Database>, id: string) {
      const lock = db.dialect === 'postgres' ? sql`FOR UPDATE` : sql``;
      const r = await sql<{
        state_version: number;
        event_seq: number;
      }>`SELECT state_version, event_seq FROM pipeline_runs WHERE id = ${id} ${lock}`.execute(trx);
      return r.rows[0];
    },
    updateRun: (trx: Kysely<Database>, id: string, fields: Partial<PipelineRunRow>) =>
      trx.updateTable('pipeline_runs').set(fields).where('id', '=', id).execute(),
    insertEvents: async (trx: Kysely<Database>, rows: PipelineRunEventRow[]) => {
      if (rows.length) await trx.insertInto('pipeline_run_events').values(rows).execute();
    },
    eventsAfter: (id: string, seq: number) =>
      k
        .selectFrom('pipeline_run_events')
        .selectAll()
        .where('pipeline_run_id', '=', id)
        .where('seq', '>', seq)
        .orderBy('seq')
        .execute(),
    /** The step runs of a pipeline run, oldest first. */
    stepRuns: (id: string) =>
      k.selectFrom('runs').selectAll().where('pipeline_run_id', '=', id).orderBy('id').execute(),
  };
}
export type PipelineStore = ReturnType<typeof createPipelineStore>;

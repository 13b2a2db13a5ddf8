import { type Kysely, sql } from 'kysely';
import type { Db } from '../infra/db/db.ts';
import { type PageParams, paginate } from '../infra/db/paginate.ts';
import type {
  Database,
  PipelineRow,
  PipelineRunEventRow,
  PipelineRunRow,
  RunRow,
} from '../infra/db/schema.ts';
import { TerminalStatuses } from '../runs/events.ts';

/** What the engine folds in from a step run that ended. */
export type FinishedStepRun = Pick<
  RunRow,
  'id' | 'status' | 'output' | 'error' | 'input_tokens' | 'output_tokens' | 'completed_at'
>;

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
    /**
     * Writes a pass's fields if the row is still at `fromVersion` and reserves `events` event
     * numbers: the version check and (on Postgres) the row lock in one statement. Returns the new
     * last event number, or null when another engine advanced the row meanwhile.
     */
    async advanceRun(
      trx: Kysely<Database>,
      id: string,
      fromVersion: number,
      fields: Partial<PipelineRunRow>,
      events: number,
    ): Promise<number | null> {
      const r = await trx
        .updateTable('pipeline_runs')
        .set({ ...fields, event_seq: sql<number>`event_seq + ${events}` })
        .where('id', '=', id)
        .where('state_version', '=', fromVersion)
        .returning('event_seq')
        .executeTakeFirst();
      return r ? Number(r.event_seq) : null;
    },
    /** Those of the given step runs that reached a terminal state, with what the engine needs. */
    finishedStepRuns: async (ids: string[]): Promise<FinishedStepRun[]> =>
      ids.length === 0
        ? []
        : await k
            .selectFrom('runs')
            .select(['id', 'status', 'output', 'error', 'input_tokens', 'output_tokens', 'completed_at'])
            .where('id', 'in', ids)
            .where('status', 'in', TerminalStatuses)
            .execute(),
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

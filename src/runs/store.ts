import { type Kysely, sql } from 'kysely';
import type { Db } from '../infra/db/db.ts';
import { type PageParams, paginate } from '../infra/db/paginate.ts';
import { rowInserter } from '../infra/db/row-insert.ts';
import type { Database, RunEventRow, RunRow } from '../infra/db/schema.ts';

const RUN_COLUMNS = [
  'id',
  'org_id',
  'agent_id',
  'deployment_id',
  'api_key_id',
  'status',
  'model',
  'config',
  'input',
  'output',
  'error',
  'metadata',
  'latency_ms',
  'input_tokens',
  'output_tokens',
  'timeout_ms',
  'queue_timeout_ms',
  'pipeline_run_id',
  'step_id',
  'attempt',
  'created_at',
  'started_at',
  'completed_at',
  'tool_calls',
  'guardrail_hits',
  'webhook',
  'trace_context',
] as const satisfies readonly (keyof RunRow)[];

export interface RunFilters {
  agent_id?: string;
  status?: string[];
  created_after?: number;
  created_before?: number;
  metadata?: Record<string, string>;
  pipeline_run_id?: string;
  deployment_id?: string;
}

export function createRunStore(db: Db) {
  const k = db.kysely;
  // every column of a run row: the hot inserts skip the query builder (row-insert.ts)
  const insertRuns = rowInserter(db.dialect, 'runs', RUN_COLUMNS);
  const insertEvents = rowInserter(db.dialect, 'run_events', ['run_id', 'seq', 'type', 'data', 'created_at']);
  return {
    insert: (trx: Kysely<Database>, row: RunRow) => insertRuns(trx, [row]),
    insertMany: (trx: Kysely<Database>, rows: RunRow[]) => insertRuns(trx, rows),
    get: (orgId: string, id: string) =>
      k.selectFrom('runs').selectAll().where('org_id', '=', orgId).where('id', '=', id).executeTakeFirst(),
    getById: (id: string) => k.selectFrom('runs').selectAll().where('id', '=', id).executeTakeFirst(),
    getByIds: async (ids: string[]) =>
      ids.length === 0 ? [] : await k.selectFrom('runs').selectAll().where('id', 'in', ids).execute(),
    list(orgId: string, f: RunFilters, page: PageParams) {
      let q = k.selectFrom('runs').selectAll().where('org_id', '=', orgId);
      if (f.agent_id) q = q.where('agent_id', '=', f.agent_id);
      if (f.pipeline_run_id) q = q.where('pipeline_run_id', '=', f.pipeline_run_id);
      if (f.deployment_id) q = q.where('deployment_id', '=', f.deployment_id);
      if (f.status?.length) q = q.where('status', 'in', f.status);
      if (f.created_after !== undefined) q = q.where('created_at', '>', f.created_after);
      if (f.created_before !== undefined) q = q.where('created_at', '<', f.created_before);
      for (const [key, value] of Object.entries(f.metadata ?? {}))
        q = q.where(db.jsonText('metadata', key), '=', value);
      return paginate(q, page);
    },
    /** queued → running; false if the run is no longer queued (cancelled, expired). */
    async markRunning(trx: Kysely<Database>, id: string, at: number) {
      const r = await trx
        .updateTable('runs')
        .set({ status: 'running', started_at: at, attempt: sql`attempt + 1` })
        .where('id', '=', id)
        .where('status', '=', 'queued')
        .executeTakeFirst();
      return Number(r.numUpdatedRows) === 1;
    },
    /** Records a cancel asked of a live run (the executor's backstop, engine/run-executor.ts). */
    async requestCancel(id: string, at: number) {
      await db.kysely
        .updateTable('runs')
        .set({ cancel_requested_at: at })
        .where('id', '=', id)
        .where('status', 'in', ['queued', 'running'])
        .where('cancel_requested_at', 'is', null)
        .execute();
    },
    /** Of `ids`, those a cancel was asked of (one query for every run this process executes). */
    async cancelRequested(ids: string[]): Promise<string[]> {
      if (ids.length === 0) return [];
      const rows = await db.kysely
        .selectFrom('runs')
        .select('id')
        .where('id', 'in', ids)
        .where('cancel_requested_at', 'is not', null)
        .execute();
      return rows.map((r) => r.id);
    },
    /**
     * Moves a run to a terminal state only from one of `from`; false if it was already elsewhere.
     * `attempt`: only if the run is still in that attempt (markRunning counts them) — the write of
     * a worker declared lost, whose run was recovered meanwhile, is refused (infra/queue/nodes.ts).
     */
    async finish(
      trx: Kysely<Database>,
      id: string,
      from: string[],
      fields: Partial<RunRow>,
      attempt?: number,
    ) {
      let q = trx.updateTable('runs').set(fields).where('id', '=', id).where('status', 'in', from);
      if (attempt !== undefined) q = q.where('attempt', '=', attempt);
      const r = await q.executeTakeFirst();
      return Number(r.numUpdatedRows) === 1;
    },
    insertEvents: (trx: Kysely<Database>, rows: RunEventRow[]) => insertEvents(trx, rows),
    eventsAfter: (runId: string, seq: number) =>
      k
        .selectFrom('run_events')
        .selectAll()
        .where('run_id', '=', runId)
        .where('seq', '>', seq)
        .orderBy('seq')
        .execute(),
    lastSeq: async (runId: string) =>
      Number(
        (
          await k
            .selectFrom('run_events')
            .select((eb) => eb.fn.max('seq').as('m'))
            .where('run_id', '=', runId)
            .executeTakeFirst()
        )?.m ?? 0,
      ),
  };
}
export type RunStore = ReturnType<typeof createRunStore>;

import type { Kysely } from 'kysely';
import type { Db } from '../infra/db/db.ts';
import { type PageParams, paginate } from '../infra/db/paginate.ts';
import type { Database, PipelineScheduleRow, ScheduleFireRow } from '../infra/db/schema.ts';

export function createScheduleStore(db: Db) {
  const k = db.kysely;
  const live = (orgId: string, pipelineId: string) =>
    k
      .selectFrom('pipeline_schedules')
      .selectAll()
      .where('org_id', '=', orgId)
      .where('pipeline_id', '=', pipelineId)
      .where('deleted_at', 'is', null);
  return {
    insert: (row: PipelineScheduleRow, trx: Kysely<Database> = k) =>
      trx.insertInto('pipeline_schedules').values(row).execute(),
    get: (orgId: string, pipelineId: string, id: string) =>
      live(orgId, pipelineId).where('id', '=', id).executeTakeFirst(),
    /** Any live schedule by id, whatever its organization: for the job that fires it. */
    byId: (id: string, trx: Kysely<Database> = k) =>
      trx
        .selectFrom('pipeline_schedules')
        .selectAll()
        .where('id', '=', id)
        .where('deleted_at', 'is', null)
        .executeTakeFirst(),
    list: (orgId: string, pipelineId: string, page: PageParams) => paginate(live(orgId, pipelineId), page),
    /** Optimistic on `next_run_at`: a change computed from a stale read applies to nothing. */
    async update(
      id: string,
      expectedNext: number | null,
      changes: Partial<Omit<PipelineScheduleRow, 'id' | 'org_id' | 'pipeline_id' | 'created_at'>>,
      trx: Kysely<Database> = k,
    ) {
      const r = await trx
        .updateTable('pipeline_schedules')
        .set(changes)
        .where('id', '=', id)
        .where('deleted_at', 'is', null)
        .where((eb) =>
          expectedNext === null ? eb('next_run_at', 'is', null) : eb('next_run_at', '=', expectedNext),
        )
        .executeTakeFirst();
      return Number(r.numUpdatedRows) === 1;
    },
    /** Claims a tick: false when it was claimed already (the primary key is the exactly-once guard). */
    async claimTick(fire: ScheduleFireRow, trx: Kysely<Database>) {
      const r = await trx
        .insertInto('schedule_fires')
        .values(fire)
        .onConflict((oc) => oc.columns(['schedule_id', 'scheduled_for']).doNothing())
        .returning('schedule_id')
        .executeTakeFirst();
      return r !== undefined;
    },
    /** A schedule's latest ticks, newest first. */
    recentFires: (scheduleId: string, limit: number) =>
      k
        .selectFrom('schedule_fires')
        .selectAll()
        .where('schedule_id', '=', scheduleId)
        .orderBy('scheduled_for', 'desc')
        .limit(limit)
        .execute(),
  };
}
export type ScheduleStore = ReturnType<typeof createScheduleStore>;

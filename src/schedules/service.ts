/**
 * Pipeline schedules: a cron in a time zone that triggers ordinary pipeline runs.
 *
 * Each enabled schedule has one durable `schedule` job due at its `next_run_at`. The job's handler
 * (`fire`) triggers the run and, in that run's own transaction, claims the tick in
 * `schedule_fires` (primary key: schedule id + tick), moves `next_run_at` on (optimistically, from
 * the value it read), enqueues the job for the next tick and deletes its own. So a tick fires
 * exactly once: a crash before the commit leaves the job to run again, and a second worker
 * racing for the same tick (cluster mode, or a stale job left by a PATCH) finds it claimed.
 *
 * Misfire policy: a tick whose job runs late (the server was down) fires the LATEST due tick once
 * and skips the earlier ones; `next_run_at` then moves to the first tick after now. Pausing
 * (`enabled: false`) clears `next_run_at`; resuming computes it afresh from now, so the ticks of a
 * pause never fire. Runs act for the API key that created the schedule: once it is revoked the
 * schedule pauses itself at its next tick (`paused_reason: "api_key_revoked"`).
 */
import type { Kysely } from 'kysely';
import { type AuditRecorder, audited, givenFields } from '../audit/service.ts';
import type { Principal } from '../auth/principal.ts';
import { type Clock, iso } from '../clock.ts';
import { ApiError, conflict, notFound, unprocessable } from '../errors.ts';
import type { IdFactory } from '../ids.ts';
import type { PageParams } from '../infra/db/paginate.ts';
import type { Database, JobRow, PipelineScheduleRow } from '../infra/db/schema.ts';
import type { Queue } from '../infra/queue/queue.ts';
import type { PipelineService } from '../pipelines/service.ts';
import { type CronSpec, cronProblem, latestDueTick, nextTick } from './cron.ts';
import type { ScheduleStore } from './store.ts';

export const SCHEDULE_JOB = 'schedule';
const RECENT_FIRES = 5;

export interface ScheduleServiceDeps {
  store: ScheduleStore;
  pipelines: PipelineService;
  /** the principal a schedule's runs act for, or null once its key is revoked */
  principalForKey: (keyId: string) => Promise<Principal | null>;
  queue: Queue;
  ids: IdFactory;
  clock: Clock;
  audit?: AuditRecorder;
  /** runs a function in a transaction (the audit recorder's, or the database's) */
  transaction: <T>(fn: (trx: Kysely<Database>) => Promise<T>) => Promise<T>;
}

export interface CreateScheduleInput {
  cron: string;
  timezone?: string;
  input?: unknown;
  metadata?: Record<string, string>;
  enabled?: boolean;
}
export type UpdateScheduleInput = Partial<CreateScheduleInput>;

/**
 * A cron or zone that fits the schema but means nothing is semantic, like every other resource's
 * such checks: 422, so a 400 always means the request breaks the OpenAPI document.
 */
function checkSpec(spec: CronSpec) {
  const problem = cronProblem(spec);
  if (problem) throw unprocessable(`invalid_${problem.param}`, problem.message, problem.param);
}

export function createScheduleService(deps: ScheduleServiceDeps) {
  const { store, pipelines, queue, ids, clock, audit } = deps;

  /** `fn` in the audit's transaction when there is one, else in a transaction of its own. */
  const within = <T>(trx: Kysely<Database> | undefined, fn: (trx: Kysely<Database>) => Promise<T>) =>
    trx ? fn(trx) : deps.transaction(fn);

  async function mustGet(orgId: string, pipelineId: string, id: string) {
    const row = await store.get(orgId, pipelineId, id);
    if (!row) throw notFound('schedule', id);
    return row;
  }

  async function present(row: PipelineScheduleRow) {
    const fires = await store.recentFires(row.id, RECENT_FIRES);
    return {
      id: row.id,
      object: 'pipeline_schedule' as const,
      pipeline_id: row.pipeline_id,
      cron: row.cron,
      timezone: row.timezone,
      input: JSON.parse(row.input) as unknown,
      metadata: JSON.parse(row.metadata) as Record<string, string>,
      enabled: row.enabled === 1,
      paused_reason: row.paused_reason,
      next_run_at: iso(row.next_run_at),
      last_runs: fires.map((f) => ({
        scheduled_for: iso(f.scheduled_for)!,
        pipeline_run_id: f.pipeline_run_id,
        error: f.error === null ? null : (JSON.parse(f.error) as { code: string; message: string }),
        fired_at: iso(f.fired_at)!,
      })),
      created_at: iso(row.created_at)!,
      updated_at: iso(row.updated_at)!,
    };
  }

  /** Moves a schedule to its next tick and leaves the job for it, in `trx`. */
  async function advance(trx: Kysely<Database>, row: PipelineScheduleRow, next: number | null, now: number) {
    const moved = await store.update(row.id, row.next_run_at, { next_run_at: next, updated_at: now }, trx);
    if (!moved) throw new TickTaken();
    if (next !== null) await queue.enqueue(trx, { kind: SCHEDULE_JOB, ref_id: row.id, run_at: next });
  }

  return {
    async create(principal: Principal, pipelineId: string, body: CreateScheduleInput) {
      const spec = { cron: body.cron, timezone: body.timezone ?? 'UTC' };
      checkSpec(spec);
      await pipelines.checkTrigger(principal.orgId, pipelineId, body.input);
      const now = clock.now();
      const enabled = body.enabled ?? true;
      const row: PipelineScheduleRow = {
        id: ids('sch'),
        org_id: principal.orgId,
        pipeline_id: pipelineId,
        api_key_id: principal.keyId,
        cron: spec.cron,
        timezone: spec.timezone,
        input: JSON.stringify(body.input ?? {}),
        metadata: JSON.stringify(body.metadata ?? {}),
        enabled: enabled ? 1 : 0,
        next_run_at: enabled ? nextTick(spec, now) : null,
        paused_reason: null,
        created_at: now,
        updated_at: now,
        deleted_at: null,
      };
      await audited(
        audit,
        (trx) =>
          within(trx, async (tx) => {
            await store.insert(row, tx);
            if (row.next_run_at !== null)
              await queue.enqueue(tx, { kind: SCHEDULE_JOB, ref_id: row.id, run_at: row.next_run_at });
          }),
        () => ({
          orgId: principal.orgId,
          action: 'pipeline_schedule.created',
          resource: { type: 'pipeline_schedule', id: row.id },
          changes: givenFields(body),
          statusCode: 201,
        }),
      );
      queue.notify();
      return present(row);
    },

    async get(orgId: string, pipelineId: string, id: string) {
      return present(await mustGet(orgId, pipelineId, id));
    },

    async list(orgId: string, pipelineId: string, page: PageParams) {
      await pipelines.get(orgId, pipelineId);
      const { rows, has_more } = await store.list(orgId, pipelineId, page);
      return { data: await Promise.all(rows.map(present)), has_more };
    },

    /** A changed cron, zone or `enabled` recomputes `next_run_at` from now; the old job goes stale. */
    async update(orgId: string, pipelineId: string, id: string, body: UpdateScheduleInput) {
      const before = await mustGet(orgId, pipelineId, id);
      const spec = { cron: body.cron ?? before.cron, timezone: body.timezone ?? before.timezone };
      checkSpec(spec);
      if (body.input !== undefined) await pipelines.checkTrigger(orgId, pipelineId, body.input);
      const enabled = body.enabled ?? before.enabled === 1;
      const now = clock.now();
      const reschedule =
        body.cron !== undefined || body.timezone !== undefined || enabled !== (before.enabled === 1);
      const next = !enabled ? null : reschedule ? nextTick(spec, now) : before.next_run_at;
      const changes = {
        cron: spec.cron,
        timezone: spec.timezone,
        input: body.input === undefined ? before.input : JSON.stringify(body.input),
        metadata: body.metadata === undefined ? before.metadata : JSON.stringify(body.metadata),
        enabled: enabled ? 1 : 0,
        next_run_at: next,
        paused_reason: enabled ? null : before.paused_reason,
        updated_at: now,
      };
      await audited(
        audit,
        (trx) =>
          within(trx, async (tx) => {
            if (!(await store.update(id, before.next_run_at, changes, tx)))
              throw conflict('schedule_changed', 'The schedule changed meanwhile; retry');
            if (reschedule && next !== null)
              await queue.enqueue(tx, { kind: SCHEDULE_JOB, ref_id: id, run_at: next });
          }),
        () => ({
          orgId,
          action: 'pipeline_schedule.updated',
          resource: { type: 'pipeline_schedule', id },
          changes: givenFields(body),
          statusCode: 200,
        }),
      );
      queue.notify();
      return present({ ...before, ...changes });
    },

    async remove(orgId: string, pipelineId: string, id: string) {
      const before = await mustGet(orgId, pipelineId, id);
      await audited(
        audit,
        (trx) =>
          store.update(
            id,
            before.next_run_at,
            { deleted_at: clock.now(), next_run_at: null },
            trx ?? undefined,
          ),
        () => ({
          orgId,
          action: 'pipeline_schedule.deleted',
          resource: { type: 'pipeline_schedule', id },
          statusCode: 200,
        }),
      );
      return { id, object: 'pipeline_schedule' as const, deleted: true };
    },

    /** The `schedule` job's handler: fires the due tick (see the module header). */
    async fire(job: JobRow) {
      const row = await store.byId(job.ref_id);
      const now = clock.now();
      // a stale job: the schedule was deleted or paused, or this job was left for a tick that has
      // fired or was rescheduled since (a retried job's run_at moved later, so it is not stale)
      if (!row || row.next_run_at === null || job.run_at < row.next_run_at) {
        await deps.transaction((trx) => queue.complete(trx, job.id));
        return;
      }
      if (row.next_run_at > now) {
        // early (another node's clock): hand the tick to a job due on time
        const at = row.next_run_at;
        await deps.transaction(async (trx) => {
          await queue.enqueue(trx, { kind: SCHEDULE_JOB, ref_id: row.id, run_at: at });
          await queue.complete(trx, job.id);
        });
        return;
      }
      const spec = { cron: row.cron, timezone: row.timezone };
      const due = latestDueTick(spec, row.next_run_at, now);
      const next = nextTick(spec, now);
      const claim = async (trx: Kysely<Database>, runId: string | null, error: ApiError | null) => {
        const fresh = await store.claimTick(
          {
            schedule_id: row.id,
            scheduled_for: due,
            pipeline_run_id: runId,
            error: error ? JSON.stringify({ code: error.code, message: error.message }) : null,
            fired_at: now,
          },
          trx,
        );
        if (!fresh) throw new TickTaken();
        await advance(trx, row, next, now);
        await queue.complete(trx, job.id);
      };
      const principal = await deps.principalForKey(row.api_key_id);
      try {
        if (!principal) {
          await deps.transaction(async (trx) => {
            await store.update(
              row.id,
              row.next_run_at,
              { enabled: 0, next_run_at: null, paused_reason: 'api_key_revoked', updated_at: now },
              trx,
            );
            await queue.complete(trx, job.id);
          });
          return;
        }
        await pipelines.trigger(
          principal,
          row.pipeline_id,
          { input: JSON.parse(row.input), metadata: JSON.parse(row.metadata) },
          {
            triggeredBy: { type: 'schedule', schedule_id: row.id, scheduled_for: iso(due) },
            within: (trx, run) => claim(trx, run.id, null),
          },
        );
      } catch (err) {
        if (err instanceof TickTaken) {
          // another worker (or an earlier attempt that committed) fired this tick: nothing to do
          await deps.transaction((trx) => queue.complete(trx, job.id));
          return;
        }
        // the pipeline is gone or refuses this input: the tick is recorded with why, and the
        // schedule moves on (a deleted pipeline's schedule stops)
        if (!(err instanceof ApiError)) throw err;
        const gone = err.status === 404;
        await deps
          .transaction(async (trx) => {
            await claim(trx, null, err);
            if (gone) await store.update(row.id, next, { deleted_at: now, next_run_at: null }, trx);
          })
          .catch((e) => {
            if (!(e instanceof TickTaken)) throw e;
          });
      }
    },
  };
}
export type ScheduleService = ReturnType<typeof createScheduleService>;

/** The tick was claimed by someone else (or the schedule moved on) between read and write. */
class TickTaken extends Error {}

/**
 * The durable pipeline engine: applies the scheduler's decisions (scheduler.ts) to the database.
 *
 * All orchestration state lives in the `pipeline_runs` row (a JSON map of step records) and in the
 * step runs themselves (ordinary `runs` rows carrying `pipeline_run_id` and `step_id`). `advance`
 * is the only writer and is idempotent: it reads the row, folds in every step run that has reached
 * a terminal state, asks `schedule()` what to do, prepares the runs to start (agent look-ups, no
 * transaction held), then in ONE transaction checks that nobody advanced the row meanwhile
 * (`state_version`, in the UPDATE that also takes the row lock on Postgres), inserts the step runs
 * with their jobs (claimed by this process's pool when it has free slots, so they start on commit
 * without a claim query), the new step states, the events and a delayed wake-up job for retries. A
 * lost race recomputes. The row as this engine last committed it is kept in memory and used instead
 * of a read; the same version check makes a stale copy (another process advanced it) a lost race.
 *
 * Who advances: the trigger, whose transaction also writes the first pass when it is a plain start
 * (otherwise a `pipeline` job does it); `pipeline` jobs (retry wake-ups, the deadline); the run
 * executor's `onFinished` hook for step runs; the cancel route; a sweep at start-up over unfinished
 * pipeline runs. That sweep is what makes a crash harmless: a step run that finished before the
 * crash is folded in then; one that was mid-call is failed `worker_lost` by the run executor on
 * restart and its step gets a fresh run without spending a retry attempt (the model call never
 * returned); one that was queued simply runs. Completed steps are never run again: their output is
 * in the row. Calls for the same pipeline run are serialised in-process, so the optimistic check
 * only matters between processes (cluster mode).
 */

import type { Kysely } from 'kysely';
import type { Principal } from '../auth/principal.ts';
import type { Clock } from '../clock.ts';
import { iso } from '../clock.ts';
import type { Bus } from '../infra/bus/bus.ts';
import type { Db } from '../infra/db/db.ts';
import type { Database, JobRow, PipelineRunRow, RunRow } from '../infra/db/schema.ts';
import type { Queue } from '../infra/queue/queue.ts';
import type { PreparedRun, RunService } from '../runs/service.ts';
import type { RunStore } from '../runs/store.ts';
import { type CompiledPipeline, compilePipeline, type PipelineDefinition } from './definition.ts';
import {
  type EventDraft,
  emptyStep,
  eventRow,
  isPipelineTerminal,
  type PipelineEventType,
  parseSteps,
  pipelineRunTopic,
  type StepRecord,
} from './events.ts';
import { type StepError, StepStatuses, schedule } from './scheduler.ts';
import type { FinishedStepRun } from './store.ts';

/** Steps of one pipeline run executing at once; the rest wait for a free slot. */
export const MAX_PARALLEL_STEPS = 8;
const MAX_RACES = 5;
const MAX_CACHED_ROWS = 1_000;

export interface PipelineEngineDeps {
  db: Db;
  store: import('./store.ts').PipelineStore;
  /** late-bound: the run service is built after the executor whose hook calls us */
  runs: () => RunService;
  bus: Bus;
  queue: Queue;
  clock: Clock;
  present: (row: PipelineRunRow) => unknown;
  maxParallel?: number;
  onError?: (err: unknown, pipelineRunId: string) => void;
  /** inside the transaction that makes a pipeline run terminal, with its final row (metrics rollups) */
  onTerminalTrx?: (trx: Parameters<RunStore['finish']>[0], row: PipelineRunRow) => Promise<void>;
  /** after that transaction committed (completion webhooks: wake their pool) */
  onTerminal?: (row: PipelineRunRow) => void;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v);

function runError(run: FinishedStepRun): StepError {
  const stored = run.error ? (JSON.parse(run.error) as { code?: string; message?: string }) : null;
  return {
    code: stored?.code ?? `run_${run.status}`,
    message: stored?.message ?? `The step's run ended ${run.status}`,
  };
}

export function createPipelineEngine(deps: PipelineEngineDeps) {
  const { db, store, bus, queue, clock } = deps;
  const maxParallel = deps.maxParallel ?? MAX_PARALLEL_STEPS;
  const chains = new Map<string, Promise<void>>();
  const waitingPlain = new Map<string, { promise: Promise<void>; onlyFinishes: boolean }>();
  // Step runs reported finished (onRunFinished, with their final rows) that no committed pass has
  // folded in yet, per pipeline run: a pass takes them from here instead of reading them back, and
  // a pass queued for finishes that an earlier pass already folded in is skipped.
  const unseen = new Map<string, Map<string, FinishedStepRun>>();
  const plans = new Map<string, CompiledPipeline>();
  // Unfinished pipeline runs as this engine last committed them (see step).
  const committedRows = new Map<string, PipelineRunRow>();
  function remember(id: string, row: PipelineRunRow) {
    committedRows.delete(id);
    if (committedRows.size >= MAX_CACHED_ROWS)
      committedRows.delete(committedRows.keys().next().value as string);
    committedRows.set(id, row);
  }

  function planOf(row: PipelineRunRow): CompiledPipeline {
    const key = `${row.pipeline_id}@${row.pipeline_version}`;
    let plan = plans.get(key);
    if (!plan) {
      plan = compilePipeline(JSON.parse(row.definition) as PipelineDefinition);
      if (plans.size >= 200) plans.delete(plans.keys().next().value as string);
      plans.set(key, plan);
    }
    return plan;
  }

  /** Folds a step run that reached a terminal state into its step record. */
  function absorb(stepId: string, rec: StepRecord, run: FinishedStepRun, events: EventDraft[]) {
    const base = { step_id: stepId, run_id: run.id, attempt: rec.attempts };
    rec.completed_at = run.completed_at;
    switch (run.status) {
      case 'completed':
        rec.status = StepStatuses.completed;
        rec.output = run.output === null ? null : JSON.parse(run.output);
        rec.error = null;
        events.push({ type: 'pipeline.step.completed', ...base, output: rec.output });
        return;
      case 'cancelled':
        rec.status = StepStatuses.cancelled;
        rec.error = { code: 'run_cancelled', message: `The step's run ${run.id} was cancelled` };
        events.push({ type: 'pipeline.step.cancelled', ...base, error: rec.error });
        return;
      default: {
        const error = runError(run);
        rec.status = StepStatuses.failed;
        rec.error = error;
        if (error.code === 'worker_lost') {
          // The call never returned: this attempt does not count against the retry budget.
          rec.attempts = Math.max(0, rec.attempts - 1);
          if (rec.attempts === 0) rec.status = StepStatuses.pending;
        }
        events.push({ type: 'pipeline.step.failed', ...base, error });
      }
    }
  }

  function abandon(prepared: PreparedRun[]) {
    for (const p of prepared) {
      if (p.job) queue.abandon(p.job);
      p.job = undefined;
    }
  }

  async function completeJob(jobId: string | undefined) {
    if (jobId) await db.kysely.transaction().execute((trx) => queue.complete(trx, jobId));
  }

  /**
   * One pass's decision for `row`: folds in the step runs that ended, asks the scheduler, prepares
   * the runs to start (no transaction held). `write` then stores it, `applied` follows the commit.
   */
  async function decide(row: PipelineRunRow, cancel: boolean) {
    const id = row.id;
    const now = clock.now();
    const plan = planOf(row);
    const steps = parseSteps(row);
    const events: EventDraft[] = [];
    let tokens = 0;

    const live = Object.values(steps).flatMap((rec) =>
      rec.status === StepStatuses.running && rec.run_id ? [rec.run_id] : [],
    );
    // the runs reported finished here are known; the others are looked up (any may have ended,
    // e.g. in another process)
    const reported = unseen.get(id);
    const known = reported ? live.flatMap((runId) => reported.get(runId) ?? []) : [];
    const others = reported ? live.filter((runId) => !reported.has(runId)) : live;
    const runs = new Map([...known, ...(await store.finishedStepRuns(others))].map((r) => [r.id, r]));
    for (const [stepId, rec] of Object.entries(steps)) {
      if (rec.status !== StepStatuses.running || !rec.run_id) continue;
      const run = runs.get(rec.run_id);
      if (!run) continue;
      tokens += (run.input_tokens ?? 0) + (run.output_tokens ?? 0);
      absorb(stepId, rec, run, events);
    }

    const running = Object.values(steps).filter((s) => s.status === StepStatuses.running).length;
    const input = JSON.parse(row.input);
    let decision = await schedule(
      plan,
      { status: cancel ? 'cancelled' : 'running', input, steps },
      { now, maxStarts: Math.max(0, maxParallel - running) },
    );
    // Past the pipeline's deadline, work still to do is cancelled and the run ends timed_out
    // (a run whose last step finished just in time completes).
    const timeoutMs = plan.def.timeout_ms;
    const timedOut =
      !cancel &&
      timeoutMs !== undefined &&
      now >= row.created_at + timeoutMs &&
      decision.run.status === 'running';
    if (timedOut)
      decision = await schedule(plan, { status: 'cancelled', input, steps }, { now, maxStarts: 0 });

    const principal = { orgId: row.org_id, keyId: row.api_key_id } as Principal;
    const prepared: PreparedRun[] = [];
    let again = false;
    for (const start of decision.start) {
      const rec = steps[start.step_id] ?? emptyStep();
      steps[start.step_id] = rec;
      try {
        if (!isObject(start.input))
          throw Object.assign(new Error('A step input must render to a JSON object'), {
            code: 'invalid_step_input',
          });
        const p = await deps.runs().prepare(
          principal,
          {
            agent_id: start.agent_id,
            input: start.input,
            timeout_ms: start.timeout_ms ?? undefined,
            metadata: { pipeline_id: row.pipeline_id, pipeline_run_id: id, step_id: start.step_id },
          },
          // step runs join the trace of the request that triggered the pipeline run
          { pipeline_run_id: id, step_id: start.step_id, trace_context: row.trace_context ?? null },
        );
        prepared.push(p);
        Object.assign(rec, {
          status: StepStatuses.running,
          attempts: start.attempt,
          run_id: p.row.id,
          run_ids: [...rec.run_ids, p.row.id],
          started_at: rec.started_at ?? now,
          completed_at: null,
          next_attempt_at: null,
          error: null,
        });
        events.push({
          type: 'pipeline.step.started',
          step_id: start.step_id,
          run_id: p.row.id,
          attempt: start.attempt,
        });
      } catch (err) {
        // the agent was deleted since the pipeline was defined, or the input is not an object
        const e = err as { code?: string; message?: string };
        const error: StepError = {
          code: e.code === 'resource_missing' ? 'agent_not_found' : (e.code ?? 'step_start_failed'),
          message: e.message ?? 'The step could not start',
          retryable: false,
        };
        Object.assign(rec, {
          status: StepStatuses.failed,
          attempts: start.attempt,
          error,
          completed_at: now,
        });
        events.push({
          type: 'pipeline.step.failed',
          step_id: start.step_id,
          attempt: start.attempt,
          error,
        });
        again = true;
      }
    }
    for (const skip of decision.skip) {
      const rec = steps[skip.step_id] ?? emptyStep();
      steps[skip.step_id] = { ...rec, status: StepStatuses.skipped, completed_at: now };
      events.push({
        type: 'pipeline.step.skipped',
        step_id: skip.step_id,
        reason: skip.reason,
        ...(skip.upstream && { upstream: skip.upstream }),
      });
    }
    for (const fail of decision.fail) {
      const rec = steps[fail.step_id] ?? emptyStep();
      steps[fail.step_id] = { ...rec, status: StepStatuses.failed, error: fail.error, completed_at: now };
      events.push({ type: 'pipeline.step.failed', step_id: fail.step_id, error: fail.error });
    }
    for (const retry of decision.retry) {
      const rec = steps[retry.step_id] ?? emptyStep();
      steps[retry.step_id] = { ...rec, status: StepStatuses.pending, next_attempt_at: retry.at };
      events.push({
        type: 'pipeline.step.retry_scheduled',
        step_id: retry.step_id,
        attempt: retry.attempt,
        retry_at: iso(retry.at)!,
      });
    }
    const toCancel: string[] = [];
    if (!again) {
      for (const cancel of decision.cancel) {
        const rec = steps[cancel.step_id] ?? emptyStep();
        if (cancel.was === 'running' && rec.run_id) toCancel.push(rec.run_id);
        steps[cancel.step_id] = { ...rec, status: StepStatuses.cancelled, completed_at: now };
        events.push({ type: 'pipeline.step.cancelled', step_id: cancel.step_id, reason: 'pipeline_ended' });
      }
    }

    const fields: Partial<PipelineRunRow> = {
      steps: JSON.stringify(steps),
      tokens_used: row.tokens_used + tokens,
      state_version: row.state_version + 1,
    };
    if (row.status === 'queued' && !cancel) {
      fields.status = 'running';
      fields.started_at = now;
      events.unshift({ type: 'pipeline.started' });
    }
    const outcome = decision.run;
    const ending = timedOut ? 'timed_out' : outcome.status;
    if (!again && outcome.status !== 'running') {
      fields.status = ending;
      fields.completed_at = now;
      if (outcome.status === 'completed') fields.output = JSON.stringify(outcome.output ?? null);
      if (outcome.status === 'failed') fields.error = JSON.stringify(outcome.error);
      if (outcome.status === 'cancelled')
        fields.error = JSON.stringify(
          timedOut
            ? {
                code: 'pipeline_timeout',
                message: `The pipeline run exceeded its timeout of ${timeoutMs} ms`,
              }
            : { code: 'pipeline_cancelled', message: 'The pipeline run was cancelled' },
        );
    }
    const final: PipelineRunRow = { ...row, ...fields };
    if (!again && isPipelineTerminal(final.status)) {
      events.push({
        type: `pipeline.${ending}` as PipelineEventType,
        pipeline_run: deps.present(final),
      });
    }
    const wakeAt = outcome.status === 'running' && decision.retry.length > 0 ? outcome.wake_at : null;
    return { id, row, now, steps, events, prepared, fields, final, again, toCancel, wakeAt };
  }
  type Pass = Awaited<ReturnType<typeof decide>>;

  /**
   * Stores a pass in the caller's transaction: null when another engine advanced the row since it
   * was read. The step runs' jobs are inserted already claimed by this process's pool when it has
   * free slots (`applied` starts them, no claim query; `abandon` gives the slots back).
   */
  async function write(trx: Kysely<Database>, pass: Pass, jobId?: string) {
    const { id, row, now, events, fields, final } = pass;
    // the state check and the row lock (Postgres) in one statement; event numbers follow it
    const last = await store.advanceRun(trx, id, row.state_version, fields, events.length);
    if (last === null) return null;
    let seq = last - events.length;
    const eventRows = events.map((e) => eventRow(id, ++seq, now, e));
    for (const p of pass.prepared) await deps.runs().insertPrepared(trx, p, true);
    if (!pass.again && isPipelineTerminal(final.status)) await deps.onTerminalTrx?.(trx, final);
    await store.insertEvents(trx, eventRows);
    if (pass.wakeAt !== null) await queue.enqueue(trx, { kind: 'pipeline', ref_id: id, run_at: pass.wakeAt });
    if (jobId) await queue.complete(trx, jobId);
    return { rows: eventRows, lastSeq: last };
  }
  type Written = NonNullable<Awaited<ReturnType<typeof write>>>;

  /** After a pass's transaction committed: announce it and start its runs. */
  async function applied(pass: Pass, written: Written) {
    const { id, row, steps, final } = pass;
    if (isPipelineTerminal(final.status)) committedRows.delete(id);
    else remember(id, { ...final, event_seq: written.lastSeq });
    // finishes reported for runs this pass folded in (or an earlier one did) are seen now
    const reported = unseen.get(id);
    if (reported && isPipelineTerminal(final.status)) unseen.delete(id);
    else if (reported) {
      const running = new Set(
        Object.values(steps).map((rec) => rec.status === StepStatuses.running && rec.run_id),
      );
      for (const runId of [...reported.keys()]) if (!running.has(runId)) reported.delete(runId);
    }
    for (const r of written.rows) bus.publish(pipelineRunTopic(id), JSON.parse(r.data));
    if (!pass.again && isPipelineTerminal(final.status)) deps.onTerminal?.(final);
    for (const p of pass.prepared) deps.runs().kick(p);
    if (pass.wakeAt !== null) queue.notify();
    for (const runId of pass.toCancel)
      await deps
        .runs()
        .cancel(row.org_id, runId, 0)
        .catch(() => {});
  }

  async function step(id: string, opts: { cancel?: boolean; jobId?: string }): Promise<void> {
    for (let race = 0; race < MAX_RACES; race++) {
      // The row as this engine last wrote it saves a read; if another process advanced it since,
      // the version check at commit fails and the next round reads it afresh.
      const cached = race === 0 ? committedRows.get(id) : undefined;
      const row = cached ?? (await store.getRunById(id));
      if (!row || isPipelineTerminal(row.status)) {
        unseen.delete(id);
        committedRows.delete(id);
        return completeJob(opts.jobId);
      }
      const pass = await decide(row, opts.cancel === true);
      let written: Written | null;
      try {
        written = await db.kysely.transaction().execute((trx) => write(trx, pass, opts.jobId));
      } catch (err) {
        abandon(pass.prepared);
        throw err;
      }
      if (!written) {
        committedRows.delete(id);
        abandon(pass.prepared);
        continue; // another engine advanced this run: recompute from its state
      }
      opts.jobId = undefined;
      await applied(pass, written);
      if (!pass.again) return;
      race = -1; // a start failed: decide again with that failure known
    }
    throw new Error(`pipeline run ${id}: state kept changing under the engine`);
  }

  /**
   * Advances one pipeline run; calls for the same run queue behind each other. A plain call (a step
   * run finished) joins one already waiting to start: it will read the newest state anyway, so a
   * fan-out of 8 finishing together costs two passes, not eight. A pass queued only for finishes
   * is skipped when the passes before it folded all of them in already.
   */
  function advance(
    id: string,
    opts: { cancel?: boolean; jobId?: string; finished?: boolean } = {},
  ): Promise<void> {
    const plain = !opts.cancel && !opts.jobId;
    const waiting = plain ? waitingPlain.get(id) : undefined;
    if (waiting) {
      if (!opts.finished) waiting.onlyFinishes = false;
      return waiting.promise;
    }
    const previous = chains.get(id) ?? Promise.resolve();
    const entry = { promise: previous, onlyFinishes: opts.finished === true };
    const next: Promise<void> = previous
      .catch(() => {})
      .then(() => {
        if (waitingPlain.get(id) === entry) waitingPlain.delete(id);
        if (plain && entry.onlyFinishes && !unseen.get(id)?.size) return;
        return step(id, { cancel: opts.cancel, jobId: opts.jobId });
      });
    entry.promise = next;
    if (plain) waitingPlain.set(id, entry);
    chains.set(id, next);
    void next
      .finally(() => {
        if (chains.get(id) === next) chains.delete(id);
      })
      .catch(() => {});
    return next;
  }

  return {
    advance,
    /**
     * The first pass of a run being triggered, decided before the trigger's transaction so that it
     * commits with the run (`write` inside it, `applied` after it; `abandon(pass.prepared)` if it
     * rolled back). Null when the pass is not a plain start (a step could not start, the run
     * ends at once): the trigger then leaves it to a `pipeline` job.
     */
    async firstPass(row: PipelineRunRow): Promise<Pass | null> {
      const pass = await decide(row, false).catch(() => null);
      if (!pass) return null;
      if (pass.again || pass.wakeAt !== null || pass.toCancel.length || isPipelineTerminal(pass.final.status))
        return null;
      return pass;
    },
    write,
    applied,
    abandon,
    /**
     * The queue gave up on a pipeline job (its pass kept failing): the run ends `failed` with
     * `pipeline_error`, its running step runs are cancelled, so nothing is left running forever.
     */
    async giveUp(job: JobRow): Promise<void> {
      const id = job.ref_id;
      for (let race = 0; race < MAX_RACES; race++) {
        const row = await store.getRunById(id);
        if (!row || isPipelineTerminal(row.status)) return;
        const now = clock.now();
        const steps = parseSteps(row);
        const toCancel: string[] = [];
        for (const rec of Object.values(steps)) {
          if (rec.status === StepStatuses.running && rec.run_id) toCancel.push(rec.run_id);
          if (rec.status === StepStatuses.running || rec.status === StepStatuses.pending)
            Object.assign(rec, { status: StepStatuses.cancelled, completed_at: now });
        }
        const error = {
          code: 'pipeline_error',
          message:
            'The pipeline run could not be advanced (an internal error, logged by the server); trigger it again',
        };
        const fields: Partial<PipelineRunRow> = {
          steps: JSON.stringify(steps),
          status: 'failed',
          error: JSON.stringify(error),
          completed_at: now,
          state_version: row.state_version + 1,
        };
        const final: PipelineRunRow = { ...row, ...fields };
        const pass: Pass = {
          ...{ id, row, now, steps, fields, final, toCancel },
          events: [{ type: 'pipeline.failed', pipeline_run: deps.present(final) }],
          prepared: [],
          again: false,
          wakeAt: null,
        };
        const written = await db.kysely.transaction().execute((trx) => write(trx, pass, job.id));
        if (!written) continue; // advanced meanwhile: look again
        await applied(pass, written);
        return;
      }
    },
    /** The run executor's onFinished hook: a step's run ended. */
    onRunFinished(run: RunRow) {
      if (!run.pipeline_run_id) return;
      const id = run.pipeline_run_id;
      const reported = unseen.get(id) ?? new Map<string, FinishedStepRun>();
      reported.set(run.id, run);
      unseen.set(id, reported);
      advance(id, { finished: true }).catch((err) => deps.onError?.(err, id));
    },
    /** After a restart: fold in whatever finished while no engine was watching. */
    async recover() {
      for (const id of await store.unfinishedRunIds())
        await advance(id).catch((err) => deps.onError?.(err, id));
    },
  };
}
export type PipelineEngine = ReturnType<typeof createPipelineEngine>;

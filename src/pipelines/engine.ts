/**
 * The durable pipeline engine: applies the scheduler's decisions (scheduler.ts) to the database.
 *
 * All orchestration state lives in the `pipeline_runs` row (a JSON map of step records) and in the
 * step runs themselves (ordinary `runs` rows carrying `pipeline_run_id` and `step_id`). `advance`
 * is the only writer and is idempotent: it reads the row, folds in every step run that has reached
 * a terminal state, asks `schedule()` what to do, prepares the runs to start (agent look-ups, no
 * transaction held), then in ONE transaction checks that nobody advanced the row meanwhile
 * (`state_version`, plus a row lock on Postgres), inserts the step runs with their jobs, the new
 * step states, the events and a delayed wake-up job for retries. A lost race recomputes.
 *
 * Who calls advance: the `pipeline` job (trigger, retry wake-ups), the run executor's `onFinished`
 * hook for step runs, the cancel route, and a sweep at start-up over unfinished pipeline runs. That
 * sweep is what makes a crash harmless: a step run that finished before the crash is folded in
 * then; one that was mid-call is failed `worker_lost` by the run executor on restart and its step
 * gets a fresh run without spending a retry attempt (the model call never returned); one that was
 * queued simply runs. Completed steps are never run again: their output is in the row.
 * Calls for the same pipeline run are serialised in-process, so the optimistic check only matters
 * between processes (cluster mode).
 */
import type { Principal } from '../auth/principal.ts';
import type { Clock } from '../clock.ts';
import { iso } from '../clock.ts';
import type { Bus } from '../infra/bus/bus.ts';
import type { Db } from '../infra/db/db.ts';
import type { PipelineRunEventRow, PipelineRunRow, RunRow } from '../infra/db/schema.ts';
import type { Queue } from '../infra/queue/queue.ts';
import { isTerminal } from '../runs/events.ts';
import type { PreparedRun, RunService } from '../runs/service.ts';
import type { RunStore } from '../runs/store.ts';
import { type CompiledPipeline, compilePipeline, type PipelineDefinition } from './definition.ts';
import { type StepError, type StepState, StepStatuses, schedule } from './scheduler.ts';

/** Steps of one pipeline run executing at once; the rest wait for a free slot. */
export const MAX_PARALLEL_STEPS = 8;
const MAX_RACES = 5;

export interface StepRecord extends StepState {
  /** every run started for this step, oldest first */
  run_ids: string[];
  /** the run of the current (or last) attempt */
  run_id: string | null;
  started_at: number | null;
  completed_at: number | null;
}

export const PipelineRunStatusList = [
  'queued',
  'running',
  'completed',
  'failed',
  'cancelled',
  'timed_out',
] as const;
export const isPipelineTerminal = (s: string) =>
  s === 'completed' || s === 'failed' || s === 'cancelled' || s === 'timed_out';

export const PipelineEventTypes = [
  'pipeline.created',
  'pipeline.started',
  'pipeline.step.started',
  'pipeline.step.completed',
  'pipeline.step.failed',
  'pipeline.step.retry_scheduled',
  'pipeline.step.skipped',
  'pipeline.step.cancelled',
  'pipeline.completed',
  'pipeline.failed',
  'pipeline.cancelled',
  'pipeline.timed_out',
] as const;
export type PipelineEventType = (typeof PipelineEventTypes)[number];
export const isPipelineTerminalEvent = (type: string) =>
  type === 'pipeline.completed' ||
  type === 'pipeline.failed' ||
  type === 'pipeline.cancelled' ||
  type === 'pipeline.timed_out';

export interface PipelineEvent {
  type: PipelineEventType;
  sequence_number: number;
  pipeline_run_id: string;
  created_at: string;
  step_id?: string;
  run_id?: string;
  attempt?: number;
  output?: unknown;
  error?: unknown;
  reason?: string;
  upstream?: string;
  retry_at?: string;
  /** created and terminal events carry the pipeline run as it stands */
  pipeline_run?: unknown;
}
type EventDraft = Omit<PipelineEvent, 'sequence_number' | 'pipeline_run_id' | 'created_at'>;

export const pipelineRunTopic = (id: string) => `prun:${id}`;

export function eventRow(id: string, seq: number, at: number, draft: EventDraft): PipelineRunEventRow {
  const event: PipelineEvent = {
    ...draft,
    sequence_number: seq,
    pipeline_run_id: id,
    created_at: iso(at)!,
  };
  return { pipeline_run_id: id, seq, type: draft.type, data: JSON.stringify(event), created_at: at };
}

export function parseSteps(row: PipelineRunRow): Record<string, StepRecord> {
  return JSON.parse(row.steps) as Record<string, StepRecord>;
}

export function emptyStep(): StepRecord {
  return {
    status: StepStatuses.pending,
    attempts: 0,
    run_ids: [],
    run_id: null,
    output: null,
    error: null,
    started_at: null,
    completed_at: null,
  };
}

export interface PipelineEngineDeps {
  db: Db;
  store: import('./store.ts').PipelineStore;
  runStore: RunStore;
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
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v);

function runError(run: RunRow): StepError {
  const stored = run.error ? (JSON.parse(run.error) as { code?: string; message?: string }) : null;
  return {
    code: stored?.code ?? `run_${run.status}`,
    message: stored?.message ?? `The step's run ended ${run.status}`,
  };
}

export function createPipelineEngine(deps: PipelineEngineDeps) {
  const { db, store, runStore, bus, queue, clock } = deps;
  const maxParallel = deps.maxParallel ?? MAX_PARALLEL_STEPS;
  const chains = new Map<string, Promise<void>>();
  const waitingPlain = new Map<string, Promise<void>>();
  const plans = new Map<string, CompiledPipeline>();

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
  function absorb(stepId: string, rec: StepRecord, run: RunRow, events: EventDraft[]) {
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

  async function completeJob(jobId: string | undefined) {
    if (jobId) await db.kysely.transaction().execute((trx) => queue.complete(trx, jobId));
  }

  async function step(id: string, opts: { cancel?: boolean; jobId?: string }): Promise<void> {
    for (let race = 0; race < MAX_RACES; race++) {
      const row = await store.getRunById(id);
      if (!row || isPipelineTerminal(row.status)) return completeJob(opts.jobId);
      const now = clock.now();
      const plan = planOf(row);
      const steps = parseSteps(row);
      const events: EventDraft[] = [];
      let tokens = 0;

      const live = Object.values(steps).flatMap((rec) =>
        rec.status === StepStatuses.running && rec.run_id ? [rec.run_id] : [],
      );
      const runs = new Map((await runStore.getByIds(live)).map((r) => [r.id, r]));
      for (const [stepId, rec] of Object.entries(steps)) {
        if (rec.status !== StepStatuses.running || !rec.run_id) continue;
        const run = runs.get(rec.run_id);
        if (!run || !isTerminal(run.status)) continue;
        tokens += (run.input_tokens ?? 0) + (run.output_tokens ?? 0);
        absorb(stepId, rec, run, events);
      }

      const running = Object.values(steps).filter((s) => s.status === StepStatuses.running).length;
      const input = JSON.parse(row.input);
      let decision = await schedule(
        plan,
        { status: opts.cancel ? 'cancelled' : 'running', input, steps },
        { now, maxStarts: Math.max(0, maxParallel - running) },
      );
      // Past the pipeline's deadline, work still to do is cancelled and the run ends timed_out
      // (a run whose last step finished just in time completes).
      const timeoutMs = plan.def.timeout_ms;
      const timedOut =
        !opts.cancel &&
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
            { pipeline_run_id: id, step_id: start.step_id },
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
      if (row.status === 'queued' && !opts.cancel) {
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

      const rows = await db.kysely.transaction().execute(async (trx) => {
        const locked = await store.lockRun(trx, id);
        if (!locked || Number(locked.state_version) !== row.state_version) return null;
        let seq = Number(locked.event_seq);
        const eventRows = events.map((e) => eventRow(id, ++seq, now, e));
        for (const p of prepared) await deps.runs().insertPrepared(trx, p);
        await store.updateRun(trx, id, { ...fields, event_seq: seq });
        if (!again && isPipelineTerminal(final.status)) await deps.onTerminalTrx?.(trx, final);
        await store.insertEvents(trx, eventRows);
        if (wakeAt !== null) await queue.enqueue(trx, { kind: 'pipeline', ref_id: id, run_at: wakeAt });
        if (opts.jobId) await queue.complete(trx, opts.jobId);
        return eventRows;
      });
      if (!rows) continue; // another engine advanced this run: recompute from its state
      opts.jobId = undefined;
      for (const r of rows) bus.publish(pipelineRunTopic(id), JSON.parse(r.data));
      if (prepared.length) deps.runs().kick();
      if (wakeAt !== null) queue.notify();
      for (const runId of toCancel)
        await deps
          .runs()
          .cancel(row.org_id, runId, 0)
          .catch(() => {});
      if (!again) return;
      race = -1; // a start failed: decide again with that failure known
    }
    throw new Error(`pipeline run ${id}: state kept changing under the engine`);
  }

  /**
   * Advances one pipeline run; calls for the same run queue behind each other. A plain call (a step
   * run finished) joins one already waiting to start: it will read the newest state anyway, so a
   * fan-out of 8 finishing together costs two passes, not eight.
   */
  function advance(id: string, opts: { cancel?: boolean; jobId?: string } = {}): Promise<void> {
    const plain = !opts.cancel && !opts.jobId;
    const waiting = plain ? waitingPlain.get(id) : undefined;
    if (waiting) return waiting;
    const previous = chains.get(id) ?? Promise.resolve();
    const next: Promise<void> = previous
      .catch(() => {})
      .then(() => {
        if (waitingPlain.get(id) === next) waitingPlain.delete(id);
        return step(id, { ...opts });
      });
    if (plain) waitingPlain.set(id, next);
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
    /** The run executor's onFinished hook: a step's run ended. */
    onRunFinished(run: RunRow) {
      if (!run.pipeline_run_id) return;
      const id = run.pipeline_run_id;
      advance(id).catch((err) => deps.onError?.(err, id));
    },
    /** After a restart: fold in whatever finished while no engine was watching. */
    async recover() {
      for (const id of await store.unfinishedRunIds())
        await advance(id).catch((err) => deps.onError?.(err, id));
    },
  };
}
export type PipelineEngine = ReturnType<typeof createPipelineEngine>;

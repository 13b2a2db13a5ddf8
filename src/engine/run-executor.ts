/**
 * Executes one run job. The state machine, all transitions conditional in SQL so a late writer
 * never overwrites a terminal state:
 *
 *   queued ──claim──▶ running ──model ok──▶ completed
 *     │                 ├──model error──▶ failed        (error.code from the provider)
 *     │                 ├──timeout_ms───▶ timed_out
 *     │                 └──cancel───────▶ cancelled     (AbortSignal stops the provider call)
 *     ├──cancel──▶ cancelled   (by the cancel route, no job run)
 *     └──queue_timeout_ms passed before a worker took it──▶ expired
 *
 * Crash recovery: a job found for a run that is already `running` means the worker that ran it died
 * mid-call (kill -9, power loss). We do not call the model again — a provider call may have had
 * effects (tool calls, billing) — and fail the run with `worker_lost`; the client can resubmit.
 *
 * Output deltas (streamed runs) go out on the bus as they arrive and are persisted in batches
 * (every FLUSH_MS and with the terminal event), so a reconnecting client replays from the database
 * plus this process's unflushed buffer (`pending`).
 */

import type { Clock } from '../clock.ts';
import { iso } from '../clock.ts';
import type { ToolDefinition, ToolResolver } from '../connectors/tool.ts';
import type { CompiledPolicy } from '../guardrails/compile.ts';
import { createOutputGuard } from '../guardrails/output.ts';
import type { GuardrailSnapshot } from '../guardrails/service.ts';
import type { Bus } from '../infra/bus/bus.ts';
import type { Db } from '../infra/db/db.ts';
import type { JobRow, RunEventRow, RunRow } from '../infra/db/schema.ts';
import type { Queue } from '../infra/queue/queue.ts';
import {
  type RunEvent,
  type RunEventType,
  type RunStatus,
  runTopic,
  terminalEventType,
} from '../runs/events.ts';
import { type RunConfig, toRun } from '../runs/present.ts';
import type { RunStore } from '../runs/store.ts';
import { ModelError, type ModelRegistry } from './providers/index.ts';
import { closeTools, createToolRecord, resolveRunTools, ToolsUnavailable } from './run-tools.ts';

const FLUSH_MS = 100;

export interface RunExecutorDeps {
  db: Db;
  store: RunStore;
  bus: Bus;
  queue: Queue;
  models: ModelRegistry;
  clock: Clock;
  /** the run's `tools` (built-in names, connector ids) → callable tools, when the run starts */
  resolveTools?: ToolResolver;
  /** the compiled guardrail policy a run's config froze (cached per version), for output checks */
  guardrails?: (snapshot: GuardrailSnapshot | undefined) => CompiledPolicy | null;
  /** after a run's `running` transition is stored (deployment runtime logs) */
  onStarted?: (run: RunRow) => void;
  onFinished?: (run: RunRow) => void;
  /** inside the terminal transition's transaction, with the final row (metrics rollups) */
  onFinishTrx?: (trx: Parameters<RunStore['finish']>[0], run: RunRow) => Promise<void>;
}

interface Live {
  abort: AbortController;
  seq: number;
  buffer: RunEventRow[];
}

class CancelReason extends Error {}
class TimeoutReason extends Error {}

export function createRunExecutor({
  db,
  store,
  bus,
  queue,
  models,
  clock,
  resolveTools,
  guardrails,
  onStarted,
  onFinished,
  onFinishTrx,
}: RunExecutorDeps) {
  const live = new Map<string, Live>();

  const eventRow = (
    run_id: string,
    seq: number,
    type: RunEventType,
    extra: Partial<RunEvent>,
  ): RunEventRow => {
    const now = clock.now();
    const event: RunEvent = { type, sequence_number: seq, run_id, created_at: iso(now)!, ...extra };
    return { run_id, seq, type, data: JSON.stringify(event), created_at: now };
  };
  const publish = (row: RunEventRow) => bus.publish(runTopic(row.run_id), JSON.parse(row.data));

  /** Ends a run from one of `from` statuses, with its last events, in one transaction. */
  async function finish(
    run: RunRow,
    jobId: string | null,
    from: RunStatus[],
    status: RunStatus,
    fields: Partial<RunRow>,
    buffered: RunEventRow[],
    nextSeq: number,
  ) {
    const now = clock.now();
    const final: RunRow = { ...run, ...fields, status, completed_at: now };
    const terminal = eventRow(run.id, nextSeq, terminalEventType(status), { run: toRun(final) });
    const done = await db.kysely.transaction().execute(async (trx) => {
      const ok = await store.finish(trx, run.id, from, { ...fields, status, completed_at: now });
      if (ok) await store.insertEvents(trx, [...buffered, terminal]);
      if (ok) await onFinishTrx?.(trx, final);
      if (jobId) await queue.complete(trx, jobId);
      else await trx.deleteFrom('jobs').where('ref_id', '=', run.id).execute();
      return ok;
    });
    if (done) {
      publish(terminal);
      onFinished?.(final);
    }
    return done;
  }

  async function handle(job: JobRow, stopSignal: AbortSignal): Promise<void> {
    const run = await store.getById(job.ref_id);
    if (!run || (run.status !== 'queued' && run.status !== 'running')) {
      await db.kysely.transaction().execute((trx) => queue.complete(trx, job.id));
      return;
    }
    // A queued run has exactly its run.created event (seq 1); only a recovered one needs a lookup.
    const seq0 = run.status === 'queued' ? 1 : await store.lastSeq(run.id);
    if (run.status === 'running') {
      await finish(
        run,
        job.id,
        ['running'],
        'failed',
        {
          error: JSON.stringify({
            code: 'worker_lost',
            message: 'The worker running this run stopped before it finished; resubmit to run it again',
          }),
        },
        [],
        seq0 + 1,
      );
      return;
    }
    const now = clock.now();
    if (run.queue_timeout_ms !== null && now - run.created_at > run.queue_timeout_ms) {
      await finish(
        run,
        job.id,
        ['queued'],
        'expired',
        {
          error: JSON.stringify({
            code: 'queue_timeout',
            message: `No worker started this run within ${run.queue_timeout_ms} ms`,
          }),
        },
        [],
        seq0 + 1,
      );
      return;
    }
    const started = eventRow(run.id, seq0 + 1, 'run.started', {});
    const claimed = await db.kysely.transaction().execute(async (trx) => {
      if (!(await store.markRunning(trx, run.id, now))) {
        await queue.complete(trx, job.id);
        return false;
      }
      await store.insertEvents(trx, [started]);
      return true;
    });
    if (!claimed) return;
    const state: Live = { abort: new AbortController(), seq: seq0 + 1, buffer: [] };
    live.set(run.id, state);
    publish(started);
    onStarted?.({ ...run, status: 'running', started_at: now });

    const config = JSON.parse(run.config) as RunConfig;
    // Output guardrails: streamed deltas pass through the stream guard; the whole text is checked below.
    const outputGuard = createOutputGuard(
      guardrails?.(config.guardrail_policy) ?? null,
      config.stream,
      run.guardrail_hits,
    );
    const onStop = () => state.abort.abort(new Error('worker stopping'));
    stopSignal.addEventListener('abort', onStop, { once: true });
    const timer = run.timeout_ms
      ? setTimeout(() => state.abort.abort(new TimeoutReason('timeout')), run.timeout_ms)
      : undefined;
    let flushing: NodeJS.Timeout | undefined;
    const flush = async () => {
      flushing = undefined;
      const rows = state.buffer.splice(0);
      if (rows.length) await db.kysely.transaction().execute((trx) => store.insertEvents(trx, rows));
    };
    const runningRow: RunRow = { ...run, status: 'running', started_at: now };
    // Tool events are buffered and flushed like deltas; the calls end up on the run row.
    const toolRecord = createToolRecord();
    let tools: ToolDefinition[] = [];
    const emit = (type: 'run.tool_call' | 'run.tool_result', extra: Partial<RunEvent>) => {
      const row = eventRow(run.id, ++state.seq, type, extra);
      state.buffer.push(row);
      publish(row);
      flushing ??= setTimeout(() => void flush().catch(() => {}), FLUSH_MS);
    };
    try {
      tools = await resolveRunTools(resolveTools, run.org_id, config.tools);
      const result = await models.call({
        model: config.model,
        instructions: config.instructions,
        input: JSON.parse(run.input),
        parameters: config.parameters,
        signal: state.abort.signal,
        onDelta: config.stream
          ? (received) => {
              const delta = outputGuard.push(received);
              if (!delta) return;
              const row = eventRow(run.id, ++state.seq, 'run.output.delta', { delta });
              state.buffer.push(row);
              publish(row);
              flushing ??= setTimeout(() => void flush().catch(() => {}), FLUSH_MS);
            }
          : undefined,
        tools,
        onToolCall: (call) => emit('run.tool_call', { tool_call: toolRecord.call(call) }),
        onToolResult: (res) => emit('run.tool_result', { tool_result: toolRecord.result(res) }),
      });
      // Released before the run is seen finished (MCP sessions ended); `finally` covers the rest.
      await closeTools(tools.splice(0));
      clearTimeout(flushing);
      const verdict = outputGuard.end(result.text);
      if (verdict.tail) {
        const row = eventRow(run.id, ++state.seq, 'run.output.delta', { delta: verdict.tail });
        state.buffer.push(row);
        publish(row);
      }
      const blocked = verdict.blocked && {
        code: 'guardrail_blocked',
        message: `The output was blocked by guardrail rule '${verdict.blocked.rule}': ${verdict.blocked.message}`,
      };
      await finish(
        runningRow,
        job.id,
        ['running'],
        blocked ? 'failed' : 'completed',
        {
          output: blocked ? null : JSON.stringify({ result: verdict.text }),
          ...(blocked && { error: JSON.stringify(blocked) }),
          ...(verdict.hits !== undefined && { guardrail_hits: verdict.hits }),
          input_tokens: result.usage.input_tokens,
          output_tokens: result.usage.output_tokens,
          latency_ms: clock.now() - now,
          ...toolRecord.fields(),
        },
        state.buffer.splice(0),
        state.seq + 1,
      );
    } catch (err) {
      clearTimeout(flushing);
      const reason = state.abort.signal.reason;
      const latency = clock.now() - now;
      const buffered = state.buffer.splice(0);
      if (state.abort.signal.aborted && reason instanceof CancelReason) {
        await finish(
          runningRow,
          job.id,
          ['running'],
          'cancelled',
          { latency_ms: latency, ...toolRecord.fields() },
          buffered,
          state.seq + 1,
        );
      } else if (state.abort.signal.aborted && reason instanceof TimeoutReason) {
        await finish(
          runningRow,
          job.id,
          ['running'],
          'timed_out',
          {
            latency_ms: latency,
            ...toolRecord.fields(),
            error: JSON.stringify({
              code: 'run_timeout',
              message: `The run exceeded its timeout of ${run.timeout_ms} ms`,
            }),
          },
          buffered,
          state.seq + 1,
        );
      } else if (stopSignal.aborted) {
        // Shutting down past the grace period: leave the run `running` and its job in place; the
        // next start fails it as worker_lost rather than pretending it finished.
        await flush().catch(() => {});
        throw err;
      } else {
        const error =
          err instanceof ModelError || err instanceof ToolsUnavailable
            ? { code: err.code, message: err.message }
            : { code: 'run_error', message: 'The run failed unexpectedly' };
        await finish(
          runningRow,
          job.id,
          ['running'],
          'failed',
          { latency_ms: latency, error: JSON.stringify(error), ...toolRecord.fields() },
          buffered,
          state.seq + 1,
        );
      }
    } finally {
      clearTimeout(timer);
      stopSignal.removeEventListener('abort', onStop);
      live.delete(run.id);
      await closeTools(tools);
    }
  }

  return {
    handle,
    /** Aborts a run executing in this process; false when it is not here. */
    cancel(runId: string): boolean {
      const state = live.get(runId);
      if (!state) return false;
      state.abort.abort(new CancelReason('cancelled'));
      return true;
    },
    /** Events of a live run not yet persisted (for SSE replay in this process). */
    pending(runId: string): RunEvent[] {
      return (live.get(runId)?.buffer ?? []).map((r) => JSON.parse(r.data));
    },
    /** Ends a queued run without running it (cancel route, expiry). */
    finishQueued: (run: RunRow, status: RunStatus, fields: Partial<RunRow>, nextSeq: number) =>
      finish(run, null, ['queued'], status, fields, [], nextSeq),
  };
}
export type RunExecutor = ReturnType<typeof createRunExecutor>;

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
 * Graceful stop: runs in flight get the grace period; one still going then is aborted and ends
 * `failed` (`server_shutdown`); one never marked running stays queued for the next start.
 *
 * Crash recovery: a job found for a run that is already `running` means the worker that ran it died
 * mid-call (kill -9, power loss) — its lease lapsed and its lock was freed (infra/queue/nodes.ts).
 * We do not call the model again — a provider call may have had effects (tool calls, billing) — and
 * fail the run with `worker_lost`; the client can resubmit. Every write from `running` names the
 * attempt it belongs to (runs.attempt, counted by the running mark), so should the "lost" worker
 * still be alive, its late end is refused: a run is completed once, by one attempt.
 *
 * Output deltas (streamed runs) go out on the bus as they arrive and are persisted in batches
 * (every FLUSH_MS and with the terminal event), so a reconnecting client replays from the database
 * plus this process's unflushed rows (`pending`). A row stays in `pending` until the transaction
 * holding it has committed — buffered, handed to a group commit, or being written — so a follower
 * that reads `pending` first and the database second sees every row published before it
 * subscribed (runs/service.ts, eventsAfter). A follower on another node has only the database: it
 * fills a gap in the live sequence from there (http/sse.ts, followEvents).
 *
 * Writes go through a group commit (infra/db/group-commit.ts): the start and end transitions of
 * runs finishing at the same time share one transaction, and the metrics rollups of a whole batch
 * are folded into one write (`onFinishBatch`).
 *
 * A run is marked `running` only once it outlives MARK_AFTER_MS (20 ms), or before it calls a
 * tool (whose effects must not be repeated) or stores streamed output. A run that ends sooner goes
 * from `queued` straight to its terminal state in one write, with its run.started event: one
 * transaction (shared with other runs by the group commit) instead of two. A crash before the mark
 * leaves it `queued` with its job, so the next start runs it again — the price of those 20 ms.
 *
 * Code agents (a `code` in the config) run their module in the sandbox instead of one model call
 * (code-run.ts): the same events, marks and outcomes, plus `run.log`; past the guest's CPU limit
 * the run is `timed_out`, past its memory limit `failed` (`memory_limit_exceeded`), a guest
 * exception `failed` with the guest's message and stack (`codeFailure`).
 *
 * Inline runs (sync `POST /v2/runs`, see RunService.create) go one step further: nothing at all is
 * stored before they run. One that ends within MARK_AFTER_MS is written whole — row, events,
 * rollups — in that one write, and only then is the answer sent: a client never holds the id of a
 * run that is not stored. One that runs longer is stored `running` with its claimed job and is an
 * ordinary run from there (visible, cancellable, `worker_lost` after a crash). A crash before that
 * loses only a run whose caller got no answer, exactly like a crash before an accept transaction.
 */

import { setTimeout as sleep } from 'node:timers/promises';
import type { Clock } from '../clock.ts';
import { iso } from '../clock.ts';
import type { ToolDefinition, ToolResolver } from '../connectors/tool.ts';
import type { CompiledPolicy } from '../guardrails/compile.ts';
import { createOutputGuard } from '../guardrails/output.ts';
import { type GuardrailSnapshot, mergeHits } from '../guardrails/service.ts';
import type { Bus } from '../infra/bus/bus.ts';
import type { Db } from '../infra/db/db.ts';
import { createGroupCommit, type WriteUnit } from '../infra/db/group-commit.ts';
import type { JobRow, RunEventRow, RunRow } from '../infra/db/schema.ts';
import { isDatabaseUnavailable } from '../infra/db/unavailable.ts';
import type { Queue } from '../infra/queue/queue.ts';
import { startRunTrace } from '../observability/run-trace.ts';
import type { ExceptionFacts, Tracing } from '../observability/tracing.ts';
import {
  type RunEvent,
  type RunEventType,
  type RunStatus,
  runTopic,
  terminalEventType,
} from '../runs/events.ts';
import { type Run, type RunConfig, storedEventData, toRun } from '../runs/present.ts';
import type { RunStore } from '../runs/store.ts';
import { type CodeRunDeps, CodeRunFatal, runCode } from './code-run.ts';
import { ModelError, type ModelRegistry } from './providers/index.ts';
import { closeTools, createToolRecord, resolveRunTools, ToolsUnavailable } from './run-tools.ts';
import { SandboxFailure } from './sandbox/pool.ts';

const FLUSH_MS = 100;
/** How long a run's write waits for the database to answer again before it fails (see `write`). */
const OUTAGE_RETRY_MS = 30_000;
/** A run still going after this long is marked (an inline one: stored) `running` (see above). */
const MARK_AFTER_MS = 20;
/** Group transactions in flight at once on Postgres (SQLite has a single writer). */
const PG_WRITE_CONCURRENCY = 4;

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
  /** inside the transaction storing terminal transitions, with every final row it holds (rollups) */
  onFinishBatch?: (trx: Parameters<RunStore['finish']>[0], runs: RunRow[]) => Promise<void>;
  /** OpenTelemetry (null: off): spans for the run, its queue wait, model and tool calls */
  tracing?: Tracing | null;
  /**
   * A run failed by something that is not the model's or a tool's known failure (`run_error`): a
   * bug, reported (src/error-reports/). Returns the redacted facts for the run span's exception
   * event, or null when this error was reported already.
   */
  onUnexpectedError?: (err: unknown, run: RunRow, jobId: string) => ExceptionFacts | null;
  /**
   * Cluster mode: how often runs executing here re-read their cancel request (runs.cancel_requested_at),
   * the backstop of a cancel sent over the bus that was lost. Unset (embedded): a cancel always
   * reaches this process directly.
   */
  cancelCheckMs?: number;
  /** code agents' sandbox; absent: a code agent's run fails `sandbox_unavailable` */
  code?: CodeRunDeps;
}

/** What a group transaction's units stage for its one final write (see `commits`). */
interface Staged {
  runs: RunRow[];
  events: RunEventRow[];
  /** runs that reached a terminal state in this transaction (rollups) */
  finished: RunRow[];
}

/** A run handed to the executor with its row, so its job needs no read (see `prime`). */
interface Primed {
  row: RunRow;
  created: RunEventRow;
  /** false: an inline run, nothing stored yet */
  stored: boolean;
}

interface Live {
  abort: AbortController;
  seq: number;
  buffer: RunEventRow[];
  /** run.started (and an inline run's run.created) until the run is marked running */
  unmarked: RunEventRow[];
  /** rows taken from `buffer`/`unmarked` whose transaction has not committed yet (see `pending`) */
  committing: Set<RunEventRow>;
}

/** Keeps `rows` in `into` until `write` settles: they are in the database or will never be. */
function holding<T>(into: Set<RunEventRow>, rows: RunEventRow[], write: Promise<T>): Promise<T> {
  for (const r of rows) into.add(r);
  const release = () => {
    for (const r of rows) into.delete(r);
  };
  write.then(release, release);
  return write;
}

class CancelReason extends Error {}
class TimeoutReason extends Error {}

/** A code agent's failure as the run's outcome: CPU past its limit is a timeout, the rest failures. */
function codeFailure(err: SandboxFailure): { status: 'failed' | 'timed_out'; error: string } {
  const body: { code: string; message: string; stack?: string } = { code: err.code, message: err.message };
  if (err.guestStack) body.stack = err.guestStack;
  return { status: err.code === 'cpu_limit_exceeded' ? 'timed_out' : 'failed', error: JSON.stringify(body) };
}

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
  onFinishBatch,
  tracing,
  onUnexpectedError,
  cancelCheckMs,
  code,
}: RunExecutorDeps) {
  const live = new Map<string, Live>();
  // The cancel backstop: one query per interval for every run executing here, while there are any.
  let cancelTimer: NodeJS.Timeout | undefined;
  const checkCancels = async () => {
    cancelTimer = undefined;
    if (live.size === 0) return;
    try {
      for (const id of await store.cancelRequested([...live.keys()]))
        live.get(id)?.abort.abort(new CancelReason('cancelled'));
    } catch {
      // the database is away: the next tick asks again (a bus cancel still works meanwhile)
    }
    watchCancels();
  };
  const watchCancels = () => {
    if (cancelCheckMs === undefined || cancelTimer !== undefined || live.size === 0) return;
    cancelTimer = setTimeout(() => void checkCancels(), cancelCheckMs);
    cancelTimer.unref();
  };
  const primed = new Map<string, Primed>();
  // A unit's unconditional inserts are staged in its batch and written by `end` as one multi-row
  // statement per table (runs before their events); conditional updates run in the unit itself.
  const commits = createGroupCommit<Staged>(db.kysely, {
    concurrency: db.dialect === 'postgres' ? PG_WRITE_CONCURRENCY : 1,
    begin: () => ({ runs: [], events: [], finished: [] }),
    end: async (trx, staged) => {
      await store.insertMany(trx, staged.runs);
      await store.insertEvents(trx, staged.events);
      if (staged.finished.length) await onFinishBatch?.(trx, staged.finished);
    },
  });
  /**
   * A group-commit unit that waits out a database outage (a connection terminated, Postgres
   * restarting: infra/db/unavailable.ts) instead of failing the run: without it, a run whose
   * provider call had succeeded ended `run_error` (its end write failed) or, once its job was
   * retried, `worker_lost` — though no worker was lost (issue 14). Units may run twice (a rolled
   * back batch is retried unit by unit anyway) and every transition in them is conditional. Past
   * OUTAGE_RETRY_MS the error goes up as before.
   */
  async function write<T>(unit: WriteUnit<T, Staged>): Promise<T> {
    for (let waited = 0, delay = 100; ; waited += delay, delay = Math.min(delay * 2, 2_000)) {
      try {
        return await commits.submit(unit);
      } catch (err) {
        if (!isDatabaseUnavailable(err) || waited >= OUTAGE_RETRY_MS) throw err;
        await sleep(delay);
      }
    }
  }

  /** `finalRun`: a terminal event's run, published but not stored (see `storedEventData`, runs/present.ts). */
  const eventRow = (
    run_id: string,
    seq: number,
    type: RunEventType,
    extra: Partial<RunEvent>,
    finalRun?: Run,
  ): RunEventRow => {
    const now = clock.now();
    const event: RunEvent = { type, sequence_number: seq, run_id, created_at: iso(now)!, ...extra };
    const row = { run_id, seq, type, data: JSON.stringify(event), created_at: now };
    if (finalRun) event.run = finalRun;
    published.set(row, event);
    return row;
  };
  // the event object each row was serialised from, so publishing does not parse it back
  const published = new WeakMap<RunEventRow, RunEvent>();
  const publish = (row: RunEventRow) =>
    bus.publish(runTopic(row.run_id), published.get(row) ?? JSON.parse(row.data));

  /**
   * Ends a run from one of `from` statuses, with its last events, in one (group) transaction.
   * `unstored`: an inline run's first events — the run has no row yet and is inserted whole.
   */
  async function finish(
    run: RunRow,
    jobId: string | null,
    from: RunStatus[],
    status: RunStatus,
    fields: Partial<RunRow>,
    buffered: RunEventRow[],
    nextSeq: number,
    unstored?: RunEventRow[],
  ) {
    const now = clock.now();
    const final: RunRow = { ...run, ...fields, status, completed_at: now };
    const terminal = eventRow(run.id, nextSeq, terminalEventType(status), {}, toRun(final));
    const done = await write(async (trx, staged) => {
      if (unstored) {
        staged.runs.push(final);
        staged.events.push(...unstored, ...buffered, terminal);
        staged.finished.push(final);
        return true;
      }
      // from `running`: only in the attempt this writer started (a stale worker's write is refused)
      const attempt = from.length === 1 && from[0] === 'running' ? run.attempt : undefined;
      const ok = await store.finish(trx, run.id, from, { ...fields, status, completed_at: now }, attempt);
      if (jobId) await queue.complete(trx, jobId);
      else await trx.deleteFrom('jobs').where('ref_id', '=', run.id).execute();
      if (ok) {
        staged.events.push(...buffered, terminal);
        staged.finished.push(final);
      }
      return ok;
    });
    if (done) {
      publish(terminal);
      onFinished?.(final);
    }
    return done;
  }

  async function handle(job: JobRow, stopSignal: AbortSignal): Promise<void> {
    const handed = primed.get(job.ref_id);
    primed.delete(job.ref_id);
    const run = handed?.row ?? (await store.getById(job.ref_id));
    if (!run || (run.status !== 'queued' && run.status !== 'running')) {
      await write((trx) => queue.complete(trx, job.id));
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
    if (
      handed?.stored !== false &&
      run.queue_timeout_ms !== null &&
      now - run.created_at > run.queue_timeout_ms
    ) {
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
    const runningRow: RunRow = { ...run, status: 'running', started_at: now, attempt: run.attempt + 1 };
    // A run is marked running only once it outlives MARK_AFTER_MS, or before it can call a tool or
    // stream what it produced (`mark`): most zero-latency runs are written once, when they end.
    // Inline runs have no row yet (marking inserts it); stored ones go queued → running.
    const inline = handed?.stored === false;
    const unmarked: RunEventRow[] = inline ? [handed.created, started] : [started];
    const committing = new Set<RunEventRow>();
    let marking: Promise<boolean> | undefined;
    let markTimer: NodeJS.Timeout | undefined;
    /** Resolves true once marked running, false if the run was ended meanwhile (cancelled). */
    const mark = (): Promise<boolean> => {
      clearTimeout(markTimer);
      if (marking) return marking;
      const first = unmarked.splice(0);
      marking = write(async (trx, staged) => {
        if (inline) {
          staged.runs.push(runningRow);
          staged.events.push(...first);
          await queue.insertClaimed(trx, job);
          return true;
        }
        if (!(await store.markRunning(trx, run.id, now))) {
          await queue.complete(trx, job.id);
          return false;
        }
        staged.events.push(...first);
        return true;
      });
      return holding(committing, first, marking);
    };
    const state: Live = { abort: new AbortController(), seq: seq0 + 1, buffer: [], unmarked, committing };
    live.set(run.id, state);
    watchCancels();
    const markOrStop = async () => {
      if (!(await mark())) state.abort.abort(new CancelReason('ended elsewhere'));
    };
    markTimer = setTimeout(() => void markOrStop().catch(() => {}), MARK_AFTER_MS);
    publish(started);
    onStarted?.({ ...run, status: 'running', started_at: now });

    const config = JSON.parse(run.config) as RunConfig;
    const spans = tracing ? startRunTrace(tracing, run, now, config.model) : undefined;
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
      if (state.buffer.length === 0) return;
      if (!(await mark())) return; // events follow the running mark; none if the run ended elsewhere
      const rows = state.buffer.splice(0);
      if (rows.length)
        await holding(
          committing,
          rows,
          write(async (_trx, staged) => void staged.events.push(...rows)),
        );
    };
    /** The terminal transition: from `running` once marked, else from `queued` (or an inline insert). */
    const end = async (status: RunStatus, fields: Partial<RunRow>, buffered: RunEventRow[]) => {
      clearTimeout(markTimer);
      spans?.outcome(status, fields.error ? (JSON.parse(fields.error) as { code: string }).code : undefined);
      if (marking) {
        const marked = marking;
        // ended elsewhere (a cancel won): nothing to write
        const write = async () =>
          (await marked) && finish(runningRow, job.id, ['running'], status, fields, buffered, state.seq + 1);
        return holding(committing, buffered, write());
      }
      const first = unmarked.splice(0);
      if (inline)
        return holding(
          committing,
          [...first, ...buffered],
          finish(runningRow, null, [], status, fields, buffered, state.seq + 1, first),
        );
      const startFields = { started_at: now, attempt: runningRow.attempt };
      return holding(
        committing,
        [...first, ...buffered],
        finish(
          runningRow,
          job.id,
          ['queued'],
          status,
          { ...startFields, ...fields },
          [...first, ...buffered],
          state.seq + 1,
        ),
      );
    };
    // Deltas, tool and log events are published at once, buffered, and stored within FLUSH_MS
    // (`flushSoon`), or with the terminal write; the tool calls end up on the run row.
    const toolRecord = createToolRecord();
    let tools: ToolDefinition[] = [];
    const emit = (
      type: 'run.output.delta' | 'run.tool_call' | 'run.tool_result' | 'run.log',
      extra: Partial<RunEvent>,
      flushSoon = true,
    ) => {
      const row = eventRow(run.id, ++state.seq, type, extra);
      state.buffer.push(row);
      publish(row);
      if (flushSoon) flushing ??= setTimeout(() => void flush().catch(() => {}), FLUSH_MS);
    };
    /** A streamed piece of output, through the stream guard (which may hold some of it back). */
    const onDelta = (received: string) => {
      const delta = outputGuard.push(received);
      if (delta) emit('run.output.delta', { delta });
    };
    /**
     * The output is in (the model's text, or a guest's streamed text): tools are released before
     * the run is seen finished (MCP sessions ended; `finally` covers the rest) and the stream
     * guard's verdict on the whole text is taken, its held-back tail sent.
     */
    const outputIn = async (text: string) => {
      if (tools.length) await closeTools(tools.splice(0));
      clearTimeout(flushing);
      const verdict = outputGuard.end(text);
      // the held-back tail goes with the terminal write
      if (verdict.tail) emit('run.output.delta', { delta: verdict.tail }, false);
      return verdict;
    };
    /** The end of a run that produced `output`: completed, or failed if a guardrail blocked it. */
    const endWithOutput = (
      output: Record<string, unknown>,
      blocked: { rule: string; message: string } | null,
      hits: string | null | undefined,
      usage: { input_tokens: number; output_tokens: number },
    ) =>
      end(
        blocked ? 'failed' : 'completed',
        {
          output: blocked ? null : JSON.stringify(output),
          ...(blocked && {
            error: JSON.stringify({
              code: 'guardrail_blocked',
              message: `The output was blocked by guardrail rule '${blocked.rule}': ${blocked.message}`,
            }),
          }),
          ...(hits !== undefined && { guardrail_hits: hits }),
          input_tokens: usage.input_tokens,
          output_tokens: usage.output_tokens,
          latency_ms: clock.now() - now,
          ...toolRecord.fields(),
        },
        state.buffer.splice(0),
      );
    try {
      if (config.code !== undefined) {
        const policy = guardrails?.(config.guardrail_policy) ?? null;
        if (!code)
          throw new CodeRunFatal('sandbox_unavailable', 'Code agents are not available on this server');
        const ran = await runCode(code, {
          run: runningRow,
          config,
          input: JSON.parse(run.input),
          signal: state.abort.signal,
          policy,
          // a tool call may have effects: the run is marked running before the first one
          beforeTool: markOrStop,
          tools: async () => {
            tools = await resolveRunTools(resolveTools, run.org_id, config.tools);
            return tools;
          },
          onDelta,
          onToolCall: (call) => emit('run.tool_call', { tool_call: toolRecord.call(call) }),
          onToolResult: (res) => emit('run.tool_result', { tool_result: toolRecord.result(res) }),
          onLog: (message) => emit('run.log', { log: { level: 'info', message } }),
        });
        const verdict = await outputIn(ran.streamed);
        let output = ran.output;
        let blocked = verdict.blocked;
        let hits = verdict.hits;
        if (policy && !blocked) {
          const checked = policy.checkValue(output, 'output');
          blocked = checked.blocked;
          output = checked.value as Record<string, unknown>;
          if (checked.hits.length)
            hits = JSON.stringify(mergeHits(JSON.parse(hits ?? run.guardrail_hits ?? '[]'), checked.hits));
        }
        await endWithOutput(output, blocked, hits, ran.usage);
        return;
      }
      // a tool call may have effects: a run is marked running before it can make one
      if (config.tools.length) await markOrStop();
      if (config.tools.length) tools = await resolveRunTools(resolveTools, run.org_id, config.tools);
      spans?.modelStarted();
      const result = await models.call({
        model: config.model,
        instructions: config.instructions,
        input: JSON.parse(run.input),
        parameters: config.parameters,
        signal: state.abort.signal,
        onDelta: config.stream ? onDelta : undefined,
        tools,
        onToolCall: (call) => {
          spans?.toolCalled(call);
          emit('run.tool_call', { tool_call: toolRecord.call(call) });
        },
        onToolResult: (res) => {
          spans?.toolReturned(res);
          emit('run.tool_result', { tool_result: toolRecord.result(res) });
        },
      });
      spans?.modelEnded(result.usage);
      const verdict = await outputIn(result.text);
      await endWithOutput({ result: verdict.text }, verdict.blocked, verdict.hits, result.usage);
    } catch (err) {
      clearTimeout(flushing);
      spans?.modelEnded(null, err);
      const reason = state.abort.signal.reason;
      const latency = clock.now() - now;
      const buffered = state.buffer.splice(0);
      if (state.abort.signal.aborted && reason instanceof CancelReason) {
        await end('cancelled', { latency_ms: latency, ...toolRecord.fields() }, buffered);
      } else if (state.abort.signal.aborted && reason instanceof TimeoutReason) {
        await end(
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
        );
      } else if (stopSignal.aborted) {
        clearTimeout(markTimer);
        if (!marking) {
          // never marked running: it stays (an inline run: is stored) queued, for the next start
          if (inline) {
            const created = handed.created;
            await write(async (trx) => {
              await store.insert(trx, run);
              await store.insertEvents(trx, [created]);
              await queue.enqueue(trx, { kind: 'run', ref_id: run.id });
            });
          }
          throw err;
        }
        // Shutting down past the grace period: the provider call was stopped here, so the run ends
        // now, `failed` with a code that says why (a crash, where nothing can be written, is what
        // `worker_lost` at the next start is for). Its sync caller and its stream get the terminal
        // event before the process exits: a rolling restart does not look like a crash.
        await end(
          'failed',
          {
            latency_ms: latency,
            ...toolRecord.fields(),
            error: JSON.stringify({
              code: 'server_shutdown',
              message: 'The server shut down before this run finished (past its grace period); resubmit it',
            }),
          },
          buffered,
        );
      } else if (err instanceof SandboxFailure) {
        const { status, error } = codeFailure(err);
        await end(status, { latency_ms: latency, error, ...toolRecord.fields() }, buffered);
      } else {
        const known =
          err instanceof ModelError || err instanceof ToolsUnavailable || err instanceof CodeRunFatal;
        if (!known) {
          const facts = onUnexpectedError?.(err, run, job.id);
          if (facts) spans?.exception(facts);
        }
        const error = known
          ? { code: err.code, message: err.message }
          : { code: 'run_error', message: 'The run failed unexpectedly' };
        await end(
          'failed',
          { latency_ms: latency, error: JSON.stringify(error), ...toolRecord.fields() },
          buffered,
        );
      }
    } finally {
      spans?.ended();
      clearTimeout(timer);
      clearTimeout(markTimer);
      stopSignal.removeEventListener('abort', onStop);
      live.delete(run.id);
      if (tools.length) await closeTools(tools);
    }
  }

  return {
    handle,
    /**
     * Hands a run to this executor before its job runs: the job then needs no read. `stored: false`
     * makes it an inline run (nothing written yet; see the top of this file).
     */
    prime(row: RunRow, created: RunEvent, stored: boolean) {
      const data = stored ? '' : storedEventData(created, row); // a stored run's event is stored already
      primed.set(row.id, {
        row,
        created: { run_id: row.id, seq: 1, type: created.type, data, created_at: row.created_at },
        stored,
      });
    },
    /** Forgets a primed run whose job will not run (its transaction rolled back). */
    unprime: (runId: string) => primed.delete(runId),
    /** Waits for every submitted write (shutdown). */
    flush: () => commits.flush(),
    /** Aborts a run executing in this process; false when it is not here. */
    cancel(runId: string): boolean {
      const state = live.get(runId);
      if (!state) return false;
      state.abort.abort(new CancelReason('cancelled'));
      return true;
    },
    /**
     * Events of a live run not yet committed, in order (for SSE replay in this process). Read it
     * before the database: a row leaves it only once committed.
     */
    pending(runId: string): RunEvent[] {
      const state = live.get(runId);
      if (!state) return [];
      return [...state.committing, ...state.unmarked, ...state.buffer]
        .sort((a, b) => a.seq - b.seq)
        .map((r) => JSON.parse(r.data) as RunEvent);
    },
    /** The queue gave up on a run's job (its handler kept failing): the run ends `failed`. */
    async giveUp(job: JobRow): Promise<void> {
      const run = await store.getById(job.ref_id);
      if (!run || (run.status !== 'queued' && run.status !== 'running')) return;
      const error = {
        code: 'run_error',
        message: 'The run could not be executed (an internal error, logged by the server); resubmit it',
      };
      const seq = (await store.lastSeq(run.id)) + 1;
      await finish(run, job.id, ['queued', 'running'], 'failed', { error: JSON.stringify(error) }, [], seq);
    },
    /** Ends a queued run without running it (cancel route, expiry). */
    finishQueued: (run: RunRow, status: RunStatus, fields: Partial<RunRow>, nextSeq: number) =>
      finish(run, null, ['queued'], status, fields, [], nextSeq),
  };
}
export type RunExecutor = ReturnType<typeof createRunExecutor>;

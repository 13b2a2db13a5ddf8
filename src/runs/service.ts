/**
 * Runs: accept (validate, snapshot the agent, insert the run and its job in one transaction), read,
 * list, cancel, and wait for or follow a run's events. Execution is the engine's (run-executor.ts).
 */

import type { Kysely } from 'kysely';
import type { AgentService } from '../agents/service.ts';
import { type AuditRecorder, audited } from '../audit/service.ts';
import type { Principal } from '../auth/principal.ts';
import type { Clock } from '../clock.ts';
import { iso } from '../clock.ts';
import type { RunExecutor } from '../engine/run-executor.ts';
import type { CodeLimits } from '../engine/sandbox/limits.ts';
import { isNotFound, notFound, unprocessable } from '../errors.ts';
import type { GuardedInput } from '../guardrails/service.ts';
import type { IdFactory } from '../ids.ts';
import type { Bus } from '../infra/bus/bus.ts';
import type { Db } from '../infra/db/db.ts';
import type { PageParams } from '../infra/db/paginate.ts';
import type { AgentRow, Database, JobRow, RunRow } from '../infra/db/schema.ts';
import type { Queue } from '../infra/queue/queue.ts';
import type { Tracing } from '../observability/tracing.ts';
import type { WebhookInput } from '../webhooks/target.ts';
import { isTerminal, isTerminalEvent, RUN_CANCEL_TOPIC, type RunEvent, runTopic } from './events.ts';
import { lacksRun, type RunConfig, restoreRun, storedEventData, toRun } from './present.ts';
import type { RunFilters, RunStore } from './store.ts';

export const DEFAULT_RUN_TIMEOUT_MS = 10 * 60 * 1000;
/** How long an inline (sync) run may wait for a worker slot before it is stored queued instead */
const INLINE_WAIT_MS = 20;

export interface CreateRunInput {
  agent_id: string;
  input: Record<string, unknown>;
  metadata?: Record<string, string>;
  environment?: string;
  deployment_id?: string;
  /** canary routing: the same key, the same version (see src/deployments/canary.ts) */
  routing_key?: string;
  background?: boolean;
  stream?: boolean;
  timeout_ms?: number;
  queue_timeout_ms?: number;
  /** the completion webhook: absent → the agent's; null → none */
  webhook?: WebhookInput | null;
}

/** The configuration a deployment froze, as the run engine needs it. */
export interface ServedConfig {
  model: string;
  instructions: string | null;
  parameters: Record<string, unknown>;
  tools: string[];
  guardrails: string | null;
  agent_version: number;
  /** a code agent's module and limits (absent: a prompt agent) */
  code?: string;
  code_limits?: CodeLimits;
}

/**
 * Picks the deployment that serves a run (see src/deployments): the one named, else the active one
 * of the environment; null = no deployment there, the agent's current configuration serves it.
 */
export type DeploymentResolver = (
  orgId: string,
  agentId: string,
  selector: { environment?: string; deployment_id?: string; routing_key?: string },
) => Promise<{ id: string; config: ServedConfig } | null>;

export interface PreparedRun {
  row: RunRow;
  created: RunEvent;
  /** set when this process's pool claimed the run's job on insert: `kick` starts it */
  job?: JobRow | null;
  /** executed inline: nothing stored yet (run-executor.ts) */
  inline?: boolean;
  /** `create(…, { watch: true })`: the run's terminal event, listened for before its job could run */
  watcher?: TerminalWatcher;
}

/** A wait for one run's terminal event (RunService.terminalWatcher). */
export interface TerminalWatcher {
  /** the terminal event, or null after `ms` or once `released` aborts (then re-read the run) */
  wait(ms: number, released?: AbortSignal): Promise<RunEvent | null>;
  /** stop listening without waiting */
  cancel(): void;
}

export interface RunServiceDeps {
  db: Db;
  store: RunStore;
  agents: AgentService;
  queue: Queue;
  bus: Bus;
  executor: RunExecutor;
  ids: IdFactory;
  clock: Clock;
  /** late-bound: the deployments service is built after this one */
  resolveDeployment?: () => DeploymentResolver;
  /** throws 403 when the caller may not use the run's tools (private connectors) */
  checkTools?: (principal: Principal, tools: readonly string[]) => void;
  /** input guardrails: throws 422 guardrail_violation; null when the run has none (src/guardrails) */
  guardInput?: (orgId: string, ref: string | null, input: unknown) => Promise<GuardedInput | null>;
  /** audit log: cancels are recorded (run creation is not: high volume, the run is its own record) */
  audit?: AuditRecorder;
  /** the run's completion webhook, checked and sealed for it: its own, else its agent's (src/webhooks) */
  resolveWebhook?: (
    given: WebhookInput | null | undefined,
    agent: AgentRow,
    runId: string,
  ) => Promise<string | null>;
  /** a run was stored queued with a queue timeout: expire it at its deadline (queue-expiry.ts) */
  onQueueDeadline?: (at: number) => void;
  /** OpenTelemetry (null: off): a run joins the trace of the request it is created in */
  tracing?: Tracing | null;
  /**
   * Cluster mode: how often a waiter (sync caller, SSE follower) re-reads the database besides
   * listening to the bus. The run may execute on another node and Redis pub/sub is at-most-once:
   * a lost terminal or event message then costs up to this much latency, never an answer. Absent
   * (embedded: the bus is in-process and loses nothing): the bus alone.
   */
  backstopMs?: number;
}

/** An agent row's code and limits, as a config snapshot holds them (nothing for a prompt agent). */
export function codeOf(agent: AgentRow): Pick<ServedConfig, 'code' | 'code_limits'> {
  if (typeof agent.code !== 'string') return {};
  return {
    code: agent.code,
    ...(agent.code_limits && { code_limits: JSON.parse(agent.code_limits) as CodeLimits }),
  };
}

export function createRunService({
  db,
  store,
  agents,
  queue,
  bus,
  executor,
  ids,
  clock,
  resolveDeployment,
  checkTools,
  guardInput,
  audit,
  resolveWebhook,
  onQueueDeadline,
  tracing,
  backstopMs,
}: RunServiceDeps) {
  async function mustGet(orgId: string, id: string) {
    const row = await store.get(orgId, id);
    if (!row) throw notFound('run', id);
    return row;
  }

  /** Resolves with the terminal event, or null after `ms`. Subscribe before the run can finish. */
  function terminalWatcher(runId: string): TerminalWatcher {
    let resolve!: (e: RunEvent | null) => void;
    const done = new Promise<RunEvent | null>((r) => {
      resolve = r;
    });
    const unsubscribe = bus.subscribe(
      runTopic(runId),
      (m) => {
        const e = m as RunEvent;
        if (isTerminalEvent(e.type)) resolve(e);
      },
      // the terminal event may have been lost on the bus (cluster mode): ended already? answer now
      () =>
        void store.getById(runId).then(
          (row) => row && isTerminal(row.status) && resolve(null),
          () => {},
        ),
    );
    return {
      /** `released`: answer now with null (the process is shutting down: src/lifecycle.ts) */
      wait: async (ms: number, released?: AbortSignal) => {
        const timer = setTimeout(() => resolve(null), ms);
        const stop = () => resolve(null);
        if (released?.aborted) stop();
        released?.addEventListener('abort', stop, { once: true });
        // the database backstop (cluster mode): null once the run is terminal, the caller re-reads it
        const poll =
          backstopMs === undefined
            ? undefined
            : setInterval(() => {
                store.getById(runId).then(
                  (r) => r && isTerminal(r.status) && resolve(null),
                  () => {},
                );
              }, backstopMs);
        try {
          return await done;
        } finally {
          clearInterval(poll);
          clearTimeout(timer);
          released?.removeEventListener('abort', stop);
          unsubscribe();
        }
      },
      cancel: unsubscribe,
    };
  }

  /** Everything create does before writing: look-ups and the row (no transaction held meanwhile). */
  async function prepare(
    principal: Principal,
    body: CreateRunInput,
    extra: Partial<RunRow> = {},
  ): Promise<PreparedRun> {
    const agent = await agents.row(principal.orgId, body.agent_id).catch((err: unknown) => {
      throw isNotFound(err) ? notFound('agent', body.agent_id, 'agent_id') : err;
    });
    // a caller that brings its own config (a deployment's smoke test) is not routed
    const served =
      extra.config === undefined
        ? ((await resolveDeployment?.()(principal.orgId, agent.id, body)) ?? null)
        : null;
    const now = clock.now();
    const base: ServedConfig = served?.config ?? {
      model: agent.model,
      instructions: agent.instructions,
      parameters: JSON.parse(agent.parameters),
      tools: JSON.parse(agent.tools),
      guardrails: agent.guardrails,
      agent_version: agent.version,
      ...codeOf(agent),
    };
    checkTools?.(principal, base.tools);
    const config: RunConfig = {
      model: base.model,
      instructions: base.instructions,
      parameters: base.parameters,
      tools: base.tools,
      guardrails: base.guardrails,
      agent_version: base.agent_version,
      stream: body.stream === true,
      ...(typeof base.code === 'string' && { code: base.code }),
      ...(base.code_limits && { code_limits: base.code_limits }),
    };
    // Input guardrails: a block is a 422 and no run; redactions are what the model and the stored
    // run see; the policy version in force now is frozen into the config for the output checks.
    const guardedConfig: RunConfig = extra.config === undefined ? config : JSON.parse(extra.config);
    const guarded = await guardInput?.(principal.orgId, guardedConfig.guardrails, body.input);
    if (guarded) guardedConfig.guardrail_policy = guarded.snapshot;
    const id = ids('run');
    // A run's own webhook, else its agent's; pipeline step runs and smoke tests do not inherit one.
    const inherits = extra.pipeline_run_id === undefined && extra.config === undefined;
    const webhook =
      resolveWebhook && (body.webhook !== undefined || (inherits && agent.webhook))
        ? await resolveWebhook(body.webhook, agent, id)
        : null;
    const row: RunRow = {
      id,
      org_id: principal.orgId,
      agent_id: agent.id,
      deployment_id: served?.id ?? null,
      api_key_id: principal.keyId,
      status: 'queued',
      model: base.model,
      config: JSON.stringify(config),
      input: guarded ? guarded.input : JSON.stringify(body.input),
      output: null,
      error: null,
      metadata: JSON.stringify(body.metadata ?? {}),
      latency_ms: null,
      input_tokens: null,
      output_tokens: null,
      timeout_ms: body.timeout_ms ?? DEFAULT_RUN_TIMEOUT_MS,
      queue_timeout_ms: body.queue_timeout_ms ?? null,
      pipeline_run_id: null,
      step_id: null,
      attempt: 0,
      created_at: now,
      started_at: null,
      completed_at: null,
      webhook,
      trace_context: tracing ? tracing.activeTraceparent() : null,
      ...extra,
    };
    if (guarded) {
      row.guardrail_hits = guarded.hits;
      if (extra.config !== undefined) row.config = JSON.stringify(guardedConfig);
    }
    const created: RunEvent = {
      type: 'run.created',
      sequence_number: 1,
      run_id: row.id,
      created_at: iso(now)!,
      run: toRun(row),
    };
    return { row, created };
  }

  /**
   * Writes a prepared run, its `run.created` event and its job in the caller's transaction. With
   * `claim`, a free worker slot of this process takes the job at once (see Queue.enqueueClaimed).
   */
  async function insertPrepared(trx: Kysely<Database>, prepared: PreparedRun, claim = false) {
    const { row, created } = prepared;
    await store.insert(trx, row);
    await store.insertEvents(trx, [
      {
        run_id: row.id,
        seq: 1,
        type: created.type,
        data: storedEventData(created, row),
        created_at: row.created_at,
      },
    ]);
    if (claim) prepared.job = await queue.enqueueClaimed(trx, { kind: 'run', ref_id: row.id });
    else await queue.enqueue(trx, { kind: 'run', ref_id: row.id });
    if (row.queue_timeout_ms !== null && !prepared.job)
      onQueueDeadline?.(row.created_at + row.queue_timeout_ms);
  }

  return {
    /**
     * Accepts a run. With `claim`, the caller must `kick(accepted)` (it starts the claimed job).
     * With `inline` (sync callers) and a worker slot free within INLINE_WAIT_MS, nothing is written
     * here: the executor
     * runs it at once and stores it when it ends or after a few ms (run-executor.ts, inline runs).
     * With `watch` (sync callers), `accepted.watcher` listens for the run's end, subscribed before
     * its job can run anywhere (see below).
     */
    async create(
      principal: Principal,
      body: CreateRunInput,
      extra: Partial<RunRow> = {},
      options: { claim?: boolean; inline?: boolean; watch?: boolean } = {},
    ) {
      const prepared = await prepare(principal, body, extra);
      if (options.watch) prepared.watcher = terminalWatcher(prepared.row.id);
      if (options.inline) {
        prepared.job = await queue.reserveWithin({ kind: 'run', ref_id: prepared.row.id }, INLINE_WAIT_MS);
        if (prepared.job) {
          prepared.inline = true;
          executor.prime(prepared.row, prepared.created, false);
          return prepared;
        }
      }
      try {
        await db.kysely.transaction().execute(async (trx) => {
          await insertPrepared(trx, prepared, options.claim);
          // Cluster mode: a worker may take the job the moment this commits and end a fast run
          // within milliseconds. Had Redis not confirmed the subscription by then, the terminal
          // event would be lost and the wait would end at its database backstop (a second) instead:
          // the SUBSCRIBE went out before this transaction began, so its confirmation is usually in.
          if (prepared.watcher) await bus.ready(runTopic(prepared.row.id));
        });
      } catch (err) {
        prepared.watcher?.cancel();
        if (prepared.job) queue.abandon(prepared.job);
        throw err;
      }
      return prepared;
    },
    /** create in two halves, for a caller that inserts runs in its own transaction (pipelines). */
    prepare,
    insertPrepared,

    /** Start executing accepted runs (after the caller subscribed to what it wants to see). */
    kick(accepted?: PreparedRun) {
      if (accepted?.job) {
        // handed over with its row, so the job needs no read (an inline run was primed unstored)
        if (!accepted.inline) executor.prime(accepted.row, accepted.created, true);
        queue.run(accepted.job);
      } else queue.notify();
    },
    terminalWatcher,

    async get(orgId: string, id: string) {
      return toRun(await mustGet(orgId, id));
    },
    async list(orgId: string, filters: RunFilters, page: PageParams) {
      const { rows, has_more } = await store.list(orgId, filters, page);
      return { data: rows.map(toRun), has_more };
    },

    /**
     * Cancels: a queued run at once; a running one by aborting its provider call (the executor
     * writes `cancelled`), waiting up to `waitMs` for that; a cancelled one is returned unchanged.
     */
    async cancel(orgId: string, id: string, waitMs = 2_000) {
      const row = await mustGet(orgId, id);
      if (row.status === 'cancelled') return toRun(row);
      if (isTerminal(row.status))
        throw unprocessable('run_not_cancellable', `This run is already ${row.status}`, 'id');
      const watcher = terminalWatcher(id);
      // its end must not be published before this process listens (cluster mode: Redis confirms)
      await bus.ready(runTopic(id));
      // A running run may execute in another process (cluster mode): the signal goes over the bus
      // to whichever executes it (resources.ts subscribes every executor), and is stored for the
      // executor's database check in case the message is lost (Redis pub/sub is at-most-once).
      const cancelRunning = async () => {
        if (executor.cancel(id)) return;
        await store.requestCancel(id, clock.now());
        bus.publish(RUN_CANCEL_TOPIC, { run_id: id });
      };
      // a queued run may already be executing here, not yet marked running (run-executor.ts)
      if (row.status === 'queued' && !executor.cancel(id)) {
        const seq = (await store.lastSeq(id)) + 1;
        if (!(await executor.finishQueued(row, 'cancelled', {}, seq))) await cancelRunning();
      } else if (row.status !== 'queued') {
        await cancelRunning();
      }
      await watcher.wait(waitMs);
      const after = await mustGet(orgId, id);
      if (after.status !== 'cancelled' && isTerminal(after.status)) {
        throw unprocessable(
          'run_not_cancellable',
          `This run finished (${after.status}) before it could be cancelled`,
          'id',
        );
      }
      // The executor commits the cancellation itself (possibly after the wait): recorded once confirmed
      // or requested, in a transaction of its own.
      const cancelled = after.status === 'cancelled';
      await audited(
        audit,
        async () => {},
        () => ({
          orgId,
          action: cancelled ? 'run.cancelled' : 'run.cancel_requested',
          resource: { type: 'run', id },
          changes: cancelled ? ['status'] : [],
        }),
      );
      return toRun(after);
    },

    /**
     * Persisted events after `afterSeq`, with this process's uncommitted ones, in order, once each.
     * `pending` is read first: a row leaves it only after its commit, so every row published before
     * this call is in one of the two reads (run-executor.ts).
     */
    async eventsAfter(
      orgId: string,
      id: string,
      afterSeq: number,
    ): Promise<{ events: RunEvent[]; terminal: boolean }> {
      const pending = executor.pending(id);
      let row = await mustGet(orgId, id);
      const bySeq = new Map<number, RunEvent>();
      for (const r of await store.eventsAfter(id, afterSeq)) {
        const e = JSON.parse(r.data) as RunEvent;
        bySeq.set(e.sequence_number, e);
      }
      for (const e of pending)
        if (e.sequence_number > afterSeq && !bySeq.has(e.sequence_number)) bySeq.set(e.sequence_number, e);
      let events = [...bySeq.values()].sort((a, b) => a.sequence_number - b.sequence_number);
      if (events.some(lacksRun)) {
        // the row read above may predate the terminal write; once terminal, it never changes
        if (!isTerminal(row.status) && events.some((e) => isTerminalEvent(e.type)))
          row = await mustGet(orgId, id);
        events = events.map((e) => restoreRun(e, row));
      }
      return { events, terminal: isTerminal(row.status) || events.some((e) => isTerminalEvent(e.type)) };
    },
    /** how often followers re-read the database besides the bus (cluster mode; see the deps) */
    backstopMs,
    /** resolves once this process hears what is published about the run from now on (Bus.ready) */
    ready: (runId: string) => bus.ready(runTopic(runId)),
    subscribe: (runId: string, listener: (e: RunEvent) => void, onResync?: () => void) =>
      bus.subscribe(runTopic(runId), (m) => listener(m as RunEvent), onResync),
  };
}
export type RunService = ReturnType<typeof createRunService>;

/**
 * Pipelines: definitions (validated by definition.ts; every step's agent must exist in the caller's
 * organization), versions (each PATCH bumps `version`; a pipeline run snapshots the definition it
 * was triggered with), triggers (the run row and its first `pipeline` job in one transaction),
 * reads, cancel and event replay. Execution is the engine's (engine.ts).
 */
import type { Kysely } from 'kysely';
import type { AgentService } from '../agents/service.ts';
import { type AuditRecorder, audited, givenFields } from '../audit/service.ts';
import type { Principal } from '../auth/principal.ts';
import type { Clock } from '../clock.ts';
import { conflict, isNotFound, notFound, unprocessable } from '../errors.ts';
import type { IdFactory } from '../ids.ts';
import type { Bus } from '../infra/bus/bus.ts';
import type { Db } from '../infra/db/db.ts';
import type { PageParams } from '../infra/db/paginate.ts';
import type { Database, JobRow, PipelineRow, PipelineRunRow } from '../infra/db/schema.ts';
import type { Queue } from '../infra/queue/queue.ts';
import type { Tracing } from '../observability/tracing.ts';
import type { WebhookInput, WebhookTargets } from '../webhooks/target.ts';
import { type PipelineDefinition, validateDefinition } from './definition.ts';
import type { PipelineEngine } from './engine.ts';
import {
  emptyStep,
  eventRow,
  isPipelineTerminal,
  isPipelineTerminalEvent,
  type PipelineEvent,
  pipelineRunTopic,
} from './events.ts';
import type { InputValidator } from './input-schema.ts';
import { toPipeline, toPipelineRun } from './present.ts';
import type { PipelineRunFilters, PipelineStore } from './store.ts';

/** An agent that does not exist is null; any other failure (the database away) goes on up. */
const orNull = (err: unknown): null => {
  if (isNotFound(err)) return null;
  throw err;
};

export interface PipelineServiceDeps {
  db: Db;
  store: PipelineStore;
  agents: AgentService;
  engine: () => PipelineEngine;
  queue: Queue;
  bus: Bus;
  ids: IdFactory;
  clock: Clock;
  inputValidator: InputValidator;
  /** audit log: each change and its entry commit together */
  audit?: AuditRecorder;
  /**
   * May this key use these tools (private connectors)? Step runs act for the trigger's key, so
   * every step agent's tools are checked against it when the pipeline is triggered.
   */
  checkTools?: (principal: Principal, tools: readonly string[]) => void;
  /** completion webhooks: a pipeline's, inherited by its runs unless the trigger sets one */
  webhooks?: WebhookTargets;
  /** OpenTelemetry (null: off): the run stores its trigger's trace context for its step runs */
  tracing?: Tracing | null;
}

export interface TriggerInput {
  input?: unknown;
  metadata?: Record<string, string>;
  /** absent: the pipeline's webhook; null: none */
  webhook?: WebhookInput | null;
}

/** `webhook` is the pipeline's, not its definition's: split it off the body. */
function splitWebhook(body: unknown): { def: unknown; webhook: WebhookInput | null | undefined } {
  if (body === null || typeof body !== 'object' || !('webhook' in body))
    return { def: body, webhook: undefined };
  const { webhook, ...def } = body as Record<string, unknown>;
  return { def, webhook: webhook as WebhookInput | null };
}

export function createPipelineService(deps: PipelineServiceDeps) {
  const { db, store, agents, queue, bus, ids, clock, inputValidator, audit } = deps;

  async function mustGet(orgId: string, id: string) {
    const row = await store.get(orgId, id);
    if (!row) throw notFound('pipeline', id);
    return row;
  }
  async function mustGetRun(orgId: string, pipelineId: string, id: string) {
    await mustGet(orgId, pipelineId);
    const row = await store.getRun(orgId, pipelineId, id);
    if (!row) throw notFound('pipeline run', id);
    return row;
  }

  /** The pipeline a trigger with this input would start: 404 if it is gone, 422 if the input does not fit. */
  async function checkTrigger(orgId: string, pipelineId: string, input: unknown) {
    const pipeline = await mustGet(orgId, pipelineId);
    const def = JSON.parse(pipeline.definition) as PipelineDefinition;
    if (def.input_schema !== undefined) {
      const issue = inputValidator.validate(def.input_schema, input ?? {});
      if (issue) throw unprocessable(issue.code, issue.message, issue.param);
    }
    return { pipeline, def };
  }

  /** Validates a full definition body, then that every agent it names exists for this org. */
  async function check(orgId: string, body: unknown): Promise<PipelineDefinition> {
    const result = validateDefinition(body, { inputValidator });
    if (!result.ok) throw unprocessable(result.code, result.message, result.param);
    for (const ref of result.agents) {
      const found = await agents.row(orgId, ref.agent_id).catch(orNull);
      if (!found) throw unprocessable('agent_not_found', `No such agent: '${ref.agent_id}'`, ref.param);
    }
    return result.def;
  }

  return {
    checkTrigger,
    async create(orgId: string, input: unknown) {
      const { def: body, webhook } = splitWebhook(input);
      const def = await check(orgId, body);
      const id = ids('pl');
      const sealed = webhook && deps.webhooks ? await deps.webhooks.seal(webhook, 'pipeline', id) : null;
      const now = clock.now();
      const row: PipelineRow = {
        id,
        org_id: orgId,
        name: def.name,
        description: def.description ?? null,
        version: 1,
        definition: JSON.stringify(def),
        metadata: JSON.stringify(def.metadata ?? {}),
        webhook: sealed,
        created_at: now,
        updated_at: now,
        deleted_at: null,
      };
      await audited(
        audit,
        (trx) => store.insert(row, trx),
        () => ({
          orgId,
          action: 'pipeline.created',
          resource: { type: 'pipeline', id: row.id },
          changes: givenFields(input as object),
          statusCode: 201,
        }),
      );
      return toPipeline(row);
    },
    async get(orgId: string, id: string) {
      return toPipeline(await mustGet(orgId, id));
    },
    async list(orgId: string, page: PageParams) {
      const { rows, has_more } = await store.list(orgId, page);
      return { data: rows.map(toPipeline), has_more };
    },
    /** Merges the given fields into the definition, re-validates the whole, bumps the version. */
    async update(orgId: string, id: string, input: Record<string, unknown>) {
      const { def: rest, webhook } = splitWebhook(input);
      const patch = rest as Record<string, unknown>;
      const current = await mustGet(orgId, id);
      const merged: Record<string, unknown> = { ...JSON.parse(current.definition) };
      for (const [key, value] of Object.entries(patch)) {
        if (value === null && key !== 'name' && key !== 'steps') delete merged[key];
        else merged[key] = value;
      }
      const def = await check(orgId, merged);
      const sealed =
        webhook === undefined
          ? current.webhook
          : webhook && deps.webhooks
            ? await deps.webhooks.seal(webhook, 'pipeline', id)
            : null;
      const next: PipelineRow = {
        ...current,
        webhook: sealed ?? null,
        name: def.name,
        description: def.description ?? null,
        version: current.version + 1,
        definition: JSON.stringify(def),
        metadata: JSON.stringify(def.metadata ?? {}),
        updated_at: clock.now(),
      };
      await audited(
        audit,
        async (trx) => {
          if (!(await store.update(next, current.version, trx)))
            throw conflict('pipeline_modified', 'The pipeline changed while this update was applied; retry');
        },
        () => ({
          orgId,
          action: 'pipeline.updated',
          resource: { type: 'pipeline', id },
          changes: Object.keys(input),
        }),
      );
      return toPipeline(next);
    },
    async remove(orgId: string, id: string) {
      await mustGet(orgId, id);
      await audited(
        audit,
        (trx) => store.softDelete(orgId, id, clock.now(), trx),
        (deleted) =>
          deleted ? { orgId, action: 'pipeline.deleted', resource: { type: 'pipeline', id } } : null,
      );
      return { id, object: 'pipeline' as const, deleted: true };
    },

    /**
     * `options.triggeredBy` records what started the run (a schedule's tick; absent: the API), and
     * `options.within` runs inside the run's own transaction: a schedule claims its tick there, so
     * a tick and its run commit together or not at all.
     */
    async trigger(
      principal: Principal,
      pipelineId: string,
      body: TriggerInput,
      options: {
        triggeredBy?: Record<string, unknown>;
        within?: (trx: Kysely<Database>, run: { id: string }) => Promise<void>;
      } = {},
    ) {
      const { pipeline, def } = await checkTrigger(principal.orgId, pipelineId, body.input);
      if (deps.checkTools) {
        for (const agentId of new Set(def.steps.map((s) => s.agent_id))) {
          const agent = await agents.row(principal.orgId, agentId).catch(orNull);
          if (agent) deps.checkTools(principal, JSON.parse(agent.tools) as string[]);
        }
      }
      const input = body.input ?? {};
      const id = ids('prun');
      const webhook = deps.webhooks
        ? await deps.webhooks.resolve(
            body.webhook,
            { owner: 'pipeline', id: pipeline.id, webhook: pipeline.webhook },
            { owner: 'pipeline_run', id },
          )
        : null;
      const now = clock.now();
      const row: PipelineRunRow = {
        id,
        org_id: principal.orgId,
        pipeline_id: pipeline.id,
        pipeline_version: pipeline.version,
        api_key_id: principal.keyId,
        status: 'queued',
        definition: pipeline.definition,
        input: JSON.stringify(input),
        output: null,
        error: null,
        steps: JSON.stringify(Object.fromEntries(def.steps.map((s) => [s.id, emptyStep()]))),
        metadata: JSON.stringify(body.metadata ?? {}),
        tokens_used: 0,
        state_version: 0,
        event_seq: 1,
        created_at: now,
        started_at: null,
        completed_at: null,
        triggered_by: options.triggeredBy ? JSON.stringify(options.triggeredBy) : null,
        webhook,
        trace_context: deps.tracing ? deps.tracing.activeTraceparent() : null,
      };
      const run = toPipelineRun(row);
      // The first pass (the root steps' runs) commits with the run itself; when it is anything but
      // a plain start it is left to a `pipeline` job, handed to this process's pool when it has a
      // free slot (it starts right after the commit, with no claim query).
      const engine = deps.engine();
      const first = await engine.firstPass(row);
      let written: Awaited<ReturnType<PipelineEngine['write']>> = null;
      let job: JobRow | null = null;
      try {
        await db.kysely.transaction().execute(async (trx) => {
          await store.insertRun(trx, row);
          await options.within?.(trx, row);
          await store.insertEvents(trx, [
            eventRow(row.id, 1, now, { type: 'pipeline.created', pipeline_run: run }),
          ]);
          if (first) {
            written = await engine.write(trx, first);
            if (!written) throw new Error(`pipeline run ${row.id} changed while it was created`);
          } else job = await queue.enqueueClaimed(trx, { kind: 'pipeline', ref_id: row.id });
          // the deadline is a durable wake-up too: it fires after a restart as well
          if (def.timeout_ms !== undefined)
            await queue.enqueue(trx, { kind: 'pipeline', ref_id: row.id, run_at: now + def.timeout_ms });
          await audit?.record(trx, {
            orgId: principal.orgId,
            action: 'pipeline.triggered',
            resource: { type: 'pipeline_run', id: row.id },
            changes: givenFields(body),
            statusCode: 202,
          });
        });
      } catch (err) {
        if (first) engine.abandon(first.prepared);
        if (job) queue.abandon(job);
        throw err;
      }
      if (first && written) await engine.applied(first, written);
      else if (job) queue.run(job);
      else queue.notify();
      return run;
    },
    async getRun(orgId: string, pipelineId: string, id: string) {
      return toPipelineRun(await mustGetRun(orgId, pipelineId, id));
    },
    async listRuns(orgId: string, pipelineId: string, filters: PipelineRunFilters, page: PageParams) {
      await mustGet(orgId, pipelineId);
      const { rows, has_more } = await store.listRuns(orgId, pipelineId, filters, page);
      return { data: rows.map(toPipelineRun), has_more };
    },
    /** Cancels: pending steps never start, running step runs are cancelled. Idempotent. */
    async cancelRun(orgId: string, pipelineId: string, id: string) {
      const row = await mustGetRun(orgId, pipelineId, id);
      if (row.status === 'cancelled') return toPipelineRun(row);
      if (isPipelineTerminal(row.status))
        throw unprocessable(
          'pipeline_run_not_cancellable',
          `This pipeline run is already ${row.status}`,
          'run_id',
        );
      await deps.engine().advance(id, { cancel: true });
      const after = await mustGetRun(orgId, pipelineId, id);
      if (after.status !== 'cancelled')
        throw unprocessable(
          'pipeline_run_not_cancellable',
          `This pipeline run finished (${after.status}) before it could be cancelled`,
          'run_id',
        );
      // The engine committed the cancellation in its own transaction: recorded once it is confirmed.
      await audited(
        audit,
        async () => {},
        () => ({
          orgId,
          action: 'pipeline_run.cancelled',
          resource: { type: 'pipeline_run', id },
          changes: ['status'],
        }),
      );
      return toPipelineRun(after);
    },

    async eventsAfter(orgId: string, pipelineId: string, id: string, afterSeq: number) {
      const row = await mustGetRun(orgId, pipelineId, id);
      const events = (await store.eventsAfter(id, afterSeq)).map((r) => JSON.parse(r.data) as PipelineEvent);
      return {
        events,
        terminal: isPipelineTerminal(row.status) || events.some((e) => isPipelineTerminalEvent(e.type)),
      };
    },
    /** resolves once this process hears what is published about the pipeline run from now on (Bus.ready) */
    ready: (id: string) => bus.ready(pipelineRunTopic(id)),
    subscribe: (id: string, listener: (e: PipelineEvent) => void, onResync?: () => void) =>
      bus.subscribe(pipelineRunTopic(id), (m) => listener(m as PipelineEvent), onResync),
  };
}
export type PipelineService = ReturnType<typeof createPipelineService>;

/**
 * Completion webhooks: when a run or a pipeline run that carries a webhook reaches a terminal
 * state, its event is POSTed there — durably, signed, retried for up to a day, every attempt logged.
 *
 * - Durable, and never in the run's way: the delivery is a `completion_webhook` job inserted in the
 *   very transaction that makes the run terminal (the executor's `onFinishBatch`, the pipeline
 *   engine's `onTerminalTrx`), so a crash never loses it; it runs on the webhook pool, a worker pool
 *   of its own (resources.ts), so a receiver that is slow or down never holds a run's worker slot,
 *   and nothing the receiver does reaches the run or its caller.
 * - The job's ref_id is `<event id>:<run or pipeline run id>`: the event id is minted once, when the
 *   run ends, and every attempt sends it (body `id`, header AIRMY-Event-Id) for de-duplication.
 * - The body is the run as `GET /v2/runs/{id}` (or the pipeline run as its GET) answers it, read
 *   when the attempt is made (a terminal run never changes), in an event envelope:
 *   `{"id": "evt_…", "object": "event", "type": "run.completed", "created_at": <completed_at>, "data": {…}}`.
 * - One attempt per job, recorded in `completion_webhook_deliveries` in the transaction that
 *   completes the job and enqueues the next attempt (non-2xx, timeout, network error): after
 *   attempt n fails the next is due `min(10 s × 3^(n-1), 4 h)` later, as long as that is within 24 h
 *   of the run's end; past that the delivery is given up (`gave_up` on its last attempt). A URL the
 *   egress guard refuses at delivery (its name now resolves to a private address) is given up at
 *   once: every retry would be refused the same way.
 * - At-least-once: a crash between the POST and the commit sends that attempt again.
 *
 * Headers and signature are every AIRMY webhook's (deliver.ts).
 */

import type { Kysely } from 'kysely';
import { type Clock, iso } from '../clock.ts';
import type { IdFactory } from '../ids.ts';
import type { Db } from '../infra/db/db.ts';
import type { PageParams } from '../infra/db/paginate.ts';
import type {
  CompletionWebhookDeliveryRow,
  Database,
  JobRow,
  PipelineRunRow,
  RunRow,
} from '../infra/db/schema.ts';
import type { Egress } from '../infra/egress/egress.ts';
import type { Queue } from '../infra/queue/queue.ts';
import type { WebhookOutcome } from '../observability/prometheus.ts';
import { deliver } from './deliver.ts';
import type { CompletionWebhookStore } from './store.ts';
import type { WebhookTargets } from './target.ts';

export const COMPLETION_WEBHOOK_JOB = 'completion_webhook';
/** Deliveries in flight at once (the webhook pool's size; each waits at most 10 s for its receiver). */
export const WEBHOOK_POOL_SIZE = 16;
export const BASE_BACKOFF_MS = 10_000;
export const MAX_BACKOFF_MS = 4 * 3_600_000;
/** Attempts go on for this long after the run ended, then the delivery is given up. */
export const DELIVERY_WINDOW_MS = 24 * 3_600_000;

/** Delay before attempt `attempt + 1` after attempt `attempt` failed: 10 s, 30 s, 90 s, … capped at 4 h. */
export const retryDelayMs = (attempt: number) =>
  Math.min(BASE_BACKOFF_MS * 3 ** (attempt - 1), MAX_BACKOFF_MS);

export interface CompletionWebhookDeps {
  db: Db;
  store: CompletionWebhookStore;
  /** the webhook pool: the job is enqueued in the terminal transaction, then this pool runs it */
  queue: Queue;
  targets: WebhookTargets;
  egress: Egress;
  ids: IdFactory;
  clock: Clock;
  runById: (id: string) => Promise<RunRow | undefined>;
  pipelineRunById: (id: string) => Promise<PipelineRunRow | undefined>;
  /** the API's shapes of a run and a pipeline run (the delivered `data`) */
  presentRun: (row: RunRow) => unknown;
  presentPipelineRun: (row: PipelineRunRow) => unknown;
  onDelivery?: (outcome: WebhookOutcome) => void;
}

function toDelivery(d: CompletionWebhookDeliveryRow) {
  return {
    id: d.id,
    object: 'webhook_delivery' as const,
    event_id: d.event_id,
    event_type: d.event_type,
    url: d.url,
    attempt: d.attempt,
    outcome: d.outcome as WebhookOutcome,
    status_code: d.status_code,
    error: d.error,
    duration_ms: d.duration_ms,
    next_retry_at: iso(d.next_retry_at),
    gave_up: d.gave_up === 1,
    created_at: iso(d.created_at)!,
  };
}

export function createCompletionWebhooks(deps: CompletionWebhookDeps) {
  const { db, store, queue, targets, egress, ids, clock } = deps;

  const enqueue = (trx: Kysely<Database>, subjectId: string) =>
    queue.enqueue(trx, { kind: COMPLETION_WEBHOOK_JOB, ref_id: `${ids('evt')}:${subjectId}` });

  async function handle(job: JobRow, signal: AbortSignal): Promise<void> {
    const sep = job.ref_id.indexOf(':');
    const eventId = job.ref_id.slice(0, sep);
    const subjectId = job.ref_id.slice(sep + 1);
    const pipeline = subjectId.startsWith('prun_');
    const row = pipeline ? await deps.pipelineRunById(subjectId) : await deps.runById(subjectId);
    if (!row?.webhook || row.completed_at === null) {
      await db.kysely.transaction().execute((trx) => queue.complete(trx, job.id));
      return;
    }
    const type = `${pipeline ? 'pipeline' : 'run'}.${row.status}`;
    const data = pipeline ? deps.presentPipelineRun(row as PipelineRunRow) : deps.presentRun(row as RunRow);
    const body = JSON.stringify({
      id: eventId,
      object: 'event',
      type,
      created_at: iso(row.completed_at),
      data,
    });
    const target = targets.open(row.webhook, pipeline ? 'pipeline_run' : 'run', row.id);
    const attempt = (await store.attempts(subjectId, eventId)) + 1;
    const result = await deliver(egress, {
      url: target.url,
      body,
      eventId,
      attempt,
      secret: target.secret,
      now: clock.now(),
      signal,
    });
    const now = clock.now();
    const failed = result.outcome !== 'success';
    let nextAt = failed && result.outcome !== 'blocked' ? now + retryDelayMs(attempt) : null;
    if (nextAt !== null && nextAt > row.completed_at + DELIVERY_WINDOW_MS) nextAt = null;
    await db.kysely.transaction().execute(async (trx) => {
      await store.insert(trx, {
        id: ids('whdel'),
        org_id: row.org_id,
        subject_id: subjectId,
        event_id: eventId,
        event_type: type,
        url: target.url,
        attempt,
        outcome: result.outcome,
        status_code: result.statusCode,
        error: result.error,
        duration_ms: result.durationMs,
        next_retry_at: nextAt,
        gave_up: failed && nextAt === null ? 1 : 0,
        created_at: now,
      });
      await queue.complete(trx, job.id);
      if (nextAt !== null)
        await queue.enqueue(trx, { kind: COMPLETION_WEBHOOK_JOB, ref_id: job.ref_id, run_at: nextAt });
    });
    deps.onDelivery?.(result.outcome);
  }

  return {
    handle,
    /** Inside the transaction that makes these runs terminal: a delivery for each with a webhook. */
    async runsFinished(trx: Kysely<Database>, runs: readonly RunRow[]) {
      for (const r of runs) if (r.webhook) await enqueue(trx, r.id);
    },
    /** Inside the transaction that makes the pipeline run terminal. */
    async pipelineRunFinished(trx: Kysely<Database>, row: PipelineRunRow) {
      if (row.webhook) await enqueue(trx, row.id);
    },
    /** After that transaction committed: the pool starts the delivery now. */
    committed(row: { webhook?: string | null }) {
      if (row.webhook) queue.notify();
    },
    /** A run's or pipeline run's delivery log, newest first (the caller checked it is the org's). */
    async deliveries(subjectId: string, page: PageParams) {
      const p = await store.list(subjectId, page);
      return { data: p.rows.map(toDelivery), has_more: p.has_more };
    },
  };
}
export type CompletionWebhooks = ReturnType<typeof createCompletionWebhooks>;

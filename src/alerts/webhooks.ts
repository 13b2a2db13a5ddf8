/**
 * Webhook delivery of alert events: durable, signed, retried, every attempt recorded.
 *
 * Each (event, channel) pair is a `webhook` job in the durable queue (ref_id `<event id>:<channel>`),
 * enqueued in the transaction that records the event, so a delivery survives a crash or a restart.
 * The handler makes ONE attempt: it records it (status code or error, duration, attempt number) and,
 * on a non-2xx answer, a timeout or a network failure, enqueues the next attempt at
 * `now + BASE_BACKOFF_MS × 3^(attempt-1)` — in the same transaction that completes the current job —
 * until MAX_ATTEMPTS. Delivery is at-least-once (a crash between the POST and the commit re-sends):
 * receivers deduplicate on the event id (body `id`, header AIRMY-Event-Id).
 *
 * Headers and signature are every AIRMY webhook's (src/webhooks/deliver.ts), keyed with the
 * channel's secret. A channel without a secret gets unsigned deliveries.
 */
import type { Clock } from '../clock.ts';
import type { IdFactory } from '../ids.ts';
import type { SecretBox } from '../infra/crypto/secret-box.ts';
import type { Db } from '../infra/db/db.ts';
import type { JobRow } from '../infra/db/schema.ts';
import type { Egress } from '../infra/egress/egress.ts';
import type { Queue } from '../infra/queue/queue.ts';
import type { WebhookOutcome } from '../observability/prometheus.ts';
import { deliver } from '../webhooks/deliver.ts';
import { type StoredChannel, secretAad } from './service.ts';
import type { AlertStore } from './store.ts';

export const WEBHOOK_JOB = 'webhook';
export const MAX_ATTEMPTS = 6;
export const BASE_BACKOFF_MS = 10_000;

/** Delay before attempt `attempt + 1` after attempt `attempt` failed: 10 s, 30 s, 90 s, 270 s, 810 s. */
export const backoffMs = (attempt: number) => BASE_BACKOFF_MS * 3 ** (attempt - 1);

export { sign } from '../webhooks/deliver.ts';

export const deliveryRef = (eventId: string, channel: number) => `${eventId}:${channel}`;

export interface WebhookDeliveryDeps {
  db: Db;
  store: AlertStore;
  queue: Queue;
  egress: Egress;
  box: SecretBox;
  ids: IdFactory;
  clock: Clock;
  onDelivery?: (outcome: WebhookOutcome) => void;
}

export function createWebhookDelivery(deps: WebhookDeliveryDeps) {
  const { db, store, queue, egress, box, ids, clock } = deps;

  async function drop(job: JobRow) {
    await db.kysely.transaction().execute((trx) => queue.complete(trx, job.id));
  }

  /** The `webhook` job handler: one attempt, recorded, and the next one scheduled if it failed. */
  async function handle(job: JobRow, signal: AbortSignal): Promise<void> {
    const sep = job.ref_id.lastIndexOf(':');
    const eventId = job.ref_id.slice(0, sep);
    const channelIndex = Number(job.ref_id.slice(sep + 1));
    const event = await store.getEvent(eventId);
    const rule = event ? await store.getById(event.rule_id) : undefined;
    // a deleted rule's pending deliveries are dropped; so are those of a channel removed since
    const channel =
      rule && rule.deleted_at === null
        ? (JSON.parse(rule.channels) as StoredChannel[])[channelIndex]
        : undefined;
    if (!event || !rule || !channel) return drop(job);

    const attempt = (await store.attempts(eventId, channelIndex)) + 1;
    if (attempt > MAX_ATTEMPTS) return drop(job);
    const result = await deliver(egress, {
      url: channel.url,
      body: event.payload,
      eventId: event.id,
      attempt,
      secret: channel.secret === null ? null : box.open(channel.secret, secretAad(rule.id, channelIndex)),
      now: clock.now(),
      signal,
    });
    const { outcome, statusCode, error, durationMs } = result;
    const now = clock.now();
    // a blocked URL (now private, say) is not retried: the next attempt would be refused the same way
    const retry = outcome !== 'success' && outcome !== 'blocked' && attempt < MAX_ATTEMPTS;
    const nextAt = retry ? now + backoffMs(attempt) : null;
    await db.kysely.transaction().execute(async (trx) => {
      await store.insertDelivery(trx, {
        id: ids('whdel'),
        org_id: event.org_id,
        rule_id: rule.id,
        event_id: event.id,
        channel: channelIndex,
        url: channel.url,
        attempt,
        outcome,
        status_code: statusCode,
        error,
        duration_ms: durationMs,
        next_retry_at: nextAt,
        created_at: now,
      });
      await queue.complete(trx, job.id);
      if (nextAt !== null)
        await queue.enqueue(trx, { kind: WEBHOOK_JOB, ref_id: job.ref_id, run_at: nextAt });
    });
    deps.onDelivery?.(outcome);
  }

  return { handle };
}
export type WebhookDelivery = ReturnType<typeof createWebhookDelivery>;

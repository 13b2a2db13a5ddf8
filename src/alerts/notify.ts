/**
 * Alert events that no rule's metric raised: something the platform did on its own that the
 * organization's on-call should hear about (a canary rolled back, src/deployments/canary.ts).
 *
 * "The organization's alert channels" are the channels of its enabled alert rules: each such rule
 * with at least one channel gets an event (listed with its events, state = the event's kind) whose
 * deliveries are ordinary `webhook` jobs (webhooks.ts) — durable, signed, retried — enqueued in the
 * caller's transaction, so the event exists if and only if what it reports committed. A channel URL
 * shared by several rules is delivered once, from the first rule (by id) that lists it.
 */
import type { Kysely } from 'kysely';
import type { Clock } from '../clock.ts';
import { iso } from '../clock.ts';
import type { IdFactory } from '../ids.ts';
import type { Database } from '../infra/db/schema.ts';
import type { Queue } from '../infra/queue/queue.ts';
import type { StoredChannel } from './service.ts';
import type { AlertStore } from './store.ts';
import { deliveryRef, WEBHOOK_JOB } from './webhooks.ts';

export interface PlatformAlert {
  /** the event's kind: its `state` and, prefixed, its `type` (`alert.canary_rolled_back`) */
  state: 'canary_rolled_back';
  value: number | null;
  threshold: number;
  /** extra fields of the webhook body */
  details: Record<string, unknown>;
}

export function createAlertNotifier(deps: { store: AlertStore; queue: Queue; ids: IdFactory; clock: Clock }) {
  const { store, queue, ids, clock } = deps;
  return {
    /** Records the event for every enabled rule of the organization with channels; returns how many. */
    async notify(trx: Kysely<Database>, orgId: string, alert: PlatformAlert): Promise<number> {
      const rules = await trx
        .selectFrom('alert_rules')
        .selectAll()
        .where('org_id', '=', orgId)
        .where('enabled', '=', 1)
        .where('deleted_at', 'is', null)
        .orderBy('id')
        .execute();
      const seen = new Set<string>();
      let events = 0;
      const now = clock.now();
      for (const rule of rules) {
        const channels = (JSON.parse(rule.channels) as StoredChannel[])
          .map((c, i) => ({ url: c.url, i }))
          .filter((c) => !seen.has(c.url));
        if (channels.length === 0) continue;
        for (const c of channels) seen.add(c.url);
        const id = ids('alrev');
        await store.insertEvent(trx, {
          id,
          org_id: orgId,
          rule_id: rule.id,
          state: alert.state,
          value: alert.value,
          threshold: alert.threshold,
          notify: 1,
          payload: JSON.stringify({
            id,
            object: 'alert_event',
            type: `alert.${alert.state}`,
            rule: { id: rule.id, name: rule.name },
            state: alert.state,
            value: alert.value,
            threshold: alert.threshold,
            ...alert.details,
            occurred_at: iso(now),
          }),
          created_at: now,
        });
        for (const c of channels)
          await queue.enqueue(trx, { kind: WEBHOOK_JOB, ref_id: deliveryRef(id, c.i) });
        events++;
      }
      return events;
    },
    /** after the transaction committed: wake the workers for the deliveries */
    committed: () => queue.notify(),
  };
}
export type AlertNotifier = ReturnType<typeof createAlertNotifier>;

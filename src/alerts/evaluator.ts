/**
 * The alert evaluator: every AIRMY_ALERT_INTERVAL_S the worker computes each enabled rule's metric
 * over its window ending now and moves the rule's state:
 *
 *   ok/resolved ──condition holds, `for` = 0──────────────▶ firing    (event + notification)
 *   ok/resolved ──condition holds, `for` > 0──────────────▶ pending   (no event)
 *   pending ──still holds and has held for `for`──────────▶ firing    (event + notification)
 *   pending ──stops holding───────────────────────────────▶ ok        (no event)
 *   firing ──stops holding────────────────────────────────▶ resolved  (event + notification)
 *
 * The window: the metrics service's `value` over whole minutes, the current (partial) minute
 * included. A value of null (no data for an avg, max or percentile) never satisfies a condition.
 *
 * Cooldown: a `firing` event is notified only if the rule's last notification is at least
 * `cooldown` old; otherwise the event is recorded with notified=false and no delivery. A `resolved`
 * event is notified exactly when the firing it ends was. Every notification stamps
 * `last_notified_at`, so a rule flapping faster than its cooldown is quiet after the first page.
 *
 * Several workers (cluster mode) share the interval: the timer's tick is claimed once per cluster
 * (infra/queue/ticks.ts), so a rule is evaluated once per interval, not once per worker. Should two
 * evaluations still meet (a tick called directly), each transition is a conditional write on the
 * rule's version, so only one of them records the event and enqueues its deliveries.
 *
 * `tick()` is the whole job of one interval: the timer calls it, and tests call it directly with a
 * fake clock. Calls are serialized (a tick never overlaps another).
 */
import { type Clock, iso } from '../clock.ts';
import type { IdFactory } from '../ids.ts';
import type { Db } from '../infra/db/db.ts';
import type { AlertRuleRow } from '../infra/db/schema.ts';
import type { Queue } from '../infra/queue/queue.ts';
import type { MetricsService } from '../metrics/service.ts';
import type { Comparator } from './schema.ts';
import { parseDuration } from './schema.ts';
import type { StoredChannel } from './service.ts';
import type { AlertStore } from './store.ts';
import { deliveryRef, WEBHOOK_JOB } from './webhooks.ts';

export interface AlertEvaluatorDeps {
  db: Db;
  store: AlertStore;
  metrics: Pick<MetricsService, 'value'>;
  queue: Queue;
  ids: IdFactory;
  clock: Clock;
  intervalMs: number;
  /** once-per-cluster claim of the timer's tick (absent: every tick runs here) */
  claimTick?: (name: string, intervalMs: number) => Promise<boolean>;
  onError?: (err: unknown, ruleId: string) => void;
}

export function holds(value: number | null, comparator: Comparator, threshold: number): boolean {
  if (value === null) return false;
  switch (comparator) {
    case 'gt':
      return value > threshold;
    case 'gte':
      return value >= threshold;
    case 'lt':
      return value < threshold;
    case 'lte':
      return value <= threshold;
  }
}

/** The metric query behind a rule's value, as a GET /v2/metrics link over the same window. */
function metricLink(rule: AlertRuleRow, from: number, to: number): string {
  const params = new URLSearchParams({
    metric: rule.metric,
    stat: rule.stat,
    from: iso(from)!,
    to: iso(to)!,
    interval: '1m',
    ...(JSON.parse(rule.filters) as Record<string, string>),
  });
  return `/v2/metrics?${params}`;
}

export function createAlertEvaluator(deps: AlertEvaluatorDeps) {
  const { db, store, metrics, queue, ids, clock } = deps;
  let chain: Promise<void> = Promise.resolve();
  let timer: NodeJS.Timeout | undefined;

  async function evaluate(rule: AlertRuleRow, now: number) {
    const windowMs = parseDuration(rule.window_spec) ?? 60_000;
    const forMs = parseDuration(rule.for_spec) ?? 0;
    const cooldownMs = parseDuration(rule.cooldown_spec) ?? 0;
    const from = now - windowMs;
    const value = await metrics.value(rule.org_id, {
      metric: rule.metric as never,
      stat: rule.stat as never,
      from,
      to: now,
      filters: JSON.parse(rule.filters),
    });
    const ok = holds(value, rule.comparator as Comparator, rule.threshold);
    const state = rule.state;
    let next = state;
    let since = rule.state_since;
    if (ok) {
      if (state === 'firing') next = 'firing';
      else if (state === 'pending' && since !== null && now - since >= forMs) next = 'firing';
      else if (state !== 'pending') next = forMs === 0 ? 'firing' : 'pending';
    } else if (state === 'firing') next = 'resolved';
    else if (state === 'pending') next = 'ok';
    if (next !== state) since = now;

    const fields: Partial<AlertRuleRow> = {
      state: next,
      state_since: since,
      last_value: value,
      last_evaluated_at: now,
    };
    const transition = next !== state && (next === 'firing' || next === 'resolved');
    if (!transition) {
      await store.update(store.kysely, rule.id, rule.version, fields);
      return;
    }
    const notify =
      next === 'firing'
        ? rule.last_notified_at === null || now - rule.last_notified_at >= cooldownMs
        : rule.last_notified_at !== null &&
          rule.state_since !== null &&
          rule.last_notified_at >= rule.state_since;
    if (notify) fields.last_notified_at = now;
    const eventId = ids('alrev');
    const windowTo = Math.ceil(now / 60_000) * 60_000;
    const payload = JSON.stringify({
      id: eventId,
      object: 'alert_event',
      type: `alert.${next}`,
      rule: { id: rule.id, name: rule.name },
      state: next,
      value,
      threshold: rule.threshold,
      comparator: rule.comparator,
      metric: rule.metric,
      stat: rule.stat,
      filters: JSON.parse(rule.filters),
      window: rule.window_spec,
      metric_query: metricLink(rule, windowTo - windowMs, windowTo),
      occurred_at: iso(now),
    });
    const channels = JSON.parse(rule.channels) as StoredChannel[];
    const written = await db.kysely.transaction().execute(async (trx) => {
      if (!(await store.update(trx, rule.id, rule.version, fields))) return false;
      await store.insertEvent(trx, {
        id: eventId,
        org_id: rule.org_id,
        rule_id: rule.id,
        state: next,
        value,
        threshold: rule.threshold,
        notify: notify ? 1 : 0,
        payload,
        created_at: now,
      });
      if (notify) {
        for (const i of channels.keys()) {
          await queue.enqueue(trx, { kind: WEBHOOK_JOB, ref_id: deliveryRef(eventId, i) });
        }
      }
      return true;
    });
    if (written && notify && channels.length > 0) queue.notify();
  }

  async function runTick() {
    const now = clock.now();
    for (const rule of await store.enabled()) {
      try {
        await evaluate(rule, now);
      } catch (err) {
        deps.onError?.(err, rule.id);
      }
    }
  }

  return {
    /** Evaluates every enabled rule once; resolves when done. Calls never overlap. */
    tick(): Promise<void> {
      const next = chain.then(runTick, runTick);
      chain = next.catch(() => {});
      return next;
    },
    start() {
      if (timer) return;
      timer = setInterval(() => {
        const claimed = deps.claimTick ? deps.claimTick('alerts', deps.intervalMs) : Promise.resolve(true);
        void claimed
          .then((mine) => (mine ? this.tick() : undefined))
          .catch((err) => deps.onError?.(err, '*'));
      }, deps.intervalMs);
      timer.unref();
    },
    async stop() {
      clearInterval(timer);
      timer = undefined;
      await chain;
    },
  };
}
export type AlertEvaluator = ReturnType<typeof createAlertEvaluator>;

/**
 * Alert rules: CRUD and validation. A rule is a metrics query (metric, stat, filters) over a trailing
 * window, compared to a threshold; the evaluator (evaluator.ts) moves its state and the webhooks
 * module (webhooks.ts) delivers each transition.
 *
 * Validation mirrors GET /v2/metrics: the metric/stat/filters go through the metrics service's own
 * `parseQuery`, so a rule can never hold a query the metrics API would refuse; its 422 names the
 * rule's field (`filters.status`, not `status`).
 *
 * Webhook URLs: https on a public address, checked when the rule is written and again at every
 * delivery, the same check as completion webhooks' (src/webhooks/target.ts).
 *
 * Filters naming an object (agent_id, deployment_id, pipeline_id, api_key_id) must name one of the
 * rule's own organization, as any id in a body must: another organization's id is 404
 * `resource_missing` (param `filters.<name>`), like an unknown one — never a rule that watches it.
 *
 * Channel secrets are write-only: sealed at rest with the server's secret key (AES-256-GCM, bound to
 * the rule id and channel index) and never returned; the API shows `secret_set` instead.
 */
import { type AuditRecorder, audited, givenFields } from '../audit/service.ts';
import { type Clock, iso } from '../clock.ts';
import { ApiError, notFound, unprocessable } from '../errors.ts';
import type { IdFactory } from '../ids.ts';
import type { SecretBox } from '../infra/crypto/secret-box.ts';
import type { PageParams } from '../infra/db/paginate.ts';
import type { AlertEventRow, AlertRuleRow, WebhookDeliveryRow } from '../infra/db/schema.ts';
import type { Egress } from '../infra/egress/egress.ts';
import type { MetricsService } from '../metrics/service.ts';
import { checkWebhookUrl } from '../webhooks/target.ts';
import {
  type AlertFilters,
  type ChannelInputT,
  type CreateAlertBody,
  FilterKeys,
  parseDuration,
  type UpdateAlertBody,
} from './schema.ts';
import type { AlertStore } from './store.ts';

const MINUTE = 60_000;
const MAX_WINDOW_MS = 7 * 86_400_000;
const MAX_FOR_MS = 7 * 86_400_000;

/** A channel as stored: the secret sealed, or null (deliveries unsigned). */
export interface StoredChannel {
  type: 'webhook';
  url: string;
  secret: string | null;
}

/** The filters that name an object, and the noun a 404 uses for each. */
export const RefFilters = {
  agent_id: 'agent',
  deployment_id: 'deployment',
  pipeline_id: 'pipeline',
  api_key_id: 'api key',
} as const;
export type RefFilter = keyof typeof RefFilters;

export interface AlertServiceDeps {
  store: AlertStore;
  ids: IdFactory;
  clock: Clock;
  metrics: Pick<MetricsService, 'parseQuery'>;
  /** the guard webhook URLs must pass (created with allowPrivate when private webhooks are allowed) */
  egress: Egress;
  allowPrivateWebhooks: boolean;
  box: SecretBox;
  /** audit log: each change and its entry commit together */
  audit?: AuditRecorder;
  /** looks an object up in the organization; rejects with a 404 ApiError when it is not there */
  lookups: Record<RefFilter, (orgId: string, id: string) => Promise<unknown>>;
}

export const secretAad = (ruleId: string, channel: number) => `alert:${ruleId}:channel:${channel}`;

export function toAlert(row: AlertRuleRow) {
  const channels = JSON.parse(row.channels) as StoredChannel[];
  return {
    id: row.id,
    object: 'alert' as const,
    name: row.name,
    metric: row.metric,
    stat: row.stat,
    filters: JSON.parse(row.filters) as Record<string, string>,
    comparator: row.comparator as 'gt' | 'gte' | 'lt' | 'lte',
    threshold: row.threshold,
    window: row.window_spec,
    for: row.for_spec,
    cooldown: row.cooldown_spec,
    channels: channels.map((c) => ({ type: c.type, url: c.url, secret_set: c.secret !== null })),
    enabled: row.enabled === 1,
    state: row.state as 'ok' | 'pending' | 'firing' | 'resolved',
    state_since: iso(row.state_since),
    last_value: row.last_value,
    last_evaluated_at: iso(row.last_evaluated_at),
    created_at: iso(row.created_at)!,
    updated_at: iso(row.updated_at)!,
  };
}

function toDelivery(d: WebhookDeliveryRow) {
  return {
    id: d.id,
    object: 'webhook_delivery' as const,
    channel: d.channel,
    url: d.url,
    attempt: d.attempt,
    outcome: d.outcome as 'success' | 'http_error' | 'timeout' | 'network_error' | 'blocked',
    status_code: d.status_code,
    error: d.error,
    duration_ms: d.duration_ms,
    next_retry_at: iso(d.next_retry_at),
    created_at: iso(d.created_at)!,
  };
}

function toEvent(e: AlertEventRow, deliveries: WebhookDeliveryRow[]) {
  return {
    id: e.id,
    object: 'alert_event' as const,
    alert_id: e.rule_id,
    state: e.state as 'firing' | 'resolved' | 'canary_rolled_back',
    value: e.value,
    threshold: e.threshold,
    notified: e.notify === 1,
    created_at: iso(e.created_at)!,
    deliveries: deliveries.map(toDelivery),
  };
}

interface RuleSpec {
  metric: string;
  stat?: string;
  filters?: AlertFilters;
  window: string;
  for?: string;
  cooldown?: string;
}

export function createAlertService(deps: AlertServiceDeps) {
  const { store, ids, clock, metrics, egress, box, audit } = deps;

  /** The rule's query, validated by the metrics service; returns the stat it settles on. */
  function checkQuery(spec: RuleSpec): string {
    try {
      return metrics.parseQuery({ metric: spec.metric, stat: spec.stat, ...(spec.filters ?? {}) }).stat;
    } catch (err) {
      if (err instanceof ApiError && err.param && (FilterKeys as readonly string[]).includes(err.param)) {
        throw new ApiError(err.status, err.type, err.code, err.message, { param: `filters.${err.param}` });
      }
      throw err;
    }
  }

  function checkDuration(name: 'window' | 'for' | 'cooldown', spec: string): number {
    const ms = parseDuration(spec);
    if (ms === null) {
      throw unprocessable(
        'invalid_duration',
        `${name} must be a whole number and a unit (s, m, h, d), e.g. "5m"`,
        name,
      );
    }
    if (name === 'window' && (ms < MINUTE || ms > MAX_WINDOW_MS || ms % MINUTE !== 0)) {
      throw unprocessable(
        'invalid_window',
        'window must be whole minutes from 1m to 7d (metrics are kept per minute)',
        'window',
      );
    }
    if (name !== 'window' && ms > MAX_FOR_MS)
      throw unprocessable('invalid_duration', `${name} is at most 7d`, name);
    return ms;
  }

  /** Every filter that names an object names one of this organization's. */
  async function checkRefs(orgId: string, filters: AlertFilters | undefined) {
    for (const name of Object.keys(RefFilters) as RefFilter[]) {
      const id = filters?.[name];
      if (id === undefined) continue;
      await deps.lookups[name](orgId, id).catch((err: unknown) => {
        if (err instanceof ApiError && err.status === 404)
          throw notFound(RefFilters[name], id, `filters.${name}`);
        throw err;
      });
    }
  }

  const checkUrl = (raw: string, param: string) =>
    checkWebhookUrl(egress, deps.allowPrivateWebhooks, raw, param);

  async function sealChannels(
    ruleId: string,
    channels: ChannelInputT[],
    base: string,
  ): Promise<StoredChannel[]> {
    for (const [i, c] of channels.entries()) await checkUrl(c.url, `${base}[${i}].url`);
    return channels.map((c, i) => ({
      type: 'webhook',
      url: c.url,
      secret: c.secret === undefined ? null : box.seal(c.secret, secretAad(ruleId, i)),
    }));
  }

  async function row(orgId: string, id: string) {
    const r = await store.get(orgId, id);
    if (!r) throw notFound('alert', id, 'id');
    return r;
  }

  return {
    async create(orgId: string, body: CreateAlertBody) {
      const stat = checkQuery(body);
      await checkRefs(orgId, body.filters);
      checkDuration('window', body.window);
      const forSpec = body.for ?? '0s';
      const cooldownSpec = body.cooldown ?? '0s';
      checkDuration('for', forSpec);
      checkDuration('cooldown', cooldownSpec);
      const id = ids('alr');
      const channels = await sealChannels(id, body.channels, 'channels');
      const now = clock.now();
      const r: AlertRuleRow = {
        id,
        org_id: orgId,
        name: body.name,
        metric: body.metric,
        stat,
        filters: JSON.stringify(body.filters ?? {}),
        comparator: body.comparator,
        threshold: body.threshold,
        window_spec: body.window,
        for_spec: forSpec,
        cooldown_spec: cooldownSpec,
        channels: JSON.stringify(channels),
        enabled: body.enabled === false ? 0 : 1,
        state: 'ok',
        state_since: null,
        last_value: null,
        last_evaluated_at: null,
        last_notified_at: null,
        version: 1,
        created_at: now,
        updated_at: now,
        deleted_at: null,
      };
      await audited(
        audit,
        (trx) => store.insert(r, trx),
        () => ({
          orgId,
          action: 'alert.created',
          resource: { type: 'alert', id },
          changes: givenFields(body),
          statusCode: 201,
        }),
      );
      return toAlert(r);
    },

    async list(orgId: string, page: PageParams) {
      const p = await store.list(orgId, page);
      return { data: p.rows.map(toAlert), has_more: p.has_more };
    },

    get: async (orgId: string, id: string) => toAlert(await row(orgId, id)),

    async update(orgId: string, id: string, body: UpdateAlertBody) {
      const cur = await row(orgId, id);
      const spec: RuleSpec = {
        metric: body.metric ?? cur.metric,
        // a new metric without a stat takes the metric's default stat
        stat: body.stat ?? (body.metric !== undefined ? undefined : cur.stat),
        filters: body.filters ?? (JSON.parse(cur.filters) as AlertFilters),
        window: body.window ?? cur.window_spec,
      };
      const stat = checkQuery(spec);
      await checkRefs(orgId, body.filters);
      if (body.window !== undefined) checkDuration('window', body.window);
      if (body.for !== undefined) checkDuration('for', body.for);
      if (body.cooldown !== undefined) checkDuration('cooldown', body.cooldown);
      const fields: Partial<AlertRuleRow> = {
        name: body.name ?? cur.name,
        metric: spec.metric,
        stat,
        filters: JSON.stringify(spec.filters ?? {}),
        comparator: body.comparator ?? cur.comparator,
        threshold: body.threshold ?? cur.threshold,
        window_spec: spec.window,
        for_spec: body.for ?? cur.for_spec,
        cooldown_spec: body.cooldown ?? cur.cooldown_spec,
        enabled: body.enabled === undefined ? cur.enabled : body.enabled ? 1 : 0,
        updated_at: clock.now(),
      };
      if (body.channels !== undefined)
        fields.channels = JSON.stringify(await sealChannels(id, body.channels, 'channels'));
      // the evaluator may have moved the rule meanwhile: retry on the fresh row
      for (let attempt = 0; attempt < 5; attempt++) {
        const fresh = attempt === 0 ? cur : await row(orgId, id);
        const written = await audited(
          audit,
          (trx) => store.update(trx ?? store.kysely, id, fresh.version, fields),
          (ok) =>
            ok
              ? {
                  orgId,
                  action: 'alert.updated',
                  resource: { type: 'alert', id },
                  changes: givenFields(body),
                }
              : null,
        );
        if (written) return toAlert({ ...fresh, ...fields });
      }
      throw new Error(`alert ${id}: could not write the update`);
    },

    async remove(orgId: string, id: string) {
      for (let attempt = 0; attempt < 5; attempt++) {
        const cur = await row(orgId, id);
        const now = clock.now();
        const deleted = await audited(
          audit,
          (trx) =>
            store.update(trx ?? store.kysely, id, cur.version, {
              deleted_at: now,
              updated_at: now,
              enabled: 0,
            }),
          (ok) => (ok ? { orgId, action: 'alert.deleted', resource: { type: 'alert', id } } : null),
        );
        if (deleted) return { id, object: 'alert' as const, deleted: true };
      }
      throw new Error(`alert ${id}: could not delete`);
    },

    /** The rule's state transitions, newest first, each with every delivery attempt. */
    async events(orgId: string, id: string, page: PageParams) {
      await row(orgId, id);
      const p = await store.events(id, page);
      const deliveries = await store.deliveriesOf(p.rows.map((e) => e.id));
      const byEvent = new Map<string, WebhookDeliveryRow[]>();
      for (const d of deliveries) {
        const list = byEvent.get(d.event_id) ?? [];
        list.push(d);
        byEvent.set(d.event_id, list);
      }
      return { data: p.rows.map((e) => toEvent(e, byEvent.get(e.id) ?? [])), has_more: p.has_more };
    },
  };
}
export type AlertService = ReturnType<typeof createAlertService>;

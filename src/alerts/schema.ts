import Type, { type Static } from 'typebox';
import { ListQuery, NullableTimestamp, Timestamp } from '../http/schemas.ts';

export const Comparators = ['gt', 'gte', 'lt', 'lte'] as const;
export type Comparator = (typeof Comparators)[number];

/** The state a rule is in: `pending` while the condition holds but not yet for `for`. */
export const AlertStates = ['ok', 'pending', 'firing', 'resolved'] as const;
export type AlertState = (typeof AlertStates)[number];

export const DeliveryOutcomes = ['success', 'http_error', 'timeout', 'network_error', 'blocked'] as const;

const Duration = (description: string) =>
  Type.String({
    maxLength: 16,
    description: `${description}: a whole number and a unit (s, m, h, d), e.g. "5m"`,
  });

const Filters = Type.Object(
  {
    agent_id: Type.Optional(Type.String({ maxLength: 100 })),
    deployment_id: Type.Optional(Type.String({ maxLength: 100 })),
    pipeline_id: Type.Optional(Type.String({ maxLength: 100 })),
    status: Type.Optional(Type.String({ maxLength: 100 })),
    api_key_id: Type.Optional(Type.String({ maxLength: 100 })),
  },
  { additionalProperties: false, description: 'Metric filters, as GET /v2/metrics takes them' },
);
export type AlertFilters = Static<typeof Filters>;
export const FilterKeys = ['agent_id', 'deployment_id', 'pipeline_id', 'status', 'api_key_id'] as const;

const ChannelInput = Type.Object(
  {
    type: Type.Literal('webhook'),
    url: Type.String({
      minLength: 1,
      maxLength: 2048,
      description:
        'https URL on a public address (http and private addresses only with AIRMY_ALLOW_PRIVATE_WEBHOOKS=1)',
    }),
    secret: Type.Optional(
      Type.String({
        minLength: 16,
        maxLength: 256,
        description:
          'Signs each delivery (AIRMY-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<body>">). Write-only: never returned',
      }),
    ),
  },
  { additionalProperties: false },
);
export type ChannelInputT = Static<typeof ChannelInput>;

const comparator = Type.Union(Comparators.map((c) => Type.Literal(c)));

const ruleFields = {
  name: Type.String({ minLength: 1, maxLength: 200 }),
  metric: Type.String({
    maxLength: 100,
    description: 'A metric of GET /v2/metrics (runs, errors, run_latency_ms, …)',
  }),
  stat: Type.String({
    maxLength: 20,
    description: 'A stat that fits the metric; default the metric’s default',
  }),
  filters: Filters,
  comparator,
  threshold: Type.Number(),
  window: Duration(
    'The span the metric is computed over, ending at each evaluation (1m to 7d, whole minutes)',
  ),
  for: Duration('How long the condition must hold before the alert fires; default 0s'),
  cooldown: Duration('Least time between two notifications of the rule; default 0s'),
  channels: Type.Array(ChannelInput, { maxItems: 5 }),
  enabled: Type.Boolean(),
};

export const CreateAlert = Type.Object(
  {
    name: ruleFields.name,
    metric: ruleFields.metric,
    stat: Type.Optional(ruleFields.stat),
    filters: Type.Optional(ruleFields.filters),
    comparator: ruleFields.comparator,
    threshold: ruleFields.threshold,
    window: ruleFields.window,
    for: Type.Optional(ruleFields.for),
    cooldown: Type.Optional(ruleFields.cooldown),
    channels: ruleFields.channels,
    enabled: Type.Optional(ruleFields.enabled),
  },
  { additionalProperties: false },
);
export type CreateAlertBody = Static<typeof CreateAlert>;

export const UpdateAlert = Type.Object(
  {
    name: Type.Optional(ruleFields.name),
    metric: Type.Optional(ruleFields.metric),
    stat: Type.Optional(ruleFields.stat),
    filters: Type.Optional(ruleFields.filters),
    comparator: Type.Optional(ruleFields.comparator),
    threshold: Type.Optional(ruleFields.threshold),
    window: Type.Optional(ruleFields.window),
    for: Type.Optional(ruleFields.for),
    cooldown: Type.Optional(ruleFields.cooldown),
    channels: Type.Optional(
      Type.Array(ChannelInput, {
        maxItems: 5,
        description: 'Replaces every channel: secrets must be given again',
      }),
    ),
    enabled: Type.Optional(ruleFields.enabled),
  },
  { additionalProperties: false },
);
export type UpdateAlertBody = Static<typeof UpdateAlert>;

export const ListAlertsQuery = ListQuery;
export type ListAlertsQueryT = Static<typeof ListAlertsQuery>;

const state = Type.Union(AlertStates.map((s) => Type.Literal(s)));

export const Alert = Type.Object(
  {
    id: Type.String(),
    object: Type.Literal('alert'),
    name: Type.String(),
    metric: Type.String(),
    stat: Type.String(),
    filters: Type.Record(Type.String(), Type.String()),
    comparator,
    threshold: Type.Number(),
    window: Type.String(),
    for: Type.String(),
    cooldown: Type.String(),
    channels: Type.Array(
      Type.Object({
        type: Type.Literal('webhook'),
        url: Type.String(),
        secret_set: Type.Boolean({
          description: 'Whether deliveries are signed (the secret is never returned)',
        }),
      }),
    ),
    enabled: Type.Boolean(),
    state,
    state_since: NullableTimestamp,
    last_value: Type.Union([Type.Number(), Type.Null()]),
    last_evaluated_at: NullableTimestamp,
    created_at: Timestamp,
    updated_at: Timestamp,
  },
  { $id: 'Alert' },
);

export const AlertDeleted = Type.Object({
  id: Type.String(),
  object: Type.Literal('alert'),
  deleted: Type.Boolean(),
});

export const WebhookDelivery = Type.Object({
  id: Type.String(),
  object: Type.Literal('webhook_delivery'),
  channel: Type.Integer({ description: 'Index of the channel in the rule' }),
  url: Type.String(),
  attempt: Type.Integer({ minimum: 1 }),
  outcome: Type.Union(DeliveryOutcomes.map((o) => Type.Literal(o))),
  status_code: Type.Union([Type.Integer(), Type.Null()]),
  error: Type.Union([Type.String(), Type.Null()]),
  duration_ms: Type.Integer(),
  next_retry_at: NullableTimestamp,
  created_at: Timestamp,
});

export const AlertEvent = Type.Object(
  {
    id: Type.String({ description: 'Also the AIRMY-Event-Id header and the body’s `id`: deduplicate on it' }),
    object: Type.Literal('alert_event'),
    alert_id: Type.String(),
    state: Type.Union(
      [Type.Literal('firing'), Type.Literal('resolved'), Type.Literal('canary_rolled_back')],
      {
        description:
          '`firing`/`resolved`: the rule’s own transitions; `canary_rolled_back`: a canary deployment of the organization failed its analysis (sent to every enabled rule’s channels)',
      },
    ),
    value: Type.Union([Type.Number(), Type.Null()]),
    threshold: Type.Number(),
    notified: Type.Boolean({ description: 'false when the cooldown suppressed the notification' }),
    created_at: Timestamp,
    deliveries: Type.Array(WebhookDelivery, { description: 'Every delivery attempt, oldest first' }),
  },
  { $id: 'AlertEvent' },
);

const UNIT_MS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** "5m" → 300000; null when not a whole number and a unit. */
export function parseDuration(spec: string): number | null {
  const m = /^(\d{1,6})([smhd])$/.exec(spec);
  if (!m) return null;
  return Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS];
}

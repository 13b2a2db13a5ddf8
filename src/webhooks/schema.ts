import Type from 'typebox';
import { Timestamp } from '../http/schemas.ts';

export const DeliveryOutcomes = ['success', 'http_error', 'timeout', 'network_error', 'blocked'] as const;

/** `webhook` on a run, a pipeline trigger, an agent or a pipeline. */
export const WebhookInput = Type.Object(
  {
    url: Type.String({
      minLength: 1,
      maxLength: 2048,
      description:
        'https URL on a public address (http and private addresses only with AIRMY_ALLOW_PRIVATE_WEBHOOKS=1, or a host on AIRMY_EGRESS_ALLOW)',
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

const nullableInput = (description: string) => Type.Union([WebhookInput, Type.Null()], { description });

export const RunWebhookField = nullableInput(
  'POSTed the run when it ends (signed when it has a secret). Absent: the agent’s webhook; null: none',
);
export const TriggerWebhookField = nullableInput(
  'POSTed the pipeline run when it ends. Absent: the pipeline’s webhook; null: none',
);
export const OwnerWebhookField = nullableInput(
  'The completion webhook every run of it inherits unless the run sets its own; null removes it. Replaced whole: give the secret again',
);

/** What the API shows of a webhook: never the secret. */
export const WebhookView = Type.Union(
  [
    Type.Object({
      url: Type.String(),
      secret_set: Type.Boolean({
        description: 'Whether deliveries are signed (the secret is never returned)',
      }),
    }),
    Type.Null(),
  ],
  { description: 'The completion webhook, if any (see docs/webhooks.md)' },
);

export const CompletionWebhookDelivery = Type.Object(
  {
    id: Type.String(),
    object: Type.Literal('webhook_delivery'),
    event_id: Type.String({
      description: 'The event’s id (body `id`, header AIRMY-Event-Id): the same on every attempt',
    }),
    event_type: Type.String({ description: 'run.completed, run.failed, …, pipeline_run.completed, …' }),
    url: Type.String(),
    attempt: Type.Integer({ minimum: 1 }),
    outcome: Type.Union(DeliveryOutcomes.map((o) => Type.Literal(o))),
    status_code: Type.Union([Type.Integer(), Type.Null()]),
    error: Type.Union([Type.String(), Type.Null()]),
    duration_ms: Type.Integer(),
    next_retry_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()], {
      description: 'When the next attempt is due; null after a success or the last attempt',
    }),
    gave_up: Type.Boolean({ description: 'true on the last attempt of a delivery that failed for good' }),
    created_at: Timestamp,
  },
  { $id: 'WebhookDelivery' },
);

import Type, { type Static } from 'typebox';
import { ListQuery, Metadata, NullableTimestamp, Timestamp } from '../http/schemas.ts';
import { RunWebhookField, WebhookView } from '../webhooks/schema.ts';
import { RunStatuses } from './events.ts';

export const CreateRun = Type.Object(
  {
    agent_id: Type.String({ minLength: 1, maxLength: 64 }),
    input: Type.Record(Type.String({ maxLength: 200 }), Type.Unknown(), {
      description: 'The run input, e.g. {"query": "…"}',
    }),
    metadata: Type.Optional(Metadata),
    environment: Type.Optional(
      Type.String({
        pattern: '^[a-z][a-z0-9_-]{0,62}$',
        description:
          'Run the active deployment of this environment (default production); with none there, the agent’s current configuration',
      }),
    ),
    deployment_id: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 64,
        description: 'Run this deployment of the agent (active, superseded or rolled back)',
      }),
    ),
    routing_key: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 200,
        description:
          'While a canary deployment serves part of the environment, runs with the same key are served by the same version (default: the Idempotency-Key; with neither, a random draw)',
      }),
    ),
    background: Type.Optional(
      Type.Boolean({ description: 'Answer 202 at once; poll GET /v2/runs/{id} or follow its events' }),
    ),
    stream: Type.Optional(
      Type.Boolean({ description: 'Answer with a text/event-stream of the run’s events' }),
    ),
    timeout_ms: Type.Optional(
      Type.Integer({ minimum: 100, maximum: 3_600_000, description: 'Run timeout (default 10 min)' }),
    ),
    queue_timeout_ms: Type.Optional(
      Type.Integer({
        minimum: 100,
        maximum: 86_400_000,
        description: 'Expire the run if no worker starts it in time',
      }),
    ),
    webhook: Type.Optional(RunWebhookField),
  },
  { additionalProperties: false },
);
export type CreateRunBody = Static<typeof CreateRun>;

const status = Type.Union(RunStatuses.map((s) => Type.Literal(s)));

export const ListRunsQuery = Type.Object(
  {
    ...ListQuery.properties,
    agent_id: Type.Optional(Type.String({ maxLength: 64 })),
    pipeline_run_id: Type.Optional(
      Type.String({ maxLength: 64, description: 'Only the step runs of this pipeline run' }),
    ),
    deployment_id: Type.Optional(
      Type.String({ maxLength: 64, description: 'Only the runs this deployment served (a canary’s, say)' }),
    ),
    status: Type.Optional(
      Type.Array(status, { maxItems: 7, description: 'One or several statuses (repeat the parameter)' }),
    ),
    created_after: Type.Optional(Type.String({ format: 'date-time' })),
    created_before: Type.Optional(Type.String({ format: 'date-time' })),
  },
  {
    additionalProperties: false,
    patternProperties: { '^metadata\\[[^\\]]{1,40}\\]$': Type.String({ maxLength: 500 }) },
  },
);
export type ListRunsQueryT = Static<typeof ListRunsQuery> & Record<string, unknown>;

export const EventsQuery = Type.Object(
  { starting_after: Type.Optional(Type.Integer({ minimum: 0 })) },
  { additionalProperties: false },
);

export const Run = Type.Object(
  {
    id: Type.String(),
    object: Type.Literal('run'),
    agent_id: Type.String(),
    deployment_id: Type.Union([Type.String(), Type.Null()]),
    status,
    model: Type.String(),
    input: Type.Record(Type.String(), Type.Unknown()),
    output: Type.Union([Type.Record(Type.String(), Type.Unknown()), Type.Null()]),
    error: Type.Union([
      Type.Object({
        code: Type.String(),
        message: Type.String(),
        stack: Type.Optional(
          Type.String({
            description: "Code agents: the guest's stack trace (lines and columns of the agent's code)",
          }),
        ),
      }),
      Type.Null(),
    ]),
    latency_ms: Type.Union([Type.Integer(), Type.Null()]),
    tokens_used: Type.Integer(),
    usage: Type.Object({ input_tokens: Type.Integer(), output_tokens: Type.Integer() }),
    metadata: Type.Record(Type.String(), Type.String()),
    pipeline_run_id: Type.Union([Type.String(), Type.Null()]),
    step_id: Type.Union([Type.String(), Type.Null()]),
    tool_calls: Type.Array(
      Type.Object({
        id: Type.String(),
        name: Type.String(),
        input: Type.Unknown(),
        output: Type.Optional(Type.Unknown()),
        error: Type.Optional(Type.Object({ code: Type.String(), message: Type.String() })),
        duration_ms: Type.Integer(),
      }),
      { description: 'Tools the model called, in order: each with its output, or the error the model saw' },
    ),
    guardrails: Type.Array(
      Type.Object({
        rule: Type.String(),
        action: Type.Union([Type.Literal('block'), Type.Literal('redact'), Type.Literal('flag')]),
        count: Type.Integer(),
      }),
      { description: 'Guardrail rules that matched the input or output: what they did and how often' },
    ),
    webhook: WebhookView,
    trace_id: Type.Union([Type.String(), Type.Null()], {
      description:
        'The OpenTelemetry trace the run belongs to (the request that created it); null when tracing is off',
    }),
    created_at: Timestamp,
    started_at: NullableTimestamp,
    completed_at: NullableTimestamp,
  },
  { $id: 'Run' },
);

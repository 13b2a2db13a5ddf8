/**
 * Request and response schemas of the pipeline routes. Definition bodies are validated by
 * definition.ts (422 with the exact `param`), so the route schema types them loosely and the
 * OpenAPI document shows the precise shape (src/http/openapi-doc.ts).
 */
import Type, { type Static, type TSchema } from 'typebox';
import { documentedAs } from '../http/openapi-doc.ts';
import { ListQuery, Metadata, NullableTimestamp, Timestamp } from '../http/schemas.ts';
import { OwnerWebhookField, TriggerWebhookField, WebhookView } from '../webhooks/schema.ts';
import { LIMITS, MAX_STEPS, RETRY_DEFAULTS, STEP_ID_PATTERN } from './definition-fields.ts';
import { PipelineRunStatusList } from './events.ts';

const any = (description: string) => Type.Unknown({ description });

const definitionFields = {
  name: any('Display name (1–200 characters)'),
  description: any('Free text (up to 2,000 characters)'),
  input_schema: any('JSON Schema (2020-12) every trigger’s `input` must satisfy'),
  steps: any(
    'The steps: `{id, agent_id, input, depends_on?, when?, retry?: {max_attempts, backoff_ms, backoff_multiplier, max_backoff_ms}, timeout_ms?, on_failure?: "fail" | "continue"}`. `input` is a JSON template: strings may embed `{{ expression }}` over `input` and `steps.<id>.{status, output, error}`',
  ),
  output: any('JSON template of the pipeline run’s output (default: the final steps’ outputs by id)'),
  timeout_ms: any(
    'Bound on a whole pipeline run, from trigger to end (1 ms – 7 days): past it, running steps are cancelled and the run ends `timed_out`',
  ),
  metadata: any('Your own key/value pairs'),
};

const optional = Object.fromEntries(
  Object.entries(definitionFields).map(([k, v]) => [k, Type.Optional(v)]),
) as { [K in keyof typeof definitionFields]: ReturnType<typeof Type.Optional<(typeof definitionFields)[K]>> };

const withWebhook = { ...optional, webhook: Type.Optional(OwnerWebhookField) };

const range = (key: keyof typeof LIMITS, description: string) =>
  (key === 'backoff_multiplier' ? Type.Number : Type.Integer)({
    minimum: LIMITS[key][0],
    maximum: LIMITS[key][1],
    description,
  });

const Step = Type.Object(
  {
    id: Type.String({
      // STEP_ID_PATTERN is case-insensitive; a JSON Schema pattern has no flags
      pattern: STEP_ID_PATTERN.source.replace('[a-z]', '[A-Za-z]').replace('[a-z0-9_]', '[A-Za-z0-9_]'),
      description: 'Unique in the pipeline (case-insensitively); letters, digits and _',
    }),
    agent_id: Type.String({ minLength: 1, maxLength: 255 }),
    input: Type.Unknown({
      description:
        'A JSON template: strings may embed `{{ expression }}` over `input` and `steps.<id>.{status, output, error}`',
    }),
    depends_on: Type.Optional(
      Type.Array(Type.String(), { uniqueItems: true, description: 'Ids of the steps that must end first' }),
    ),
    when: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 10_000,
        description: 'Expression: the step runs only when true',
      }),
    ),
    retry: Type.Optional(
      Type.Object(
        {
          max_attempts: Type.Optional(range('max_attempts', `Default ${RETRY_DEFAULTS.max_attempts}`)),
          backoff_ms: Type.Optional(range('backoff_ms', `Default ${RETRY_DEFAULTS.backoff_ms}`)),
          backoff_multiplier: Type.Optional(
            range('backoff_multiplier', `Default ${RETRY_DEFAULTS.backoff_multiplier}`),
          ),
          max_backoff_ms: Type.Optional(
            range('max_backoff_ms', `Default ${RETRY_DEFAULTS.max_backoff_ms}; at least backoff_ms`),
          ),
        },
        { additionalProperties: false },
      ),
    ),
    timeout_ms: Type.Optional(range('timeout_ms', 'Bound on one attempt of the step')),
    on_failure: Type.Optional(
      Type.Union([Type.Literal('fail'), Type.Literal('continue')], { description: 'Default fail' }),
    ),
  },
  { additionalProperties: false },
);

const documented = {
  name: Type.String({ minLength: 1, maxLength: 200 }),
  description: Type.String({ maxLength: 2000 }),
  input_schema: Type.Union([Type.Record(Type.String(), Type.Unknown()), Type.Boolean()], {
    description: 'JSON Schema (2020-12) every trigger’s `input` must satisfy',
  }),
  steps: Type.Array(Step, { minItems: 1, maxItems: MAX_STEPS }),
  output: Type.Unknown({
    description: 'JSON template of the pipeline run’s output (default: the final steps’ outputs by id)',
  }),
  timeout_ms: range('pipeline_timeout_ms', 'Bound on a whole pipeline run, from trigger to end'),
  metadata: Type.Record(Type.String(), Type.Unknown(), { description: 'Your own key/value pairs' }),
};
const nullable = <T extends TSchema>(schema: T) => Type.Optional(Type.Union([schema, Type.Null()]));

// Validated by definition.ts (422 with the exact param, e.g. steps[0].retry.backoff_ms); the
// document shows the shape it enforces.
export const CreatePipeline = documentedAs(
  Type.Object(withWebhook, { additionalProperties: false }),
  Type.Object(
    {
      name: documented.name,
      description: nullable(documented.description),
      input_schema: nullable(documented.input_schema),
      steps: documented.steps,
      output: nullable(documented.output),
      timeout_ms: nullable(documented.timeout_ms),
      metadata: nullable(documented.metadata),
      webhook: Type.Optional(OwnerWebhookField),
    },
    {
      additionalProperties: false,
      description:
        'A pipeline definition, validated as a whole: errors are 422 with the field’s path in `param`',
    },
  ),
);
export const UpdatePipeline = documentedAs(
  Type.Object(withWebhook, { additionalProperties: false }),
  Type.Object(
    {
      name: Type.Optional(documented.name),
      description: nullable(documented.description),
      input_schema: nullable(documented.input_schema),
      steps: Type.Optional(documented.steps),
      output: nullable(documented.output),
      timeout_ms: nullable(documented.timeout_ms),
      metadata: nullable(documented.metadata),
      webhook: Type.Optional(OwnerWebhookField),
    },
    {
      additionalProperties: false,
      minProperties: 1,
      description: 'Fields to replace (null removes an optional one); the version goes up by one',
    },
  ),
);

const Json = Type.Unknown();
const StepError = Type.Union([Type.Object({ code: Type.String(), message: Type.String() }), Type.Null()]);

export const Pipeline = Type.Object(
  {
    id: Type.String(),
    object: Type.Literal('pipeline'),
    name: Type.String(),
    description: Type.Union([Type.String(), Type.Null()]),
    version: Type.Integer(),
    input_schema: Json,
    steps: Type.Array(Type.Record(Type.String(), Type.Unknown())),
    output: Json,
    timeout_ms: Type.Union([Type.Integer(), Type.Null()]),
    metadata: Type.Record(Type.String(), Type.Unknown()),
    webhook: WebhookView,
    created_at: Timestamp,
    updated_at: Timestamp,
  },
  { $id: 'Pipeline' },
);

const status = Type.Union(PipelineRunStatusList.map((s) => Type.Literal(s)));

export const PipelineRun = Type.Object(
  {
    id: Type.String(),
    object: Type.Literal('pipeline_run'),
    pipeline_id: Type.String(),
    pipeline_version: Type.Integer(),
    status,
    input: Json,
    output: Json,
    steps: Type.Array(
      Type.Object({
        id: Type.String(),
        status: Type.Union(
          ['pending', 'running', 'completed', 'failed', 'skipped', 'cancelled'].map((s) => Type.Literal(s)),
        ),
        run_ids: Type.Array(Type.String()),
        attempts: Type.Integer(),
        output: Json,
        error: StepError,
        started_at: NullableTimestamp,
        completed_at: NullableTimestamp,
      }),
    ),
    error: Type.Union([Type.Record(Type.String(), Type.Unknown()), Type.Null()]),
    metadata: Type.Record(Type.String(), Type.String()),
    tokens_used: Type.Integer(),
    trace_id: Type.Union([Type.String(), Type.Null()], {
      description:
        'The OpenTelemetry trace of the request that triggered it (its step runs are in it); null when tracing is off',
    }),
    trigger: Type.Object(
      {
        type: Type.Union([Type.Literal('api'), Type.Literal('schedule')]),
        schedule_id: Type.Optional(Type.String()),
        scheduled_for: Type.Optional(Timestamp),
      },
      { description: 'What started the run: the API, or a schedule’s tick (`scheduled_for`)' },
    ),
    latency_ms: Type.Union([Type.Integer(), Type.Null()]),
    webhook: WebhookView,
    created_at: Timestamp,
    started_at: NullableTimestamp,
    completed_at: NullableTimestamp,
  },
  { $id: 'PipelineRun' },
);

export const TriggerPipeline = Type.Object(
  {
    input: Type.Optional(Type.Unknown({ description: 'Checked against the pipeline’s input_schema' })),
    metadata: Type.Optional(Metadata),
    webhook: Type.Optional(TriggerWebhookField),
  },
  { additionalProperties: false },
);

export const PipelineRunParams = Type.Object(
  { id: Type.String({ minLength: 1, maxLength: 64 }), run_id: Type.String({ minLength: 1, maxLength: 64 }) },
  { additionalProperties: false },
);

export const ListPipelineRunsQuery = Type.Object(
  {
    ...ListQuery.properties,
    status: Type.Optional(
      Type.Array(status, { maxItems: 6, description: 'One or several statuses (repeat the parameter)' }),
    ),
    created_after: Type.Optional(Type.String({ format: 'date-time' })),
    created_before: Type.Optional(Type.String({ format: 'date-time' })),
  },
  { additionalProperties: false },
);
export type ListPipelineRunsQueryT = Static<typeof ListPipelineRunsQuery>;

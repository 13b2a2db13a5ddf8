import Type, { type Static } from 'typebox';
import { MODEL_ID_PATTERN } from '../engine/providers/registry.ts';
import { documentedAs } from '../http/openapi-doc.ts';
import { Metadata, NullableTimestamp, Timestamp } from '../http/schemas.ts';
import { OwnerWebhookField, WebhookView } from '../webhooks/schema.ts';

// An unknown provider or a malformed id is 422 `unknown_model` (agents/service.ts), so the
// pattern is documented rather than enforced by the schema.
const MODEL_DESCRIPTION =
  'provider/model, e.g. openai/gpt-4.1-mini, anthropic/claude-sonnet-4-5, mock/echo; the provider must be configured (else 422 unknown_model)';

export const Parameters = Type.Object(
  {
    temperature: Type.Optional(Type.Number({ minimum: 0, maximum: 2 })),
    top_p: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
    max_output_tokens: Type.Optional(Type.Integer({ minimum: 1, maximum: 200_000 })),
    stop: Type.Optional(Type.Array(Type.String({ maxLength: 100 }), { maxItems: 8 })),
    mock_reply: Type.Optional(
      Type.String({ maxLength: 100_000, description: 'mock/* models: the exact reply' }),
    ),
    mock_latency_ms: Type.Optional(
      Type.Integer({ minimum: 0, maximum: 600_000, description: 'mock/* models: simulated latency' }),
    ),
    mock_chunk_size: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 10_000,
        description: 'mock/* models: characters per streamed chunk',
      }),
    ),
    mock_error: Type.Optional(
      Type.Object(
        { code: Type.Optional(Type.String({ maxLength: 100 })), message: Type.String({ maxLength: 1000 }) },
        { additionalProperties: false },
      ),
    ),
    mock_error_rate: Type.Optional(
      Type.Number({
        minimum: 0,
        maximum: 1,
        description: 'mock/* models: the share of calls that fail (code mock_error), at random',
      }),
    ),
    max_tool_steps: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 20,
        description: 'Model steps that may call tools before the model must answer (default 8)',
      }),
    ),
    mock_tool_calls: Type.Optional(
      Type.Array(
        Type.Object(
          {
            tool: Type.String({ minLength: 1, maxLength: 100 }),
            input: Type.Optional(Type.Record(Type.String({ maxLength: 200 }), Type.Unknown())),
          },
          { additionalProperties: false },
        ),
        { maxItems: 16, description: 'mock/* models: tools the first step calls (in parallel)' },
      ),
    ),
    mock_tool_rounds: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 1000,
        description: 'mock/* models: how many steps repeat mock_tool_calls (default 1)',
      }),
    ),
  },
  { additionalProperties: false, description: 'Model call settings' },
);

const fields = {
  name: Type.String({ minLength: 1, maxLength: 200 }),
  description: Type.Union([Type.String({ maxLength: 2000 }), Type.Null()]),
  model: documentedAs(Type.String({ minLength: 1, maxLength: 256, description: MODEL_DESCRIPTION }), {
    type: 'string',
    minLength: 3,
    maxLength: 256,
    pattern: MODEL_ID_PATTERN,
    description: MODEL_DESCRIPTION,
  }),
  instructions: Type.Union([Type.String({ maxLength: 100_000 }), Type.Null()]),
  parameters: Parameters,
  tools: Type.Array(Type.String({ minLength: 1, maxLength: 100 }), { maxItems: 64 }),
  guardrails: Type.Union([Type.String({ minLength: 1, maxLength: 100 }), Type.Null()], {
    description:
      'A guardrail template (none, baseline, pii-redact, pii-block, strict), or a policy id (gp_…) or name; null: none',
  }),
  metadata: Metadata,
  smoke_test: Type.Union([
    Type.Object(
      {
        input: Type.Record(Type.String({ maxLength: 200 }), Type.Unknown(), {
          description: 'The run input of the smoke test',
        }),
        expect: Type.Optional(
          Type.String({ maxLength: 10_000, description: 'Text the output.result must contain' }),
        ),
      },
      { additionalProperties: false, description: 'A run every deployment must pass before going active' },
    ),
    Type.Null(),
  ]),
};

/** A code agent's module: the cap keeps agents (and every run's frozen config) small. */
export const MAX_CODE_BYTES = 256 * 1024;

const codeFields = {
  code: Type.Union([
    Type.String({
      minLength: 1,
      maxLength: MAX_CODE_BYTES,
      description:
        'An ES module whose default export is `async (input, ctx) => output`, run in a QuickJS WebAssembly sandbox (docs/code-agents.md); null: a prompt agent',
    }),
    Type.Null(),
  ]),
  code_limits: Type.Union([
    Type.Object(
      {
        memory_mb: Type.Optional(Type.Integer({ minimum: 1, description: 'Guest heap (default 64)' })),
        cpu_ms: Type.Optional(Type.Integer({ minimum: 1, description: 'CPU time per run (default 10000)' })),
        output_bytes: Type.Optional(
          Type.Integer({ minimum: 2, description: 'The output as JSON (default 1048576)' }),
        ),
        host_calls: Type.Optional(
          Type.Integer({
            minimum: 1,
            description: 'ctx.model, ctx.tools, ctx.log and ctx.sleep calls per run (default 1000)',
          }),
        ),
      },
      {
        additionalProperties: false,
        description:
          "A code agent's per-run limits, each within the server's maxima (AIRMY_SANDBOX_MAX_*); wall time is the run's timeout_ms",
      },
    ),
    Type.Null(),
  ]),
};

export const CreateAgent = Type.Object(
  {
    name: fields.name,
    model: Type.Optional(fields.model),
    code: Type.Optional(codeFields.code),
    code_limits: Type.Optional(codeFields.code_limits),
    description: Type.Optional(fields.description),
    instructions: Type.Optional(fields.instructions),
    parameters: Type.Optional(fields.parameters),
    tools: Type.Optional(fields.tools),
    guardrails: Type.Optional(fields.guardrails),
    metadata: Type.Optional(fields.metadata),
    smoke_test: Type.Optional(fields.smoke_test),
    webhook: Type.Optional(OwnerWebhookField),
  },
  { additionalProperties: false },
);
export type CreateAgentBody = Static<typeof CreateAgent>;

export const UpdateAgent = Type.Object(
  {
    name: Type.Optional(fields.name),
    model: Type.Optional(fields.model),
    code: Type.Optional(codeFields.code),
    code_limits: Type.Optional(codeFields.code_limits),
    description: Type.Optional(fields.description),
    instructions: Type.Optional(fields.instructions),
    parameters: Type.Optional(fields.parameters),
    tools: Type.Optional(fields.tools),
    guardrails: Type.Optional(fields.guardrails),
    metadata: Type.Optional(fields.metadata),
    smoke_test: Type.Optional(fields.smoke_test),
    webhook: Type.Optional(OwnerWebhookField),
  },
  { additionalProperties: false, minProperties: 1 },
);
export type UpdateAgentBody = Static<typeof UpdateAgent>;

export const Agent = Type.Object(
  {
    id: Type.String(),
    object: Type.Literal('agent'),
    name: Type.String(),
    description: Type.Union([Type.String(), Type.Null()]),
    model: Type.Union([Type.String(), Type.Null()], { description: 'null: a code agent without a model' }),
    code: Type.Union([Type.String(), Type.Null()]),
    code_limits: Type.Union([
      Type.Object({
        memory_mb: Type.Optional(Type.Integer()),
        cpu_ms: Type.Optional(Type.Integer()),
        output_bytes: Type.Optional(Type.Integer()),
        host_calls: Type.Optional(Type.Integer()),
      }),
      Type.Null(),
    ]),
    instructions: Type.Union([Type.String(), Type.Null()]),
    parameters: Type.Record(Type.String(), Type.Unknown()),
    tools: Type.Array(Type.String()),
    guardrails: Type.Union([Type.String(), Type.Null()]),
    metadata: Type.Record(Type.String(), Type.String()),
    smoke_test: Type.Union([
      Type.Object({
        input: Type.Record(Type.String(), Type.Unknown()),
        expect: Type.Optional(Type.String()),
      }),
      Type.Null(),
    ]),
    webhook: WebhookView,
    version: Type.Integer(),
    created_at: Timestamp,
    updated_at: Timestamp,
    deleted_at: Type.Optional(NullableTimestamp),
  },
  { $id: 'Agent' },
);

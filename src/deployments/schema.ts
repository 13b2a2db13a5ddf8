import Type, { type Static } from 'typebox';
import { ListQuery, Metadata, NullableTimestamp, Timestamp } from '../http/schemas.ts';

export const DeploymentStatuses = [
  'pending',
  'validating',
  'canary',
  'active',
  'failed',
  'superseded',
  'rolled_back',
] as const;
export type DeploymentStatus = (typeof DeploymentStatuses)[number];

const status = Type.Union(DeploymentStatuses.map((s) => Type.Literal(s)));
const Environment = Type.String({
  pattern: '^[a-z][a-z0-9_-]{0,62}$',
  description: 'Environment name: lowercase letters, digits, `_` and `-`; default `production`',
});

export const CreateDeployment = Type.Object(
  {
    agent_id: Type.String({ minLength: 1, maxLength: 64 }),
    environment: Type.Optional(Environment),
    description: Type.Optional(Type.Union([Type.String({ maxLength: 2000 }), Type.Null()])),
    metadata: Type.Optional(Metadata),
    strategy: Type.Optional(
      Type.Unknown({
        description:
          'How the version goes live: `{"type": "immediate"}` (default: active once validated), or a canary `{"type": "canary", "steps": [10, 50, 100], "analysis": {"interval_s": 60, "min_runs": 20, "failure_limit": 0, "on_no_data": "wait", "metrics": [{"name": "error_rate", "max": 0.05}, {"name": "latency_p95_ms", "max": 2000}, {"name": "guardrail_block_rate", "max": 0.01}]}}` (`traffic_percent` alone: one step, then promotion). Every field is checked: a bad one is 422 `invalid_strategy` naming it. The shape stored is the Deployment’s `strategy`.',
      }),
    ),
  },
  { additionalProperties: false },
);
export type CreateDeploymentBody = Static<typeof CreateDeployment>;

export const ListDeploymentsQuery = Type.Object(
  {
    ...ListQuery.properties,
    agent_id: Type.Optional(Type.String({ maxLength: 64 })),
    environment: Type.Optional(Environment),
    status: Type.Optional(status),
  },
  { additionalProperties: false },
);
export type ListDeploymentsQueryT = Static<typeof ListDeploymentsQuery>;

export const LogsQuery = Type.Object(
  {
    starting_after: Type.Optional(
      Type.Integer({ minimum: 0, description: 'Only lines after this sequence number' }),
    ),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
    follow: Type.Optional(
      Type.Boolean({
        default: true,
        description: 'SSE only: false ends the stream after the stored lines are replayed',
      }),
    ),
  },
  { additionalProperties: false },
);
export type LogsQueryT = Static<typeof LogsQuery>;

const ConfigSnapshot = Type.Object(
  {
    name: Type.String(),
    model: Type.String(),
    instructions: Type.Union([Type.String(), Type.Null()]),
    parameters: Type.Record(Type.String(), Type.Unknown()),
    tools: Type.Array(Type.String()),
    guardrails: Type.Union([Type.String(), Type.Null()]),
    smoke_test: Type.Union([Type.Record(Type.String(), Type.Unknown()), Type.Null()]),
    agent_version: Type.Integer(),
    code: Type.Optional(Type.String({ description: "A code agent's module, frozen" })),
    code_limits: Type.Optional(Type.Record(Type.String(), Type.Integer())),
  },
  { description: 'The agent’s configuration frozen when the deployment was created' },
);

const CanaryMetric = Type.Object({
  name: Type.Union([
    Type.Literal('error_rate'),
    Type.Literal('latency_p95_ms'),
    Type.Literal('guardrail_block_rate'),
  ]),
  max: Type.Number(),
});

const Strategy = Type.Union(
  [
    Type.Object({ type: Type.Literal('immediate') }),
    Type.Object({
      type: Type.Literal('canary'),
      steps: Type.Array(Type.Integer({ minimum: 1, maximum: 100 }), {
        description: 'The candidate’s share of the runs (percent) at each step',
      }),
      analysis: Type.Object({
        interval_s: Type.Integer({ description: 'Seconds between analyses (one per step at least)' }),
        min_runs: Type.Integer({ description: 'Fewer runs in an analysis window is no data' }),
        failure_limit: Type.Integer({ description: 'Failed analyses tolerated; one more rolls back' }),
        on_no_data: Type.Union([Type.Literal('wait'), Type.Literal('fail'), Type.Literal('pass')], {
          description: 'No data: `wait` (look again next interval), `fail` (a failed analysis), `pass`',
        }),
        metrics: Type.Array(CanaryMetric),
      }),
    }),
  ],
  { description: 'How the version goes live (normalized, defaults filled in)' },
);

const Figure = Type.Object({
  name: Type.String(),
  value: Type.Union([Type.Number(), Type.Null()]),
  max: Type.Number(),
  passed: Type.Boolean(),
});

const Canary = Type.Union(
  [
    Type.Object({
      traffic_percent: Type.Integer({ description: 'The share of the environment’s runs it serves now' }),
      step: Type.Union([Type.Integer(), Type.Null()], { description: 'The current step, from 1' }),
      steps: Type.Array(Type.Integer()),
      step_started_at: NullableTimestamp,
      next_analysis_at: NullableTimestamp,
      failures: Type.Integer({ description: 'Failed analyses so far' }),
      last_analysis: Type.Union([
        Type.Object({
          at: Timestamp,
          step: Type.Integer(),
          traffic_percent: Type.Integer(),
          window_from: Timestamp,
          runs: Type.Integer({ description: 'The candidate’s runs that ended in the window' }),
          result: Type.Union([Type.Literal('passed'), Type.Literal('failed'), Type.Literal('inconclusive')]),
          metrics: Type.Array(Figure),
          message: Type.String(),
        }),
        Type.Null(),
      ]),
    }),
    Type.Null(),
  ],
  { description: 'A canary’s progress (null for an immediate deployment)' },
);

export const Deployment = Type.Object(
  {
    id: Type.String(),
    object: Type.Literal('deployment'),
    agent_id: Type.String(),
    environment: Type.String(),
    version: Type.Integer(),
    status,
    config: ConfigSnapshot,
    previous_deployment_id: Type.Union([Type.String(), Type.Null()]),
    description: Type.Union([Type.String(), Type.Null()]),
    created_at: Timestamp,
    activated_at: NullableTimestamp,
    failed_reason: Type.Union([Type.String(), Type.Null()]),
    metadata: Type.Record(Type.String(), Type.String()),
    strategy: Strategy,
    canary: Canary,
  },
  { $id: 'Deployment' },
);

export const LogLine = Type.Object(
  {
    sequence_number: Type.Integer(),
    ts: Timestamp,
    level: Type.Union([Type.Literal('info'), Type.Literal('warn'), Type.Literal('error')]),
    step: Type.String(),
    message: Type.String(),
  },
  { $id: 'DeploymentLogLine' },
);

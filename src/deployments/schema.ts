import Type, { type Static } from 'typebox';
import { ListQuery, Metadata, NullableTimestamp, Timestamp } from '../http/schemas.ts';

export const DeploymentStatuses = [
  'pending',
  'validating',
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

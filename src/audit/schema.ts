import Type, { type Static } from 'typebox';
import { ListQuery, Timestamp } from '../http/schemas.ts';
import { ActorTypes, Outcomes } from './service.ts';

const literals = (values: readonly string[]) => Type.Union(values.map((v) => Type.Literal(v)));

export const AuditLog = Type.Object(
  {
    id: Type.String(),
    object: Type.Literal('audit_log'),
    seq: Type.Integer({ description: "Position in the organization's hash chain, from 1" }),
    action: Type.String({ description: 'Dotted `<resource>.<verb>`, e.g. `agent.updated`' }),
    actor: Type.Object({ type: literals(ActorTypes), id: Type.Union([Type.String(), Type.Null()]) }),
    resource: Type.Union([
      Type.Object({ type: Type.String(), id: Type.Union([Type.String(), Type.Null()]) }),
      Type.Null(),
    ]),
    outcome: literals(Outcomes),
    status_code: Type.Union([Type.Integer(), Type.Null()]),
    request_id: Type.Union([Type.String(), Type.Null()]),
    ip: Type.Union([Type.String(), Type.Null()]),
    user_agent: Type.Union([Type.String(), Type.Null()]),
    changes: Type.Array(Type.String(), { description: 'Names of the fields that changed, never values' }),
    created_at: Timestamp,
    prev_hash: Type.String({ description: "The previous entry's hash (64 zeros for the first)" }),
    hash: Type.String({ description: "SHA-256 over prev_hash and this entry's content" }),
  },
  { $id: 'AuditLog' },
);

export const ListAuditLogsQuery = Type.Object(
  {
    ...ListQuery.properties,
    action: Type.Optional(Type.String({ maxLength: 100 })),
    actor_id: Type.Optional(Type.String({ maxLength: 64 })),
    resource_type: Type.Optional(Type.String({ maxLength: 64 })),
    resource_id: Type.Optional(Type.String({ maxLength: 64 })),
    outcome: Type.Optional(literals(Outcomes)),
    created_after: Type.Optional(
      Type.String({ format: 'date-time', description: 'Only entries created after this instant (RFC 3339)' }),
    ),
    created_before: Type.Optional(
      Type.String({
        format: 'date-time',
        description: 'Only entries created before this instant (RFC 3339)',
      }),
    ),
    from: Type.Optional(
      Type.String({
        format: 'date-time',
        deprecated: true,
        description:
          'Deprecated (sunset 2027-12-06): use created_after. Inclusive lower bound; answers carry Deprecation and Sunset headers',
      }),
    ),
    to: Type.Optional(
      Type.String({
        format: 'date-time',
        deprecated: true,
        description:
          'Deprecated (sunset 2027-12-06): use created_before. Exclusive upper bound; answers carry Deprecation and Sunset headers',
      }),
    ),
  },
  { additionalProperties: false },
);
export type ListAuditLogsQueryT = Static<typeof ListAuditLogsQuery>;

export const AuditVerification = Type.Object({
  object: Type.Literal('audit_verification'),
  valid: Type.Boolean(),
  checked: Type.Integer({ description: 'Entries walked before the answer' }),
  first_broken: Type.Optional(
    Type.Object({
      id: Type.Union([Type.String(), Type.Null()], {
        description: 'null when entries are missing at the end',
      }),
      seq: Type.Integer(),
      reason: literals(['hash_mismatch', 'prev_hash_mismatch', 'seq_gap', 'missing_tail', 'missing_head']),
    }),
  ),
});

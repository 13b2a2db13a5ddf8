/**
 * Guardrail request and response schemas. Rules are typed loosely here (an array of objects with a
 * `kind`): the pure core validates them as a whole (`resolvePolicy`), so a bad rule is a 422 whose
 * `param` is the rule field's path (`rules[2].pattern`), like pipeline definitions. The table of
 * rule kinds and their options is in src/guardrails/README.md.
 */
import Type, { type Static } from 'typebox';
import { Metadata, NullableTimestamp, Timestamp } from '../http/schemas.ts';
import { ACTIONS, APPLY_TO, RULE_KINDS } from './types.ts';
import { POLICY_LIMITS } from './validate.ts';

const Rule = Type.Object(
  {
    kind: Type.Union(
      RULE_KINDS.map((k) => Type.Literal(k)),
      {
        description:
          'pii, regex, blocked_terms, max_input_chars, max_output_chars, prompt_injection, json_schema',
      },
    ),
    name: Type.Optional(
      Type.String({ description: 'Unique in the policy; overrides a template rule of this name' }),
    ),
    action: Type.Union(
      ACTIONS.map((a) => Type.Literal(a)),
      { description: 'block, redact or flag' },
    ),
    apply_to: Type.Optional(
      Type.Union(
        APPLY_TO.map((a) => Type.Literal(a)),
        { description: 'input, output or both (default depends on the kind)' },
      ),
    ),
  },
  {
    additionalProperties: true,
    description:
      'A rule; its kind-specific options (entities, pattern, flags, terms, limit, schema) are validated as a whole (422 with the field path in `param`)',
  },
);

const fields = {
  name: Type.String({
    minLength: 1,
    maxLength: 100,
    pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]*$',
    description:
      'Unique in the organization; agents may name the policy by it. Not a template name, not starting with gp_',
  }),
  description: Type.Union([Type.String({ maxLength: 2000 }), Type.Null()]),
  extends: Type.Union([Type.String({ minLength: 1, maxLength: 100 }), Type.Null()], {
    description: 'A built-in template (none, baseline, pii-redact, pii-block, strict) whose rules come first',
  }),
  rules: Type.Array(Rule, { maxItems: POLICY_LIMITS.rules }),
  metadata: Metadata,
};

export const CreateGuardrailPolicy = Type.Object(
  {
    name: fields.name,
    description: Type.Optional(fields.description),
    extends: Type.Optional(fields.extends),
    rules: Type.Optional(fields.rules),
    metadata: Type.Optional(fields.metadata),
  },
  { additionalProperties: false },
);
export type CreateGuardrailPolicyBody = Static<typeof CreateGuardrailPolicy>;

export const UpdateGuardrailPolicy = Type.Object(
  {
    name: Type.Optional(fields.name),
    description: Type.Optional(fields.description),
    extends: Type.Optional(fields.extends),
    rules: Type.Optional(fields.rules),
    metadata: Type.Optional(fields.metadata),
  },
  { additionalProperties: false, minProperties: 1 },
);
export type UpdateGuardrailPolicyBody = Static<typeof UpdateGuardrailPolicy>;

const AnyRule = Type.Record(Type.String(), Type.Unknown());

export const GuardrailPolicy = Type.Object(
  {
    id: Type.String(),
    object: Type.Literal('guardrail_policy'),
    name: Type.String(),
    description: Type.Union([Type.String(), Type.Null()]),
    extends: Type.Union([Type.String(), Type.Null()]),
    rules: Type.Array(AnyRule, { description: 'The rules as given' }),
    effective_rules: Type.Array(AnyRule, {
      description: 'What runs: the template’s rules with these merged over them (overrides in place)',
    }),
    metadata: Type.Record(Type.String(), Type.String()),
    version: Type.Integer({
      description: 'Goes up by one on every update; a run uses the version in force when accepted',
    }),
    created_at: Timestamp,
    updated_at: Timestamp,
    deleted_at: Type.Optional(NullableTimestamp),
  },
  { $id: 'GuardrailPolicy' },
);

export const GuardrailTemplate = Type.Object(
  {
    object: Type.Literal('guardrail_template'),
    name: Type.String(),
    description: Type.String(),
    rules: Type.Array(AnyRule),
  },
  { $id: 'GuardrailTemplate' },
);

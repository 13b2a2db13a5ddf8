/**
 * Policy rule validation: turns untrusted JSON into typed rules, or names the first offending
 * field (`rules[2].pattern`) with a message a person can act on. Everything that could fail or be
 * slow later is caught here: patterns that do not compile or risk catastrophic backtracking
 * (regex-safety.ts; also applied to `pattern` keywords inside JSON schemas), schemas Ajv cannot
 * compile, and actions a kind cannot honour (a schema or an injection verdict has nothing to redact).
 */
import { normaliseTerm } from './detectors/blocked-terms.ts';
import { createJsonValidator } from './json-schema.ts';
import { checkRegexSafety } from './regex-safety.ts';
import {
  ACTIONS,
  APPLY_TO,
  type ApplyTo,
  PII_ENTITIES,
  type PolicyRule,
  RULE_KINDS,
  type RuleKind,
  type ValidationResult,
} from './types.ts';

export const POLICY_LIMITS = {
  rules: 64,
  patternChars: 1000,
  terms: 1000,
  termChars: 200,
  maxLimit: 10_000_000,
  schemaChars: 65_536,
} as const;

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const COMMON_FIELDS = ['kind', 'action', 'apply_to', 'name'];
const KIND_FIELDS: Readonly<Record<RuleKind, readonly string[]>> = {
  pii: ['entities'],
  regex: ['pattern', 'flags'],
  blocked_terms: ['terms'],
  max_input_chars: ['limit'],
  max_output_chars: ['limit'],
  prompt_injection: [],
  json_schema: ['schema'],
};
const DEFAULT_APPLY_TO: Readonly<Record<RuleKind, ApplyTo>> = {
  pii: 'both',
  regex: 'both',
  blocked_terms: 'both',
  max_input_chars: 'input',
  max_output_chars: 'output',
  prompt_injection: 'input',
  json_schema: 'output',
};

class RuleError extends Error {
  readonly param: string;
  constructor(param: string, message: string) {
    super(message);
    this.param = param;
  }
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function oneOf<T extends string>(value: unknown, allowed: readonly T[], param: string): T {
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    throw new RuleError(param, `must be one of: ${allowed.join(', ')}`);
  }
  return value as T;
}

function checkPattern(pattern: unknown, flags: unknown, param: string): void {
  if (typeof pattern !== 'string' || pattern.length === 0) {
    throw new RuleError(`${param}.pattern`, 'must be a non-empty string');
  }
  if (pattern.length > POLICY_LIMITS.patternChars) {
    throw new RuleError(`${param}.pattern`, `must be at most ${POLICY_LIMITS.patternChars} characters`);
  }
  if (flags !== undefined && (typeof flags !== 'string' || !/^(?!.*(.).*\1)[imsu]*$/.test(flags))) {
    throw new RuleError(`${param}.flags`, 'may only contain the flags i, m, s and u, each at most once');
  }
  let re: RegExp;
  try {
    re = new RegExp(pattern, flags ?? '');
  } catch (err) {
    throw new RuleError(`${param}.pattern`, `is not a valid regular expression: ${(err as Error).message}`);
  }
  const verdict = checkRegexSafety(pattern, (flags as string | undefined) ?? '');
  if (!verdict.safe) throw new RuleError(`${param}.pattern`, verdict.reason);
  if (re.test('')) throw new RuleError(`${param}.pattern`, 'must not match the empty string');
}

function checkSchemaPatterns(schema: unknown, param: string): void {
  if (Array.isArray(schema)) {
    schema.forEach((s, i) => {
      checkSchemaPatterns(s, `${param}[${i}]`);
    });
    return;
  }
  if (!isObject(schema)) return;
  for (const [key, value] of Object.entries(schema)) {
    if (key === 'pattern' && typeof value === 'string') {
      const verdict = checkRegexSafety(value, 'u');
      if (!verdict.safe) throw new RuleError(`${param}.pattern`, verdict.reason);
    }
    if (key === 'patternProperties' && isObject(value)) {
      for (const p of Object.keys(value)) {
        const verdict = checkRegexSafety(p, 'u');
        if (!verdict.safe)
          throw new RuleError(`${param}.patternProperties`, `key ${JSON.stringify(p)} ${verdict.reason}`);
      }
    }
    checkSchemaPatterns(value, `${param}.${key}`);
  }
}

function validateRule(raw: unknown, param: string): PolicyRule {
  if (!isObject(raw)) throw new RuleError(param, 'must be a rule object');
  const kind = oneOf(raw.kind, RULE_KINDS, `${param}.kind`);
  const allowed = [...COMMON_FIELDS, ...KIND_FIELDS[kind]];
  for (const key of Object.keys(raw)) {
    if (!allowed.includes(key)) throw new RuleError(`${param}.${key}`, `is not a field of a ${kind} rule`);
  }
  const action = oneOf(raw.action, ACTIONS, `${param}.action`);
  if ((kind === 'json_schema' || kind === 'prompt_injection') && action === 'redact') {
    throw new RuleError(`${param}.action`, `a ${kind} rule cannot redact; use block or flag`);
  }
  const applyTo =
    raw.apply_to === undefined ? DEFAULT_APPLY_TO[kind] : oneOf(raw.apply_to, APPLY_TO, `${param}.apply_to`);
  if (
    (kind === 'max_input_chars' && applyTo !== 'input') ||
    (kind === 'max_output_chars' && applyTo !== 'output')
  ) {
    throw new RuleError(`${param}.apply_to`, `a ${kind} rule applies to ${DEFAULT_APPLY_TO[kind]} only`);
  }
  if (raw.name !== undefined && (typeof raw.name !== 'string' || !NAME.test(raw.name))) {
    throw new RuleError(
      `${param}.name`,
      'must be 1–64 characters: letters, digits, _ . - (starting with a letter or digit)',
    );
  }
  const base = { action, apply_to: applyTo, ...(raw.name === undefined ? {} : { name: raw.name as string }) };

  switch (kind) {
    case 'pii': {
      if (raw.entities === undefined) return { kind, ...base };
      if (!Array.isArray(raw.entities) || raw.entities.length === 0) {
        throw new RuleError(`${param}.entities`, `must be a non-empty array of: ${PII_ENTITIES.join(', ')}`);
      }
      const entities = raw.entities.map((e, i) => oneOf(e, PII_ENTITIES, `${param}.entities[${i}]`));
      const dup = entities.findIndex((e, i) => entities.indexOf(e) !== i);
      if (dup >= 0) throw new RuleError(`${param}.entities[${dup}]`, 'is listed twice');
      return { kind, ...base, entities };
    }
    case 'regex':
      checkPattern(raw.pattern, raw.flags, param);
      return {
        kind,
        ...base,
        pattern: raw.pattern as string,
        ...(raw.flags ? { flags: raw.flags as string } : {}),
      };
    case 'blocked_terms': {
      if (!Array.isArray(raw.terms) || raw.terms.length === 0 || raw.terms.length > POLICY_LIMITS.terms) {
        throw new RuleError(`${param}.terms`, `must be an array of 1 to ${POLICY_LIMITS.terms} strings`);
      }
      raw.terms.forEach((t, i) => {
        if (typeof t !== 'string' || normaliseTerm(t) === '' || t.length > POLICY_LIMITS.termChars) {
          throw new RuleError(
            `${param}.terms[${i}]`,
            `must be a non-blank string of at most ${POLICY_LIMITS.termChars} characters`,
          );
        }
      });
      return { kind, ...base, terms: [...(raw.terms as string[])] };
    }
    case 'max_input_chars':
    case 'max_output_chars': {
      const limit = raw.limit;
      if (
        typeof limit !== 'number' ||
        !Number.isInteger(limit) ||
        limit < 1 ||
        limit > POLICY_LIMITS.maxLimit
      ) {
        throw new RuleError(`${param}.limit`, `must be an integer from 1 to ${POLICY_LIMITS.maxLimit}`);
      }
      return { kind, ...base, limit };
    }
    case 'prompt_injection':
      return { kind, ...base };
    case 'json_schema': {
      const schema = raw.schema;
      if (!isObject(schema) && typeof schema !== 'boolean') {
        throw new RuleError(`${param}.schema`, 'must be a JSON Schema (an object or a boolean)');
      }
      if (JSON.stringify(schema).length > POLICY_LIMITS.schemaChars) {
        throw new RuleError(
          `${param}.schema`,
          `must be at most ${POLICY_LIMITS.schemaChars} characters of JSON`,
        );
      }
      checkSchemaPatterns(schema, `${param}.schema`);
      try {
        createJsonValidator(schema);
      } catch (err) {
        throw new RuleError(`${param}.schema`, `is not a valid JSON Schema: ${(err as Error).message}`);
      }
      return { kind, ...base, schema: structuredClone(schema) };
    }
    default: {
      const unreachable: never = kind;
      throw new RuleError(`${param}.kind`, `unknown kind ${String(unreachable)}`);
    }
  }
}

/** Validates and normalises a policy's `rules` (defaults filled in, unknown fields rejected). */
export function validatePolicyRules(rules: unknown): ValidationResult {
  try {
    if (!Array.isArray(rules)) throw new RuleError('rules', 'must be an array of rule objects');
    if (rules.length > POLICY_LIMITS.rules) {
      throw new RuleError('rules', `must have at most ${POLICY_LIMITS.rules} rules`);
    }
    const out = rules.map((r, i) => validateRule(r, `rules[${i}]`));
    const seen = new Map<string, number>();
    out.forEach((r, i) => {
      if (r.name === undefined) return;
      if (seen.has(r.name))
        throw new RuleError(`rules[${i}].name`, `duplicates the name of rules[${seen.get(r.name)}]`);
      seen.set(r.name, i);
    });
    return { ok: true, rules: out };
  } catch (err) {
    if (err instanceof RuleError) return { ok: false, param: err.param, message: err.message };
    throw err;
  }
}

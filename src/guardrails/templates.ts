/**
 * Built-in policy templates and `extends` resolution. A custom policy names a template and lists
 * rules; a rule whose `name` matches a template rule replaces it in place (so `{"name":
 * "prompt_injection", "kind": "prompt_injection", "action": "flag"}` downgrades baseline's block),
 * any other rule is appended. There is no way to delete a template rule; weaken it to `flag`, or
 * start from `none`.
 */
import { PII_ENTITIES, type PolicyRule, type PolicyTemplate, type ValidationResult } from './types.ts';
import { validatePolicyRules } from './validate.ts';

const PERSONAL = PII_ENTITIES.filter((e) => e !== 'secret');

const baselineRules: readonly PolicyRule[] = [
  { name: 'max_input_chars', kind: 'max_input_chars', limit: 32_000, action: 'block', apply_to: 'input' },
  { name: 'max_output_chars', kind: 'max_output_chars', limit: 64_000, action: 'block', apply_to: 'output' },
  { name: 'prompt_injection', kind: 'prompt_injection', action: 'block', apply_to: 'input' },
  { name: 'secrets', kind: 'pii', entities: ['secret'], action: 'redact', apply_to: 'both' },
];

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

export const builtinTemplates: Readonly<Record<string, PolicyTemplate>> = deepFreeze({
  none: { name: 'none', description: 'No guardrails.', rules: [] },
  baseline: {
    name: 'baseline',
    description:
      'Size limits (32,000 input / 64,000 output characters), prompt-injection block on input, secrets redacted both ways.',
    rules: baselineRules,
  },
  'pii-redact': {
    name: 'pii-redact',
    description: 'Baseline, plus personal data (emails, phones, cards, IBANs, SSNs, IPs) redacted both ways.',
    rules: [
      ...baselineRules,
      { name: 'pii', kind: 'pii', entities: [...PERSONAL], action: 'redact', apply_to: 'both' },
    ],
  },
  'pii-block': {
    name: 'pii-block',
    description: 'Baseline, plus any personal data in input or output blocks the run.',
    rules: [
      ...baselineRules,
      { name: 'pii', kind: 'pii', entities: [...PERSONAL], action: 'block', apply_to: 'both' },
    ],
  },
  strict: {
    name: 'strict',
    description:
      'Tighter size limits (8,000 input / 16,000 output characters); personal data, secrets and prompt injection block both ways.',
    rules: [
      { name: 'max_input_chars', kind: 'max_input_chars', limit: 8_000, action: 'block', apply_to: 'input' },
      {
        name: 'max_output_chars',
        kind: 'max_output_chars',
        limit: 16_000,
        action: 'block',
        apply_to: 'output',
      },
      { name: 'prompt_injection', kind: 'prompt_injection', action: 'block', apply_to: 'both' },
      { name: 'secrets', kind: 'pii', entities: ['secret'], action: 'block', apply_to: 'both' },
      { name: 'pii', kind: 'pii', entities: [...PERSONAL], action: 'block', apply_to: 'both' },
    ],
  },
} satisfies Record<string, PolicyTemplate>);

export interface PolicyInput {
  /** A template name; omitted means no template. */
  extends?: unknown;
  rules?: unknown;
}

/** Validates a custom policy's rules and merges them over its template. */
export function resolvePolicy(
  policy: PolicyInput,
  templates: Readonly<Record<string, PolicyTemplate>> = builtinTemplates,
): ValidationResult {
  let base: readonly PolicyRule[] = [];
  if (policy.extends !== undefined && policy.extends !== null) {
    const template = typeof policy.extends === 'string' ? Object.hasOwn(templates, policy.extends) : false;
    if (!template) {
      return { ok: false, param: 'extends', message: `must be one of: ${Object.keys(templates).join(', ')}` };
    }
    base = templates[policy.extends as string].rules;
  }
  const custom = validatePolicyRules(policy.rules ?? []);
  if (!custom.ok) return custom;
  const merged: PolicyRule[] = base.map((r) => structuredClone(r) as PolicyRule);
  for (const rule of custom.rules) {
    const at = rule.name === undefined ? -1 : merged.findIndex((r) => r.name === rule.name);
    if (at >= 0) merged[at] = rule;
    else merged.push(rule);
  }
  return { ok: true, rules: merged };
}

/**
 * Shared vocabulary of the guardrails module: rule kinds, actions, the entity names a PII rule may
 * select, and the shapes `check()` returns. Constant tables, no state.
 */

export const PII_ENTITIES = [
  'email',
  'phone',
  'payment_card',
  'iban',
  'us_ssn',
  'ip_address',
  'secret',
] as const;
export type PiiEntity = (typeof PII_ENTITIES)[number];

export const RULE_KINDS = [
  'pii',
  'regex',
  'blocked_terms',
  'max_input_chars',
  'max_output_chars',
  'prompt_injection',
  'json_schema',
] as const;
export type RuleKind = (typeof RULE_KINDS)[number];

export const ACTIONS = ['block', 'redact', 'flag'] as const;
export type Action = (typeof ACTIONS)[number];

export const APPLY_TO = ['input', 'output', 'both'] as const;
export type ApplyTo = (typeof APPLY_TO)[number];

export type Direction = 'input' | 'output';

/** A span of the checked text that a detector found, `end` exclusive, in UTF-16 code units. */
export interface Match {
  start: number;
  end: number;
  entity: string;
}

export type Detector = (text: string) => Match[];

interface RuleBase {
  /** Unique within a policy; a custom policy overrides a template rule of the same name. */
  name?: string;
  action: Action;
  apply_to: ApplyTo;
}

export type PiiRule = RuleBase & { kind: 'pii'; entities?: PiiEntity[] };
export type RegexRule = RuleBase & { kind: 'regex'; pattern: string; flags?: string };
export type BlockedTermsRule = RuleBase & { kind: 'blocked_terms'; terms: string[] };
export type SizeRule = RuleBase & { kind: 'max_input_chars' | 'max_output_chars'; limit: number };
export type PromptInjectionRule = RuleBase & { kind: 'prompt_injection' };
export type JsonSchemaRule = RuleBase & { kind: 'json_schema'; schema: Record<string, unknown> | boolean };

export type PolicyRule =
  | PiiRule
  | RegexRule
  | BlockedTermsRule
  | SizeRule
  | PromptInjectionRule
  | JsonSchemaRule;

export interface PolicyTemplate {
  name: string;
  description: string;
  rules: readonly PolicyRule[];
}

export type ValidationResult =
  | { ok: true; rules: PolicyRule[] }
  | { ok: false; param: string; message: string };

export interface Blocked {
  /** The rule's name. */
  rule: string;
  entity?: string;
  /** Safe to show a caller: never contains the matched text. */
  message: string;
}

export interface Hit {
  rule: string;
  action: Action;
  count: number;
}

export interface CheckResult {
  blocked: Blocked | null;
  /** The text with every `redact` rule applied (also when blocked, so it is safe to log). */
  text: string;
  hits: Hit[];
}

export interface CheckValueResult {
  blocked: Blocked | null;
  value: unknown;
  hits: Hit[];
}

/**
 * A compiled policy: rules resolved into closures once (regexes built, term lists joined, schemas
 * compiled) so a check is just running them. Per call, in this order:
 *   1. size rules — a block returns before anything scans the oversized text (`text` is then '',
 *      `value` null), a redact truncates so later rules scan less;
 *   2. json_schema rules — the text is parsed once and validated;
 *   3. content rules (pii, regex, blocked_terms, prompt_injection) all scan the same text; built-in
 *      detectors see the normalised view (text-view.ts), user regexes the raw text.
 * `blocked` names the first blocking rule in that order; redactions from every redact rule are
 * merged and applied together, also when blocked, so the returned text is always safe to log.
 * Lengths are UTF-16 code units (JavaScript string length).
 */
import type { ValidateFunction } from 'ajv/dist/2020.js';
import { createBlockedTermsDetector, longestTerm } from './detectors/blocked-terms.ts';
import { detectPromptInjection, piiDetectors } from './detectors/index.ts';
import { createUserRegexDetector } from './detectors/user-regex.ts';
import { createJsonValidator, describeSchemaError } from './json-schema.ts';
import {
  applyRedactions,
  contentMessage,
  schemaMessage,
  sizeMessage,
  truncate,
  truncateValue,
} from './redaction.ts';
import { createTextView, type TextView } from './text-view.ts';
import {
  type Action,
  type Blocked,
  type CheckResult,
  type CheckValueResult,
  type Detector,
  type Direction,
  type Hit,
  type Match,
  PII_ENTITIES,
  type PolicyRule,
  type RuleKind,
} from './types.ts';
import { walkContent } from './walk.ts';

export interface CompiledRule {
  readonly index: number;
  readonly name: string;
  readonly kind: RuleKind;
  readonly action: Action;
  readonly input: boolean;
  readonly output: boolean;
  /** Size rules. */
  readonly limit?: number;
  /** Content rules. */
  readonly detect?: Detector;
  /** Whether `detect` runs on the normalised view (built-ins) or the raw text (user regexes). */
  readonly onView?: boolean;
  /** json_schema rules. */
  readonly validate?: ValidateFunction;
  /** How much trailing text a stream must hold back for this rule to see a whole match. */
  readonly holdChars: number;
}

export interface RuleMatch extends Match {
  rule: number;
}

export interface CompiledPolicy {
  readonly rules: readonly CompiledRule[];
  check(text: string, direction: Direction): CheckResult;
  /** Applies the policy to every string (and number, and key) inside a JSON value. */
  checkValue(value: unknown, direction: Direction): CheckValueResult;
  /** Matches of the content rules only, in original-text coordinates. The stream guard's primitive. */
  scan(text: string, direction: Direction): RuleMatch[];
}

type Parsed = { ok: true; value: unknown } | { ok: false };

/** Hold-back per PII entity: the longest match that can contain whitespace, plus context words. */
const PII_HOLD: Readonly<Record<string, number>> = { secret: 96 };
const DEFAULT_PII_HOLD = 64;
const REGEX_HOLD = 256;
const INJECTION_HOLD = 256;

function uniqueNames(rules: readonly PolicyRule[]): string[] {
  const taken = new Set(rules.flatMap((r) => (r.name ? [r.name] : [])));
  return rules.map((r) => {
    if (r.name) return r.name;
    let name: string = r.kind;
    for (let n = 2; taken.has(name); n++) name = `${r.kind}_${n}`;
    taken.add(name);
    return name;
  });
}

function compileRule(rule: PolicyRule, index: number, name: string): CompiledRule {
  const base = {
    index,
    name,
    kind: rule.kind,
    action: rule.action,
    input: rule.apply_to !== 'output',
    output: rule.apply_to !== 'input',
  };
  switch (rule.kind) {
    case 'pii': {
      const entities = rule.entities ?? PII_ENTITIES;
      const detectors = entities.map((e) => piiDetectors[e]);
      const detect: Detector = (text) =>
        detectors.length === 1 ? detectors[0](text) : detectors.flatMap((d) => d(text));
      const holdChars = Math.max(...entities.map((e) => PII_HOLD[e] ?? DEFAULT_PII_HOLD));
      return { ...base, detect, onView: true, holdChars };
    }
    case 'regex':
      return {
        ...base,
        detect: createUserRegexDetector(rule.pattern, rule.flags ?? '', rule.name ?? 'regex'),
        onView: false,
        holdChars: REGEX_HOLD,
      };
    case 'blocked_terms':
      return {
        ...base,
        detect: createBlockedTermsDetector(rule.terms),
        onView: true,
        holdChars: longestTerm(rule.terms) + 16,
      };
    case 'prompt_injection':
      return { ...base, detect: detectPromptInjection, onView: true, holdChars: INJECTION_HOLD };
    case 'max_input_chars':
    case 'max_output_chars':
      return { ...base, limit: rule.limit, holdChars: 0 };
    case 'json_schema':
      return { ...base, validate: createJsonValidator(rule.schema), holdChars: 0 };
    default: {
      const unreachable: never = rule;
      throw new Error(`unknown rule kind ${JSON.stringify(unreachable)}`);
    }
  }
}

/** Compiles validated rules (from validatePolicyRules or resolvePolicy). */
export function compilePolicy(rules: readonly PolicyRule[]): CompiledPolicy {
  const names = uniqueNames(rules);
  const compiled = rules.map((r, i) => compileRule(r, i, names[i]));
  const pick = (dir: Direction, test: (r: CompiledRule) => boolean) =>
    compiled.filter((r) => (dir === 'input' ? r.input : r.output) && test(r));
  const byDirection = (test: (r: CompiledRule) => boolean) => ({
    input: pick('input', test),
    output: pick('output', test),
  });
  const size = byDirection((r) => r.limit !== undefined);
  const schema = byDirection((r) => r.validate !== undefined);
  const content = byDirection((r) => r.detect !== undefined);
  const any = byDirection(() => true);

  function scan(text: string, direction: Direction): RuleMatch[] {
    const out: RuleMatch[] = [];
    let view: TextView | undefined;
    for (const r of content[direction]) {
      if (!r.onView) {
        for (const m of r.detect!(text))
          out.push({ rule: r.index, start: m.start, end: m.end, entity: m.entity });
        continue;
      }
      view ??= createTextView(text);
      for (const m of r.detect!(view.text)) {
        const [start, end] = view.toOriginal(m.start, m.end);
        out.push({ rule: r.index, start, end, entity: m.entity });
      }
    }
    return out;
  }

  /** What one check has found so far: hit counts and the first block (lowest rule index wins among content rules). */
  interface Verdict {
    counts: number[];
    blocked: Blocked | null;
    blockRule: number;
  }

  const newVerdict = (): Verdict => ({
    counts: new Array<number>(compiled.length).fill(0),
    blocked: null,
    blockRule: Infinity,
  });

  /** Records content matches in the verdict and returns the spans to redact. */
  function judge(matches: RuleMatch[], direction: Direction, v: Verdict): Match[] {
    const redactions: Match[] = [];
    for (const m of matches) {
      const r = compiled[m.rule];
      v.counts[m.rule]++;
      if (r.action === 'redact') redactions.push(m);
      else if (r.action === 'block' && m.rule < v.blockRule) {
        v.blockRule = m.rule;
        v.blocked = { rule: r.name, entity: m.entity, message: contentMessage(direction, m.entity, r.name) };
      }
    }
    return redactions;
  }

  const hitsOf = ({ counts }: Verdict): Hit[] =>
    counts.flatMap((count, i) =>
      count > 0 ? [{ rule: compiled[i].name, action: compiled[i].action, count }] : [],
    );

  function schemaCheck(value: () => Parsed, direction: Direction, v: Verdict): void {
    let parsed: Parsed | undefined;
    for (const r of schema[direction]) {
      parsed ??= value();
      if (parsed.ok && r.validate!(parsed.value)) continue;
      v.counts[r.index]++;
      const detail = parsed.ok ? describeSchemaError(r.validate!.errors) : 'it is not valid JSON';
      if (r.action === 'block' && !v.blocked) {
        // Schema blocks come before any content block, whatever the rule order.
        v.blockRule = -1;
        v.blocked = { rule: r.name, message: schemaMessage(direction, detail, r.name) };
      }
    }
  }

  const parseJson = (text: string): Parsed => {
    try {
      return { ok: true, value: JSON.parse(text) };
    } catch {
      return { ok: false };
    }
  };

  function check(text: string, direction: Direction): CheckResult {
    if (any[direction].length === 0) return { blocked: null, text, hits: [] };
    const v = newVerdict();
    let current = text;
    for (const r of size[direction]) {
      if (current.length <= r.limit!) continue;
      v.counts[r.index]++;
      if (r.action === 'block') {
        const blocked = { rule: r.name, message: sizeMessage(direction, current.length, r.limit!, r.name) };
        return { blocked, text: '', hits: hitsOf(v) };
      }
      if (r.action === 'redact') current = truncate(current, r.limit!);
    }
    schemaCheck(() => parseJson(current), direction, v);
    const redactions = content[direction].length > 0 ? judge(scan(current, direction), direction, v) : [];
    return { blocked: v.blocked, text: applyRedactions(current, redactions), hits: hitsOf(v) };
  }

  function checkValue(value: unknown, direction: Direction): CheckValueResult {
    if (any[direction].length === 0) return { blocked: null, value, hits: [] };
    const v = newVerdict();
    let current = value;
    for (const r of size[direction]) {
      const length = JSON.stringify(current)?.length ?? 0;
      if (length <= r.limit!) continue;
      v.counts[r.index]++;
      const truncated = r.action === 'redact' ? truncateValue(current, r.limit!) : undefined;
      if (r.action === 'block' || (r.action === 'redact' && !truncated)) {
        const blocked = { rule: r.name, message: sizeMessage(direction, length, r.limit!, r.name) };
        return { blocked, value: null, hits: hitsOf(v) };
      }
      if (truncated) current = truncated.value;
    }
    const snapshot = current;
    // A string is taken to be JSON text (what a model emits); anything else is the value itself.
    schemaCheck(
      () => (typeof snapshot === 'string' ? parseJson(snapshot) : { ok: true, value: snapshot }),
      direction,
      v,
    );
    if (content[direction].length > 0) {
      current = walkContent(current, (text) =>
        applyRedactions(text, judge(scan(text, direction), direction, v)),
      );
    }
    return { blocked: v.blocked, value: current, hits: hitsOf(v) };
  }

  return { rules: compiled, check, checkValue, scan };
}

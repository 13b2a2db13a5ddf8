/**
 * Turning matches into safe text: merging overlapping redaction spans, replacing them with
 * `[REDACTED:<entity>]`, truncating for size rules (strings and whole JSON values), and the
 * caller-facing messages, which name what was found but never echo it.
 */
import type { Direction, Match } from './types.ts';

/** Sorted, non-overlapping spans; where spans overlap the earliest (then the longest) names the entity. */
export function mergeSpans(spans: Match[]): Match[] {
  if (spans.length <= 1) return spans;
  const sorted = [...spans].sort((a, b) => a.start - b.start || b.end - a.end);
  const out: Match[] = [{ ...sorted[0] }];
  for (let i = 1; i < sorted.length; i++) {
    const s = sorted[i];
    const last = out[out.length - 1];
    if (s.start < last.end) last.end = Math.max(last.end, s.end);
    else out.push({ ...s });
  }
  return out;
}

export const redactionLabel = (entity: string) => `[REDACTED:${entity}]`;

export function applyRedactions(text: string, spans: Match[]): string {
  if (spans.length === 0) return text;
  let out = '';
  let at = 0;
  for (const s of mergeSpans(spans)) {
    out += text.slice(at, s.start) + redactionLabel(s.entity);
    at = s.end;
  }
  return out + text.slice(at);
}

/** Cuts to at most `limit` UTF-16 code units without splitting a surrogate pair. */
export function truncate(text: string, limit: number): string {
  if (text.length <= limit) return text;
  const code = text.charCodeAt(limit - 1);
  return text.slice(0, code >= 0xd800 && code <= 0xdbff ? limit - 1 : limit);
}

type Leaf = { holder: Record<string, unknown> | unknown[]; key: string | number; value: string };

function stringLeaves(value: unknown, out: Leaf[]): void {
  if (Array.isArray(value)) {
    value.forEach((v, i) => {
      if (typeof v === 'string') out.push({ holder: value, key: i, value: v });
      else stringLeaves(v, out);
    });
  } else if (typeof value === 'object' && value !== null) {
    for (const [k, v] of Object.entries(value)) {
      if (typeof v === 'string') out.push({ holder: value as Record<string, unknown>, key: k, value: v });
      else stringLeaves(v, out);
    }
  }
}

/**
 * Shrinks a JSON value until its JSON text fits `limit` by trimming its longest strings (keys and
 * structure are kept). Returns undefined when even empty strings would not fit.
 */
export function truncateValue(value: unknown, limit: number): { value: unknown } | undefined {
  let length = JSON.stringify(value)?.length ?? 0;
  if (length <= limit) return { value };
  if (typeof value === 'string') {
    let s = value;
    while (length > limit && s.length > 0) {
      s = truncate(s, Math.max(0, s.length - (length - limit)));
      length = JSON.stringify(s).length;
    }
    return length <= limit ? { value: s } : undefined;
  }
  const copy = structuredClone(value);
  const leaves: Leaf[] = [];
  stringLeaves(copy, leaves);
  for (let round = 0; round < 256 && length > limit; round++) {
    let longest: Leaf | undefined;
    for (const leaf of leaves) if (!longest || leaf.value.length > longest.value.length) longest = leaf;
    if (!longest || longest.value.length === 0) return undefined;
    longest.value = truncate(longest.value, Math.max(0, longest.value.length - (length - limit)));
    (longest.holder as Record<string | number, unknown>)[longest.key] = longest.value;
    length = JSON.stringify(copy).length;
  }
  return length <= limit ? { value: copy } : undefined;
}

const ENTITY_PHRASES: Readonly<Record<string, string>> = {
  email: 'an email address',
  phone: 'a phone number',
  payment_card: 'a payment card number',
  iban: 'an IBAN',
  us_ssn: 'a US social security number',
  ip_address: 'an IP address',
  secret: 'a secret (API key, token or private key)',
  blocked_term: 'a blocked term',
  prompt_injection: 'what looks like a prompt-injection attempt',
};

export function contentMessage(direction: Direction, entity: string, rule: string): string {
  const what = ENTITY_PHRASES[entity] ?? `text matching the pattern of rule '${rule}'`;
  return `The ${direction} contains ${what} (guardrail rule '${rule}').`;
}

export function sizeMessage(direction: Direction, length: number, limit: number, rule: string): string {
  return `The ${direction} is ${length} characters long; guardrail rule '${rule}' allows at most ${limit}.`;
}

export function schemaMessage(direction: Direction, detail: string, rule: string): string {
  return `The ${direction} does not match the JSON schema of guardrail rule '${rule}': ${detail}.`;
}

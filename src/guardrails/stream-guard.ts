/**
 * Output guardrails for streamed runs. The promise: a stream never emits text that an output rule
 * would have redacted or blocked — not even the first half of a secret split across two deltas.
 *
 * How: everything received is kept, but only a prefix is released. The guard holds back
 *   - the last `holdChars` characters (the longest match any block/redact rule can make that
 *     contains whitespace: 96 for secrets, 64 for other PII, the longest blocked term + 16, 256
 *     for user regexes and injection phrases), and
 *   - the whole trailing whitespace-free token (up to 8,192 chars), since a JWT or an API key can
 *     be longer than the window and only becomes recognisable once complete, and
 *   - from the start of any match that could still grow (it reaches into the held tail).
 * Each push rescans the held tail plus a look-behind of `holdChars` + 64 for context; matches that
 * end before the release point are final: redactions are applied to the released text, and a
 * block stops the stream (`push` returns '' from then on, `end` reports `blocked`).
 *
 * Trade-offs, stated plainly:
 *   - latency: the reader lags the model by the window, and a long unbroken token is released only
 *     when whitespace follows it (or at `end`);
 *   - a block stops the stream, but the clean text before the offending match has been emitted
 *     (a non-streamed check would have withheld the whole output);
 *   - a `json_schema` rule with action block can only judge complete output, so with one the guard
 *     holds everything until `end` — there is no streaming then;
 *   - `max_output_chars`: block stops the stream once the limit is passed (what was emitted is
 *     within the limit), redact truncates at the limit;
 *   - a user regex whose matches exceed its window, or prompt-injection signals spread over more
 *     than the window, can be judged differently than by a non-streamed check;
 *   - `flag` rules never hold text back; their hits are counted on the full text at `end`.
 */
import type { CompiledPolicy, CompiledRule, RuleMatch } from './compile.ts';
import { applyRedactions, contentMessage, sizeMessage } from './redaction.ts';
import type { Blocked, Hit, Match } from './types.ts';

export interface StreamGuard {
  /** Feeds the next delta; returns the text that is now safe to emit (often ''). */
  push(delta: string): string;
  /** Flushes: the remaining safe text, the block (if any), and the hits of the whole stream. */
  end(): { text: string; blocked: Blocked | null; hits: Hit[] };
}

export interface StreamGuardOptions {
  /** Overrides the computed hold-back window (characters). */
  holdChars?: number;
}

const MAX_TOKEN_HOLD = 8192;
const WHITESPACE = /\s/;

export function createStreamGuard(policy: CompiledPolicy, options: StreamGuardOptions = {}): StreamGuard {
  const rules = policy.rules.filter((r) => r.output);
  const acting = rules.filter((r) => r.detect && r.action !== 'flag');
  const sizeRules = rules.filter((r) => r.limit !== undefined);
  const holdAll = rules.some((r) => r.validate && r.action === 'block');
  const hold = options.holdChars ?? Math.max(0, ...acting.map((r) => r.holdChars));
  const counts = new Array<number>(policy.rules.length).fill(0);
  const flagged = new Set<number>();

  const needsFullPass = rules.some((r) => r.action === 'flag' && r.limit === undefined);

  let text = '';
  /** Index just after the last whitespace character received: where the trailing token starts. */
  let afterWhitespace = 0;
  let emitted = 0;
  let blocked: Blocked | null = null;
  let finished = false;

  const holdBoundary = (): number => {
    if (acting.length === 0) return text.length;
    const tokenStart = Math.max(afterWhitespace, text.length - MAX_TOKEN_HOLD);
    return Math.max(Math.min(text.length - hold, tokenStart), emitted);
  };

  /** Releases what is safe (everything when `final`), applying final redactions or stopping on a block. */
  function release(final: boolean): string {
    let safeEnd = final ? text.length : holdBoundary();
    if (acting.length === 0 || (safeEnd <= emitted && !final)) return take(safeEnd, []);
    let regionStart = Math.max(0, emitted - hold - 64);
    const ws = text.lastIndexOf(' ', regionStart);
    if (ws >= 0 && regionStart - ws < 64) regionStart = ws;
    const matches = policy
      .scan(text.slice(regionStart), 'output')
      .filter((m) => policy.rules[m.rule].action !== 'flag')
      .map((m) => ({ ...m, start: m.start + regionStart, end: m.end + regionStart }))
      .filter((m) => m.end > emitted)
      .sort((a, b) => a.start - b.start || b.end - a.end);
    const redactions: Match[] = [];
    let i = 0;
    while (i < matches.length) {
      // A group: matches that overlap each other, decided together.
      const group: RuleMatch[] = [matches[i]];
      let groupEnd = matches[i].end;
      for (i++; i < matches.length && matches[i].start < groupEnd; i++) {
        group.push(matches[i]);
        groupEnd = Math.max(groupEnd, matches[i].end);
      }
      const groupStart = Math.max(group[0].start, emitted);
      if (groupStart >= safeEnd) break;
      if (groupEnd > safeEnd) {
        safeEnd = groupStart; // may still grow: hold from its start
        break;
      }
      for (const m of group) counts[m.rule]++;
      const blocking = group.find((m) => policy.rules[m.rule].action === 'block');
      if (blocking) {
        const rule = policy.rules[blocking.rule];
        blocked = {
          rule: rule.name,
          entity: blocking.entity,
          message: contentMessage('output', blocking.entity, rule.name),
        };
        return '';
      }
      for (const m of group)
        redactions.push({ start: Math.max(m.start, emitted), end: m.end, entity: m.entity });
    }
    return take(safeEnd, redactions);
  }

  function take(safeEnd: number, redactions: Match[]): string {
    if (safeEnd <= emitted) return '';
    const out = applyRedactions(
      text.slice(emitted, safeEnd),
      redactions.map((r) => ({ ...r, start: r.start - emitted, end: r.end - emitted })),
    );
    emitted = safeEnd;
    return out;
  }

  function applySize(delta: string): string | null {
    let out = delta;
    for (const r of sizeRules) {
      const limit = r.limit!;
      if (text.length + out.length <= limit) continue;
      if (!flagged.has(r.index)) {
        flagged.add(r.index);
        counts[r.index]++;
      }
      if (r.action === 'block') {
        blocked = { rule: r.name, message: sizeMessage('output', text.length + out.length, limit, r.name) };
        return null;
      }
      if (r.action === 'redact') out = out.slice(0, Math.max(0, limit - text.length));
    }
    return out;
  }

  const hitsOf = (): Hit[] =>
    counts.flatMap((count, i) => {
      const r: CompiledRule = policy.rules[i];
      return count > 0 ? [{ rule: r.name, action: r.action, count }] : [];
    });

  return {
    push(delta) {
      if (finished || blocked) return '';
      const accepted = applySize(delta);
      if (accepted === null) return '';
      for (let k = accepted.length - 1; k >= 0; k--) {
        if (WHITESPACE.test(accepted[k])) {
          afterWhitespace = text.length + k + 1;
          break;
        }
      }
      text += accepted;
      return holdAll ? '' : release(false);
    },
    end() {
      if (finished) throw new Error('stream guard already ended');
      finished = true;
      if (blocked) return { text: '', blocked, hits: hitsOf() };
      if (holdAll) {
        const result = policy.check(text, 'output');
        return { text: result.blocked ? '' : result.text, blocked: result.blocked, hits: result.hits };
      }
      const rest = release(true);
      if (needsFullPass) {
        // Flag rules (content and schema) are judged once, on the whole text.
        for (const h of policy.check(text, 'output').hits) {
          const i = policy.rules.findIndex((r) => r.name === h.rule);
          if (policy.rules[i].action === 'flag' && policy.rules[i].limit === undefined) counts[i] = h.count;
        }
      }
      return { text: blocked ? '' : rest, blocked, hits: hitsOf() };
    },
  };
}

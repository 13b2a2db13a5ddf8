/**
 * Phone numbers, international and national. Digits alone do not make a phone number — order ids,
 * dates, prices and timestamps are digits too — so a candidate (digits joined by spaces, dots,
 * dashes and parentheses) must also have the shape of one of:
 *   - international: `+` then 8–15 digits (E.164), or `00` then the same;
 *   - North American: `(415) 555-2671`, `415-555-2671`, `1-800-555-0199` (area and exchange 2–9);
 *   - national with a trunk `0`: `020 7946 0958`, `06 12 34 56 78`, 9–11 digits in groups of ≥ 2;
 *   - anything of 7–15 digits, separated or not, right after a word like "phone", "tel", "call".
 * A candidate that fails is retried on its sub-runs of groups, so `ref 12 415-555-2671` still finds
 * the number. Misses by design: bare unseparated national numbers without a context word.
 */
import type { Match } from '../types.ts';

const CANDIDATE = /(?<![\w+#/@$€£¥%.,-])(?:\+ ?)?\(?\d[\d ().-]{5,24}\d(?!\w|[.,]\d)/g;
const TOKEN = /\(\d{1,5}\)|\d+/g;
const SEPARATOR = /^ ?[-.]? ?$/;
const CONTEXT =
  /\b(?:phone|tel|telephone|mobile|cell|call|fax|whatsapp|sms|text me|contact number|ph|mob|number is|reach me)\b[^\n\d]{0,20}$/i;
const CODE_WORD_BEFORE = /[A-Za-z0-9]*(?:[A-Za-z]\d|\d[A-Za-z])[A-Za-z0-9]* $/;

interface Token {
  start: number;
  end: number;
  digits: string;
  paren: boolean;
  /** Separator text before this token (empty for the first). */
  sep: string;
  /** False when the separator before it is malformed: no sub-run may cross it. */
  joined: boolean;
}

function tokenize(candidate: string, base: number): Token[] {
  const tokens: Token[] = [];
  let prevEnd = -1;
  for (const m of candidate.matchAll(TOKEN)) {
    const raw = m[0];
    const paren = raw.startsWith('(');
    const sep = prevEnd < 0 ? '' : candidate.slice(prevEnd, m.index);
    const adjoinsParen = paren || tokens.at(-1)?.paren === true;
    const joined = prevEnd < 0 || (SEPARATOR.test(sep) && (sep !== '' || adjoinsParen));
    tokens.push({
      start: base + m.index,
      end: base + m.index + raw.length,
      digits: paren ? raw.slice(1, -1) : raw,
      paren,
      sep,
      joined,
    });
    prevEnd = m.index + raw.length;
  }
  return tokens;
}

function dateShaped(groups: number[]): boolean {
  const s = groups.join(',');
  return s === '4,2,2' || s === '2,2,4' || s === '2,2,2' || s === '2,2' || s === '4,2';
}

function isPhone(tokens: Token[], i: number, j: number, plus: boolean, context: boolean): boolean {
  const run = tokens.slice(i, j + 1);
  const digits = run.map((t) => t.digits).join('');
  const groups = run.map((t) => t.digits.length);
  const n = digits.length;
  if (plus) return n >= 8 && n <= 15 && digits[0] !== '0' && (run.length > 1 || n >= 10);
  if (context && n >= 7 && n <= 15 && !dateShaped(groups)) return true;
  // International dialling prefix 00; country codes never start with 0.
  if (i === 0 && /^00[1-9]/.test(digits) && run.length > 1 && n >= 11 && n <= 17) return true;
  if (i === 0 && digits[0] === '0' && digits[1] !== '0' && n >= 9 && n <= 11 && run.length > 1) {
    // 3-2-4 is the shape of a US SSN, not of any national numbering plan's grouping.
    return groups.every((g) => g >= 2) && !dateShaped(groups) && groups.join(',') !== '3,2,4';
  }
  // North American Numbering Plan, optionally with the leading country code 1.
  let nanp = run;
  if (nanp.length === 4 && nanp[0].digits === '1' && !nanp[0].paren) nanp = nanp.slice(1);
  const [area, exchange, line] = nanp;
  if (!area || !/^[2-9]/.test(area.digits) || area.digits.length !== 3) return false;
  if (nanp.length === 2 && area.paren) return /^[2-9]\d{6}$/.test(exchange.digits);
  return (
    nanp.length === 3 &&
    !exchange.paren &&
    /^[2-9]\d\d$/.test(exchange.digits) &&
    /^\d{4}$/.test(line.digits) &&
    !line.paren &&
    line.sep !== ''
  );
}

export function detectPhones(text: string): Match[] {
  const out: Match[] = [];
  const re = new RegExp(CANDIDATE.source, 'g');
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    const candidateEnd = m.index + m[0].length;
    const before = text.slice(Math.max(0, m.index - 40), m.index);
    if (CODE_WORD_BEFORE.test(before)) continue;
    const plus = m[0].startsWith('+');
    const context = CONTEXT.test(before);
    const tokens = tokenize(m[0], m.index);
    const digitsBefore = [0];
    for (const t of tokens) digitsBefore.push(digitsBefore.at(-1)! + t.digits.length);
    let found: Match | null = null;
    // Longest, leftmost sub-run of groups first.
    for (let len = tokens.length; len >= 1 && !found; len--) {
      for (let i = 0; i + len <= tokens.length && !found; i++) {
        const j = i + len - 1;
        const digitCount = digitsBefore[j + 1] - digitsBefore[i];
        if (digitCount < 7 || digitCount > 17) continue;
        if (i > 0 && !tokens[i].sep.includes(' ')) continue;
        let crosses = false;
        for (let k = i + 1; k <= j; k++) if (!tokens[k].joined) crosses = true;
        if (crosses) continue;
        if (isPhone(tokens, i, j, plus && i === 0, context && i === 0)) {
          const start = plus && i === 0 ? m.index : tokens[i].start;
          found = { start, end: tokens[j].end, entity: 'phone' };
        }
      }
    }
    if (found) {
      out.push(found);
      re.lastIndex = found.end;
    } else {
      re.lastIndex = candidateEnd;
    }
  }
  return out;
}

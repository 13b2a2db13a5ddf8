/**
 * Blocked terms: whole-word, case-insensitive matches of a fixed list, compiled once into one
 * alternation (longest term first, so "credit card number" wins over "credit card"). Terms are
 * NFKC-normalised like the text view they run on, so full-width or ligature spellings of a term
 * match too; whitespace inside a term matches any run of whitespace. "Word" means Unicode letters,
 * marks, digits and `_`, so a term is not found inside a longer word ("ass" is not in "class").
 */
import type { Detector } from '../types.ts';

const escapeRegex = (s: string) => s.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');

export function normaliseTerm(term: string): string {
  return term
    .normalize('NFKC')
    .replace(/\p{Cf}/gu, '')
    .trim()
    .replace(/\s+/g, ' ');
}

export function createBlockedTermsDetector(terms: readonly string[]): Detector {
  const unique = [...new Set(terms.map(normaliseTerm).filter((t) => t !== ''))].sort(
    (a, b) => b.length - a.length,
  );
  const body = unique.map((t) => escapeRegex(t).replace(/ /g, '\\s+')).join('|');
  const re = new RegExp(`(?<![\\p{L}\\p{M}\\p{N}_])(?:${body})(?![\\p{L}\\p{M}\\p{N}_])`, 'giu');
  return (text) => {
    const out = [];
    for (const m of text.matchAll(re)) {
      out.push({ start: m.index, end: m.index + m[0].length, entity: 'blocked_term' });
    }
    return out;
  };
}

/** The longest text a term can match, for the stream guard's hold-back window. */
export function longestTerm(terms: readonly string[]): number {
  return terms.reduce((max, t) => Math.max(max, normaliseTerm(t).length), 0);
}

/**
 * A policy author's regular expression, run on the raw text (not the normalised view: the author's
 * pattern means what it says). Two defences against catastrophic backtracking: regex-safety.ts
 * refuses nested quantifiers and ambiguous repeated alternation when the policy is validated, and
 * at run time the pattern never sees more than WINDOW characters at once — long text is scanned in
 * windows that overlap by OVERLAP — so a polynomial pattern that passes the static checks costs
 * O(n · WINDOW^k), not O(n^k). The price, on text longer than WINDOW only: a match longer than
 * OVERLAP can be cut at a window edge, and `^`, `$`, `\b` and lookbehind also see window edges
 * (windows end at a newline where one is near, which keeps line-anchored patterns exact in practice).
 */
import type { Detector, Match } from '../types.ts';

export const REGEX_WINDOW = 8192;
export const REGEX_OVERLAP = 1024;

export function createUserRegexDetector(pattern: string, flags: string, entity: string): Detector {
  const re = new RegExp(pattern, `${flags.replace(/[gy]/g, '')}g`);
  /** Matches of `re` in `text.slice(from, to)` that start in [acceptFrom, acceptTo). */
  const scan = (
    text: string,
    from: number,
    to: number,
    acceptFrom: number,
    acceptTo: number,
    out: Match[],
  ) => {
    const chunk = from === 0 && to === text.length ? text : text.slice(from, to);
    re.lastIndex = 0;
    for (let m = re.exec(chunk); m !== null; m = re.exec(chunk)) {
      if (m[0].length === 0) {
        re.lastIndex++;
        continue;
      }
      const start = from + m.index;
      if (start >= acceptTo) break;
      if (start >= acceptFrom) out.push({ start, end: start + m[0].length, entity });
    }
  };
  return (text) => {
    const out: Match[] = [];
    let from = 0;
    let acceptFrom = 0;
    for (;;) {
      let to = Math.min(text.length, from + REGEX_WINDOW);
      if (to < text.length) {
        const nl = text.lastIndexOf('\n', to - 1);
        if (nl > from + REGEX_WINDOW / 2) to = nl + 1;
      }
      // Matches starting in the overlap are left to the next window, which sees them whole.
      const acceptTo = to === text.length ? text.length : to - REGEX_OVERLAP;
      scan(text, from, to, acceptFrom, acceptTo, out);
      if (to === text.length) return out;
      acceptFrom = acceptTo;
      from = acceptTo;
    }
  };
}

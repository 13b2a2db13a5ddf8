/**
 * Cheap undoing of the obfuscations people use to slip instructions past keyword filters:
 * leetspeak digits inside words, letters spaced apart, base64. Each keeps offsets meaningful for
 * the caller (same length, or an explicit map), so a signal found in the decoded text can be
 * reported at the right place in the original.
 */

export const LEET_HINT = /[a-z][0134578@$][a-z]|[0134578@$][a-z][0134578@$]/;
// biome-ignore format: a lookup table reads better compact
const LEET_MAP: Readonly<Record<string, string>> = {
  '0': 'o', '1': 'i', '3': 'e', '4': 'a', '5': 's', '7': 't', '8': 'b', '@': 'a', $: 's',
};
export const SPACED_HINT = /(?:\b\w ){4,}\w\b/;

/** Replaces leet digits with letters inside words that have letters; same length as the input. */
export function deleet(text: string): string {
  return text.replace(/[\w@$]+/g, (word) =>
    /[a-z]/.test(word) ? word.replace(/[0134578@$]/g, (c) => LEET_MAP[c]) : word,
  );
}

/** Joins letters written one space apart ("i g n o r e"), keeping a map back to the input. */
export function collapseSpaced(text: string): { text: string; map: number[] } {
  let out = '';
  const map: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const isJoin =
      text[i] === ' ' &&
      /\w/.test(text[i - 1] ?? '') &&
      /\w/.test(text[i + 1] ?? '') &&
      !/\w/.test(text[i - 2] ?? '') &&
      !/\w/.test(text[i + 2] ?? '');
    if (isJoin) continue;
    out += text[i];
    map.push(i);
  }
  return { text: out, map };
}

/** Lowercases ASCII letters only, so offsets stay valid (full Unicode lowercasing can change length). */
export function asciiLower(text: string): string {
  const lower = text.toLowerCase();
  return lower.length === text.length ? lower : text.replace(/[A-Z]/g, (c) => c.toLowerCase());
}

const isBase64Char = (c: number) =>
  (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 43 || c === 47;

/** Runs of at least 20 base64 characters, found by a plain loop (a regex for this is 10× slower). */
export function base64Runs(text: string): [number, number][] {
  const runs: [number, number][] = [];
  let start = -1;
  for (let i = 0; i <= text.length; i++) {
    if (i < text.length && isBase64Char(text.charCodeAt(i))) {
      if (start < 0) start = i;
      continue;
    }
    if (start >= 0 && i - start >= 20 && i - start <= 4096) {
      let end = i;
      while (text[end] === '=' && end - i < 2) end++;
      runs.push([start, end]);
    }
    start = -1;
  }
  return runs;
}

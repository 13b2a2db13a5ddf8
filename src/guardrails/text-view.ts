/**
 * The text the detectors look at, which is not always the text they were given.
 *
 * Look-alike tricks defeat naive matching: full-width letters (`ｉｇｎｏｒｅ`), ligatures (`ﬁ`),
 * zero-width characters between letters (`ig\u200Bnore`), and Cyrillic or Greek letters mixed into a
 * Latin word (`раypal` with a Cyrillic `р`). The view undoes them: NFKC, format characters (Unicode
 * category Cf) dropped, and confusable Cyrillic/Greek letters folded to Latin inside words that mix
 * scripts. A word written wholly in another script is left alone, so Russian or Greek text keeps its
 * meaning. Detectors report spans in view coordinates and `toOriginal` maps them back, so a redaction
 * covers exactly the characters the caller sent.
 *
 * Cost: ASCII text (the common case) is its own view, checked with one regex test. Text that is
 * already NFKC and has no format characters keeps an identity mapping; only the rest pays for a
 * per-cluster walk.
 */

export interface TextView {
  readonly text: string;
  /** Maps a view span back to the original string: `[start, end)` in original code units. */
  toOriginal(start: number, end: number): [number, number];
}

const NON_ASCII = /[\u0080-\uffff]/;
const FORMAT_CHAR = /\p{Cf}/u;
const ONLY_FORMAT = /^\p{Cf}+$/u;
const CLUSTER = /\P{M}\p{M}*|\p{M}+/gu;
const MIXED_CANDIDATE = /[\u0370-\u052f]/;
const WORD = /[\p{L}\p{M}]+/gu;
const LATIN = /[A-Za-z]/;
const CONFUSABLE = /[\u0370-\u052f]/g;

/** Cyrillic and Greek letters that render like a Latin letter in common fonts (from UTS #39 data). */
// biome-ignore format: a lookup table reads better compact
const HOMOGLYPHS: Readonly<Record<string, string>> = {
  а: 'a', в: 'b', е: 'e', к: 'k', м: 'm', н: 'h', о: 'o', р: 'p', с: 'c', т: 't', у: 'y', х: 'x',
  ѕ: 's', і: 'i', ј: 'j', ԁ: 'd', ԛ: 'q', ԝ: 'w', ӏ: 'l', ү: 'y', һ: 'h', А: 'A', В: 'B', Е: 'E',
  К: 'K', М: 'M', Н: 'H', О: 'O', Р: 'P', С: 'C', Т: 'T', Х: 'X', У: 'Y', І: 'I', Ј: 'J', Ѕ: 'S',
  Ү: 'Y', α: 'a', ο: 'o', ν: 'v', ρ: 'p', ι: 'i', κ: 'k', υ: 'u', ε: 'e', Α: 'A', Β: 'B', Ε: 'E',
  Ζ: 'Z', Η: 'H', Ι: 'I', Κ: 'K', Μ: 'M', Ν: 'N', Ο: 'O', Ρ: 'P', Τ: 'T', Υ: 'Y', Χ: 'X',
};

const identity = (start: number, end: number): [number, number] => [start, end];

function foldMixedScript(text: string): string {
  if (!MIXED_CANDIDATE.test(text)) return text;
  return text.replace(WORD, (word) =>
    LATIN.test(word) && MIXED_CANDIDATE.test(word)
      ? word.replace(CONFUSABLE, (ch) => HOMOGLYPHS[ch] ?? ch)
      : word,
  );
}

export function createTextView(raw: string): TextView {
  if (!NON_ASCII.test(raw)) return { text: raw, toOriginal: identity };
  if (!FORMAT_CHAR.test(raw) && raw.normalize('NFKC') === raw) {
    return { text: foldMixedScript(raw), toOriginal: identity };
  }
  // Slow path: normalise cluster by cluster (a base character with its combining marks, so
  // composition still happens) and remember which original cluster each view code unit came from.
  const parts: string[] = [];
  const starts: number[] = [];
  const ends: number[] = [];
  for (const m of raw.matchAll(CLUSTER)) {
    const cluster = m[0];
    const from = m.index;
    const to = from + cluster.length;
    if (ONLY_FORMAT.test(cluster)) continue;
    const norm = cluster.length === 1 && cluster < '\x80' ? cluster : cluster.normalize('NFKC');
    parts.push(norm);
    for (let i = 0; i < norm.length; i++) {
      starts.push(from);
      ends.push(to);
    }
  }
  const text = foldMixedScript(parts.join(''));
  return {
    text,
    toOriginal(start, end) {
      if (start >= starts.length) return [raw.length, raw.length];
      if (end <= start) return [starts[start], starts[start]];
      return [starts[start], ends[Math.min(end, ends.length) - 1]];
    },
  };
}

/**
 * International Bank Account Numbers (ISO 13616): country code, two check digits, the national
 * BBAN, printed compact or in groups of four. A candidate must have exactly its country's length
 * and pass the ISO 7064 mod-97 check, which is what makes false positives negligible (about one
 * random string in a hundred passes mod-97; far fewer also have a registered country and length).
 */
import type { Match } from '../types.ts';

const CANDIDATE = /(?<![A-Za-z0-9])[A-Za-z]{2}\d{2}(?:[ -]?[A-Za-z0-9]){11,30}/g;

/** IBAN length per country, from the SWIFT IBAN registry. */
// biome-ignore format: a lookup table reads better compact
const LENGTHS: Readonly<Record<string, number>> = {
  AD: 24, AE: 23, AL: 28, AT: 20, AZ: 28, BA: 20, BE: 16, BG: 22, BH: 22, BI: 27, BR: 29, BY: 28,
  CH: 21, CR: 22, CY: 28, CZ: 24, DE: 22, DJ: 27, DK: 18, DO: 28, EE: 20, EG: 29, ES: 24, FI: 18,
  FK: 18, FO: 18, FR: 27, GB: 22, GE: 22, GI: 23, GL: 18, GR: 27, GT: 28, HR: 21, HU: 28, IE: 22,
  IL: 23, IQ: 23, IS: 26, IT: 27, JO: 30, KW: 30, KZ: 20, LB: 28, LC: 32, LI: 21, LT: 20, LU: 20,
  LV: 21, LY: 25, MC: 27, MD: 24, ME: 22, MK: 19, MN: 20, MR: 27, MT: 31, MU: 30, NI: 28, NL: 18,
  NO: 15, OM: 23, PK: 24, PL: 28, PS: 29, PT: 25, QA: 29, RO: 24, RS: 22, RU: 33, SA: 24, SC: 31,
  SD: 18, SE: 24, SI: 19, SK: 24, SM: 27, SO: 23, ST: 25, SV: 28, TL: 23, TN: 24, TR: 26, UA: 29,
  VA: 22, VG: 24, XK: 20, YE: 30,
};

export function ibanChecksumValid(compact: string): boolean {
  const rearranged = compact.slice(4) + compact.slice(0, 4);
  let rem = 0;
  for (const ch of rearranged.toUpperCase()) {
    const code = ch.charCodeAt(0);
    const value = code <= 57 ? code - 48 : code - 55; // '0'-'9' → 0-9, 'A'-'Z' → 10-35
    rem = value >= 10 ? (rem * 100 + value) % 97 : (rem * 10 + value) % 97;
  }
  return rem === 1;
}

export function detectIbans(text: string): Match[] {
  const out: Match[] = [];
  const re = new RegExp(CANDIDATE.source, 'gi');
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    const raw = m[0];
    const length = LENGTHS[raw.slice(0, 2).toUpperCase()];
    let compact = '';
    let end = -1;
    if (length) {
      for (let i = 0; i < raw.length; i++) {
        if (raw[i] === ' ' || raw[i] === '-') continue;
        compact += raw[i];
        if (compact.length === length) {
          end = i + 1;
          break;
        }
      }
    }
    const after = text.charCodeAt(m.index + end);
    const boundary = end > 0 && !(after >= 48 && after <= 57) && !/[A-Za-z]/.test(text[m.index + end] ?? '');
    if (boundary && ibanChecksumValid(compact)) {
      out.push({ start: m.index, end: m.index + end, entity: 'iban' });
      re.lastIndex = m.index + end;
    } else {
      re.lastIndex = m.index + 2;
    }
  }
  return out;
}

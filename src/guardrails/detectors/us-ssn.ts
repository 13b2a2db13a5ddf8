/**
 * US Social Security numbers: `123-45-6789` or `123 45 6789` (one separator kind), or nine bare
 * digits right after a word like "SSN". Numbers the SSA never issues are skipped: area 000, 666 or
 * 900–999 (ITINs), group 00, serial 0000, and the two famous advertising numbers.
 */
import type { Match } from '../types.ts';

const SEPARATED = /(?<![\w.,-])(\d{3})([- ])(\d{2})\2(\d{4})(?![\w-]|[.,]\d)/g;
const BARE = /(?<![\w.,-])(\d{3})(\d{2})(\d{4})(?![\w-]|[.,]\d)/g;
const CONTEXT = /\b(?:ssn|ss#|social security(?: number| no\.?)?|social sec\.? no\.?)\W{0,8}$/i;
const NEVER_ISSUED = new Set(['078051120', '219099999']);

function issuable(area: string, group: string, serial: string): boolean {
  if (area === '000' || area === '666' || area[0] === '9') return false;
  if (group === '00' || serial === '0000') return false;
  return !NEVER_ISSUED.has(area + group + serial);
}

export function detectUsSsns(text: string): Match[] {
  const out: Match[] = [];
  for (const m of text.matchAll(SEPARATED)) {
    if (issuable(m[1], m[3], m[4]))
      out.push({ start: m.index, end: m.index + m[0].length, entity: 'us_ssn' });
  }
  if (/ss|social/i.test(text)) {
    for (const m of text.matchAll(BARE)) {
      const before = text.slice(Math.max(0, m.index - 32), m.index);
      if (CONTEXT.test(before) && issuable(m[1], m[2], m[3])) {
        out.push({ start: m.index, end: m.index + 9, entity: 'us_ssn' });
      }
    }
  }
  return out;
}

/**
 * Payment card numbers (PANs). A run of 13–19 digits, optionally grouped the way cards are printed
 * (4-4-4-4[-3], Amex 4-6-5, Diners 4-6-4) with one kind of separator, whose prefix belongs to a
 * card network (IIN ranges) and whose Luhn checksum holds. The network and grouping checks are
 * what keep order ids and long timestamps out: Luhn alone passes one random number in ten.
 */
import type { Match } from '../types.ts';

const CANDIDATE = /(?<![\w.,-])\d(?:[ -]?\d){12,18}(?![\w]|[.,-]\d)/g;
const GROUPINGS = new Set(['4,4,4,4', '4,4,4,4,3', '4,6,5', '4,6,4', '4,4,4,1', '4,4,4,2', '4,4,4,3']);

/** Known network prefixes, with the lengths each issues. */
const NETWORKS: readonly { prefix: RegExp; lengths: readonly number[] }[] = [
  { prefix: /^4/, lengths: [13, 16, 19] }, // Visa
  { prefix: /^(?:5[1-5]|222[1-9]|22[3-9]\d|2[3-6]\d\d|27[01]\d|2720)/, lengths: [16] }, // Mastercard
  { prefix: /^3[47]/, lengths: [15] }, // American Express
  { prefix: /^(?:6011|65|64[4-9])/, lengths: [16, 17, 18, 19] }, // Discover
  { prefix: /^35(?:2[89]|[3-8]\d)/, lengths: [16, 17, 18, 19] }, // JCB
  { prefix: /^3(?:0[0-59]|[689])/, lengths: [14, 15, 16, 17, 18, 19] }, // Diners Club
  { prefix: /^62/, lengths: [16, 17, 18, 19] }, // UnionPay
  { prefix: /^(?:5[06-9]|6\d)/, lengths: [12, 13, 14, 15, 16, 17, 18, 19] }, // Maestro
];

export function luhnValid(digits: string): boolean {
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return sum % 10 === 0;
}

function isCard(digits: string): boolean {
  return (
    NETWORKS.some((n) => n.prefix.test(digits) && n.lengths.includes(digits.length)) && luhnValid(digits)
  );
}

export function detectPaymentCards(text: string): Match[] {
  const out: Match[] = [];
  for (const m of text.matchAll(CANDIDATE)) {
    const raw = m[0];
    const groups = raw.split(/[ -]/);
    if (groups.length === 1) {
      if (isCard(raw)) out.push({ start: m.index, end: m.index + raw.length, entity: 'payment_card' });
      continue;
    }
    // One separator kind, a card grouping; a trailing extra group ("… 1111 2025") is dropped.
    if (/ /.test(raw) && /-/.test(raw)) continue;
    if (groups.some((g) => g === '')) continue;
    for (let k = groups.length; k >= 3; k--) {
      const head = groups.slice(0, k);
      if (!GROUPINGS.has(head.map((g) => g.length).join(','))) continue;
      const digits = head.join('');
      if (!isCard(digits)) continue;
      const len = head.join(' ').length;
      out.push({ start: m.index, end: m.index + len, entity: 'payment_card' });
      break;
    }
  }
  return out;
}

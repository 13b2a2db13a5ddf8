/**
 * Email addresses: a pragmatic subset of RFC 5322 (dot-atom local part, DNS host names, a letter
 * TLD), which is what people actually write. Quantifiers are bounded so a long run of word
 * characters costs linear time. Not matched on purpose: `icon@2x.png` asset names, `pkg@1.2.3`
 * version pins (numeric "TLD"), and scp-style git remotes (`git@github.com:org/repo`).
 */
import type { Match } from '../types.ts';

const EMAIL =
  /(?<![\w.%+-])[A-Za-z0-9](?:[A-Za-z0-9._%+'-]{0,62}[A-Za-z0-9_%+-])?@(?!\dx\.)(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.){1,8}[A-Za-z]{2,24}(?![\w-]|\.[A-Za-z0-9]|:[\w~/])/g;

export function detectEmails(text: string): Match[] {
  if (!text.includes('@')) return [];
  const out: Match[] = [];
  for (const m of text.matchAll(EMAIL)) {
    out.push({ start: m.index, end: m.index + m[0].length, entity: 'email' });
  }
  return out;
}

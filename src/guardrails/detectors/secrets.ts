/**
 * API keys and other credentials recognisable by format: the vendor prefixes secret scanners key
 * on (GitHub's and AWS's documented formats, Slack, Stripe, Google, OpenAI), PEM private key
 * blocks, JWTs, and our own keys. Ours carry a CRC32 checksum (see src/auth/secrets.ts): a string
 * with the `sk-airmy-` prefix is a key only if the checksum holds (or it is the demo key), so
 * documentation placeholders like `sk-airmy-xxxxxxxx…` are left alone. A generic OpenAI-style `sk-`
 * body must mix digits and capitals, which hyphenated prose (`sk-this-is-not-a-key`) does not.
 *
 * One alternation regex behind a literal-prefix test, so text with no candidate costs one quick scan.
 */
import { API_KEY_PREFIX, DEMO_API_KEY, isWellFormed, SESSION_TOKEN_PREFIX } from '../../auth/secrets.ts';
import type { Match } from '../types.ts';

const B = '(?![A-Za-z0-9_-])';
const L = '(?<![A-Za-z0-9_-])';
const SECRET = new RegExp(
  [
    `${L}s[kt]-airmy-(?:demo-2026|[0-9A-Za-z]{38})${B}`,
    `${L}sk-(?!airmy-)(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,300}${B}`,
    `${L}(?:AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}(?![0-9A-Za-z])`,
    `${L}aws_secret_access_key["']?\\s{0,3}[=:]\\s{0,3}["']?[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+])`,
    `${L}gh[pousr]_[A-Za-z0-9]{36,251}(?![A-Za-z0-9])`,
    `${L}github_pat_[A-Za-z0-9_]{22,244}(?![A-Za-z0-9_])`,
    `${L}xox[abpr]-[A-Za-z0-9-]{10,250}(?![A-Za-z0-9-])`,
    `${L}[sr]k_(?:live|test)_[A-Za-z0-9]{16,247}(?![A-Za-z0-9])`,
    `${L}AIza[0-9A-Za-z_-]{35}${B}`,
    `${L}eyJ[A-Za-z0-9_-]{8,}\\.eyJ[A-Za-z0-9_-]{8,}\\.[A-Za-z0-9_-]*${B}`,
  ]
    .map((s) => `(?:${s})`)
    .join('|'),
  'g',
);
/**
 * PEM blocks run separately: a token glued to the block (`…xyz-----BEGIN`) must not swallow its
 * first dashes and hide the block from the alternation. Without an END line (a truncated paste)
 * the header and the base64 lines after it are the match. The body may not contain `-----`, so
 * many BEGIN lines without an END cost linear time, not quadratic.
 */
const PEM =
  /-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----(?:(?:(?!-----)[\s\S]){0,16384}-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----|(?:\s+[A-Za-z0-9+/=]+)*)/g;

/** Literal prefixes of every alternative above: most text has none and skips the full scan. */
const PREFIX =
  /sk-|st-airmy|[sr]k_|AKIA|ASIA|ABIA|ACCA|aws_secret|gh[pousr]_|github_pat_|xox[abpr]-|AIza|eyJ/;
const AWS_LABEL = /^aws_secret_access_key["']?\s*[=:]\s*["']?/;

function plausible(secret: string): boolean {
  if (secret.startsWith(API_KEY_PREFIX))
    return secret === DEMO_API_KEY || isWellFormed(secret, API_KEY_PREFIX);
  if (secret.startsWith(SESSION_TOKEN_PREFIX)) return isWellFormed(secret, SESSION_TOKEN_PREFIX);
  if (secret.startsWith('st-airmy-') || secret.startsWith('sk-airmy-')) return false;
  if (secret.startsWith('sk-')) return /\d/.test(secret) && /[A-Z]/.test(secret) && /[a-z]/.test(secret);
  return true;
}

export function detectSecrets(text: string): Match[] {
  const out: Match[] = [];
  if (text.includes('-----BEGIN')) {
    for (const m of text.matchAll(PEM))
      out.push({ start: m.index, end: m.index + m[0].length, entity: 'secret' });
  }
  if (!PREFIX.test(text)) return out;
  for (const m of text.matchAll(SECRET)) {
    if (!plausible(m[0])) continue;
    // The AWS secret is recognised by its label; redact the value and keep the label readable.
    const label = AWS_LABEL.exec(m[0])?.[0].length ?? 0;
    out.push({ start: m.index + label, end: m.index + m[0].length, entity: 'secret' });
  }
  return out;
}

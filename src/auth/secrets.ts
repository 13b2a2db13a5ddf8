/**
 * Secret formats. API keys look like `sk-airmy-` + 32 random base62 chars + a 6-char base62 CRC32 of
 * those 32, so secret scanners can recognise ours and reject typos without a database lookup (the
 * GitHub token scheme). Session tokens use `st-airmy-` and browser sessions (the cookie) `bs-airmy-`
 * the same way. Only SHA-256 hashes are stored.
 */
import { hash, randomBytes, timingSafeEqual } from 'node:crypto';
import { crc32 } from 'node:zlib';

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
export const API_KEY_PREFIX = 'sk-airmy-';
export const SESSION_TOKEN_PREFIX = 'st-airmy-';
export const BROWSER_SESSION_PREFIX = 'bs-airmy-';
/** a user's web session (POST /v2/auth/login): also only in the cookie */
export const USER_SESSION_PREFIX = 'us-airmy-';
export const DEMO_API_KEY = 'sk-airmy-demo-2026';

function randomBase62(length: number): string {
  let out = '';
  while (out.length < length) {
    for (const byte of randomBytes(length * 2)) {
      // 248 = 62 * 4: rejecting bytes above it keeps every character equally likely.
      if (byte < 248 && out.length < length) out += BASE62[byte % 62];
    }
  }
  return out;
}

function base62Fixed(n: number, width: number): string {
  let out = '';
  let v = n >>> 0;
  for (let i = 0; i < width; i++) {
    out = BASE62[v % 62] + out;
    v = Math.floor(v / 62);
  }
  return out;
}

const checksum = (body: string) => base62Fixed(crc32(body), 6);

export function generateSecret(prefix: string): string {
  const body = randomBase62(32);
  return `${prefix}${body}${checksum(body)}`;
}

/** Well-formed and checksum-valid (the demo key is the one documented exception). */
export function isWellFormed(secret: string, prefix: string): boolean {
  if (secret === DEMO_API_KEY) return prefix === API_KEY_PREFIX;
  if (secret.length !== prefix.length + 38 || !secret.startsWith(prefix)) return false;
  const body = secret.slice(prefix.length, prefix.length + 32);
  if (!/^[0-9A-Za-z]{32}$/.test(body)) return false;
  return checksum(body) === secret.slice(prefix.length + 32);
}

/** SHA-256, hex. The one-shot `hash` costs a fraction of a Hash object; it runs on every request. */
export const hashSecret = (secret: string): string => hash('sha256', secret, 'hex');

export function hashesEqual(a: string, b: string): boolean {
  const x = Buffer.from(a, 'hex');
  const y = Buffer.from(b, 'hex');
  return x.length === y.length && timingSafeEqual(x, y);
}

/** What we show of a key after creation: its prefix and last four characters. */
export function displayParts(secret: string): { prefix: string; last4: string } {
  return { prefix: secret.slice(0, API_KEY_PREFIX.length + 4), last4: secret.slice(-4) };
}

/**
 * Secret-shaped test strings, assembled at run time from a seeded PRNG so the repository never
 * holds a literal token (secret scanners and push protection would rightly complain) and the
 * figures the corpus test prints are reproducible.
 */
import { crc32 } from 'node:zlib';

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const UPPER_DIGITS = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ';
const URLSAFE = `${BASE62}_-`;
const B64 = `${BASE62}+/`;

export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randomChars(rand: () => number, alphabet: string, n: number): string {
  let out = '';
  for (let i = 0; i < n; i++) out += alphabet[Math.floor(rand() * alphabet.length)];
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

/** Builds secrets of each supported format. `p` joins prefix pieces so no literal prefix+body exists. */
export function secretFactory(seed: number) {
  const r = seededRandom(seed);
  const p = (...parts: string[]) => parts.join('');
  const b64url = (s: string) => Buffer.from(s).toString('base64url');
  return {
    airmy: () => {
      const body = randomChars(r, BASE62, 32);
      return p('sk', '-airmy-', body, base62Fixed(crc32(body), 6));
    },
    airmyBadChecksum: () => p('sk', '-airmy-', randomChars(r, BASE62, 32), 'AAAAAA'),
    airmySession: () => {
      const body = randomChars(r, BASE62, 32);
      return p('st', '-airmy-', body, base62Fixed(crc32(body), 6));
    },
    demo: () => p('sk', '-airmy-', 'demo-2026'),
    openai: () => p('sk', '-', randomChars(r, 'ABCDEFGH', 2), randomChars(r, BASE62, 44), '9x'),
    openaiProject: () => p('sk', '-proj-', 'Ab9', randomChars(r, URLSAFE, 153)),
    aws: () => p('AK', 'IA', randomChars(r, UPPER_DIGITS, 16)),
    awsSecret: () => randomChars(r, B64, 40),
    github: (kind = 'p') => p('gh', kind, '_', randomChars(r, BASE62, 36)),
    githubPat: () => p('github', '_pat_', '11A', randomChars(r, BASE62, 19), '_', randomChars(r, BASE62, 59)),
    slack: (kind = 'b') =>
      p('xox', kind, '-', randomChars(r, '0123456789', 12), '-', randomChars(r, BASE62, 24)),
    stripe: (prefix = 'sk', mode = 'live') => p(prefix, '_', mode, '_', randomChars(r, BASE62, 24)),
    google: () => p('AI', 'za', 'Sy', randomChars(r, URLSAFE, 33)),
    pem: (label = 'RSA PRIVATE KEY') => {
      const lines = Array.from({ length: 6 }, () => randomChars(r, B64, 64)).join('\n');
      return p('-----BEGIN ', label, '-----\n', lines, '\n-----END ', label, '-----');
    },
    jwt: () =>
      [
        b64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' })),
        b64url(JSON.stringify({ sub: randomChars(r, '0123456789', 10), name: 'Test User', iat: 1718035200 })),
        randomChars(r, URLSAFE, 43),
      ].join('.'),
  };
}

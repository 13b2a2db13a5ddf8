/**
 * Password hashing: scrypt from node:crypto, N = 2^15, r = 8, p = 1 (32 MiB and ~50-100 ms per hash
 * on one core), 16-byte random salt, 32-byte key, stored as `scrypt$15$8$1$<salt>$<key>` (base64url)
 * so the parameters can be raised later and old hashes still verify.
 *
 * Why scrypt rather than argon2id: both are memory-hard (what makes GPU and ASIC guessing costly);
 * argon2 needs a native npm package (node-gyp or prebuilt binaries per platform, another supply-chain
 * entry), while scrypt ships with Node (OpenSSL) and runs on libuv's thread pool, off the event loop.
 * The cost is below OWASP's current scrypt floor (N=2^17, or 2^15 with p=3): 32 MiB per hash keeps a
 * login flood within 4 threads x 32 MiB = 128 MiB on a small self-hosted box, and throttling
 * (throttle.ts) caps online guessing; the stored format lets a deployment raise it later.
 *
 * Timing: an unknown email is verified against a dummy hash with the same parameters, so it costs
 * what a wrong password costs (see service.ts).
 */
import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { unprocessable } from '../errors.ts';

const LOG2_N = 15;
const R = 8;
const P = 1;
const KEY_LEN = 32;
/** scrypt needs 128 * N * r bytes (32 MiB here); Node's default cap is exactly that, so raise it. */
const maxmemFor = (n: number, r: number) => 128 * n * r + 16 * 1024 * 1024;

export const MIN_PASSWORD_LENGTH = 12;
export const MAX_PASSWORD_LENGTH = 256;

function derive(password: string, salt: Buffer, log2n: number, r: number, p: number, len: number) {
  const N = 2 ** log2n;
  return new Promise<Buffer>((resolve, reject) =>
    scrypt(password.normalize('NFC'), salt, len, { N, r, p, maxmem: maxmemFor(N, r) }, (err, key) =>
      err ? reject(err) : resolve(key),
    ),
  );
}

/** 422 naming `param` unless the password is long enough (length in characters, not bytes). */
export function checkPasswordStrength(password: string, param = 'password') {
  if ([...password].length < MIN_PASSWORD_LENGTH)
    throw unprocessable(
      'password_too_short',
      `The password must be at least ${MIN_PASSWORD_LENGTH} characters long`,
      param,
    );
  if (password.length > MAX_PASSWORD_LENGTH)
    throw unprocessable(
      'password_too_long',
      `The password must be at most ${MAX_PASSWORD_LENGTH} characters long`,
      param,
    );
}

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await derive(password, salt, LOG2_N, R, P, KEY_LEN);
  return ['scrypt', LOG2_N, R, P, salt.toString('base64url'), key.toString('base64url')].join('$');
}

/** true when `password` matches `stored`; a malformed stored hash never matches. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [kind, log2n, r, p, salt, key] = stored.split('$');
  if (kind !== 'scrypt' || key === undefined) return false;
  const expected = Buffer.from(key, 'base64url');
  const actual = await derive(
    password,
    Buffer.from(salt, 'base64url'),
    Number(log2n),
    Number(r),
    Number(p),
    expected.length,
  );
  return timingSafeEqual(actual, expected);
}

/** A hash of a random password with the current parameters: what unknown emails are checked against. */
export function createDummyHash(): () => Promise<string> {
  let dummy: Promise<string> | undefined;
  return () => {
    dummy ??= hashPassword(randomBytes(24).toString('base64url'));
    return dummy;
  };
}

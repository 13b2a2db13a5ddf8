/**
 * Sealing secrets at rest (connector credentials): AES-256-GCM, a fresh random 12-byte IV per
 * value, the 16-byte auth tag kept with it. A sealed value is text, `v1.<base64(iv | tag | ciphertext)>`,
 * so it fits a TEXT column and the version leaves room for key rotation.
 *
 * `aad` (associated data) binds a value to where it belongs (e.g. the connector id and the secret
 * name): a sealed value copied into another row or under another name fails to open.
 *
 * The key: AIRMY_SECRET_KEY (config; required in production), else `<dataDir>/secret.key`,
 * generated on first start with mode 0600 and reused — losing that file loses the secrets.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const VERSION = 'v1.';
const IV_BYTES = 12;
const TAG_BYTES = 16;

export interface SecretBox {
  seal(plaintext: string, aad: string): string;
  /** Throws when the value was tampered with, sealed under another key or for another `aad`. */
  open(sealed: string, aad: string): string;
}

export function createSecretBox(key: Buffer): SecretBox {
  if (key.length !== 32) throw new Error('AES-256-GCM needs a 32-byte key');
  return {
    seal(plaintext, aad) {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      cipher.setAAD(Buffer.from(aad, 'utf8'));
      const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
      return VERSION + Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64');
    },
    open(sealed, aad) {
      if (!sealed.startsWith(VERSION)) throw new Error('Unknown sealed-secret format');
      const raw = Buffer.from(sealed.slice(VERSION.length), 'base64');
      if (raw.length < IV_BYTES + TAG_BYTES) throw new Error('Sealed secret is truncated');
      const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, IV_BYTES), {
        authTagLength: TAG_BYTES,
      });
      decipher.setAAD(Buffer.from(aad, 'utf8'));
      decipher.setAuthTag(raw.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
      return Buffer.concat([decipher.update(raw.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString(
        'utf8',
      );
    },
  };
}

/** The configured key, else the data dir's `secret.key` (created once, 0600, by whoever gets there first). */
export function loadSecretKey(config: { secretKey: Buffer | null; dataDir: string }): Buffer {
  if (config.secretKey) return config.secretKey;
  const file = path.join(config.dataDir, 'secret.key');
  try {
    mkdirSync(config.dataDir, { recursive: true });
    writeFileSync(file, `${randomBytes(32).toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  const key = Buffer.from(readFileSync(file, 'utf8').trim(), 'base64');
  if (key.length !== 32)
    throw new Error(`${file}: not a base64 32-byte key; restore it or set AIRMY_SECRET_KEY`);
  return key;
}

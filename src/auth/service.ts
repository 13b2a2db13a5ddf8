/**
 * Authentication: turns an `Authorization: Bearer …` header into a Principal.
 *
 * - API keys are looked up by SHA-256 hash (one indexed join with their organization). A rotated-out
 *   secret works until its deadline, then answers `api_key_expired`; a revoked key is `invalid_api_key`.
 * - Session tokens resolve through their parent key, so revoking or expiring the key kills them.
 * - `last_used_at` is written at most once a minute per key, not on every request.
 */

import type { ApiKeyStore } from '../api-keys/store.ts';
import type { AuthFailureSubject } from '../audit/hook.ts';
import { type AuditRecorder, audited } from '../audit/service.ts';
import type { Clock } from '../clock.ts';
import { iso } from '../clock.ts';
import { ApiError, ErrorTypes, forbidden, unauthorized, unprocessable } from '../errors.ts';
import type { IdFactory } from '../ids.ts';
import { limitsFor } from '../organizations/plans.ts';
import type { Principal } from './principal.ts';
import { isScope, type Scope, TOKEN_FORBIDDEN_SCOPES } from './scopes.ts';
import {
  API_KEY_PREFIX,
  generateSecret,
  hashesEqual,
  hashSecret,
  isWellFormed,
  SESSION_TOKEN_PREFIX,
} from './secrets.ts';
import type { SessionTokenStore } from './store.ts';

export const SESSION_TOKEN_TTL_MS = 60 * 60 * 1000;
const TOUCH_EVERY_MS = 60_000;

export interface AuthServiceDeps {
  keys: ApiKeyStore;
  tokens: SessionTokenStore;
  ids: IdFactory;
  clock: Clock;
  /** audit log: token mints are recorded with the mint */
  audit?: AuditRecorder;
}

/** A 401 for a credential we recognized: the audit log files it under the credential's organization. */
const deniedFor = (code: string, message: string, subject: AuthFailureSubject) =>
  new ApiError(401, ErrorTypes.authentication, code, message, { cause: { auditSubject: subject } });

/**
 * Resolved keys are remembered briefly, so the hot path costs no query. Revocation and rotation in
 * this process forget the key at once (invalidate); other processes see it within the TTL.
 */
const KEY_CACHE_TTL_MS = 5_000;
const KEY_CACHE_MAX = 10_000;

type KeyRow = NonNullable<Awaited<ReturnType<ApiKeyStore['findBySecretHash']>>>;

export function createAuthService({ keys, tokens, ids, clock, audit }: AuthServiceDeps) {
  const cache = new Map<string, { row: KeyRow; until: number }>();
  // Built once per key row and shared by its requests: a Principal is never mutated.
  const principals = new WeakMap<KeyRow, Principal>();

  function principalOf(row: KeyRow): Principal {
    let principal = principals.get(row);
    if (!principal) {
      principal = Object.freeze({
        kind: 'api_key',
        orgId: row.org_id,
        keyId: row.key_id,
        tokenId: null,
        scopes: new Set(JSON.parse(row.scopes) as Scope[]),
        limits: limitsFor(row.plan, { rpm: row.rate_limit_rpm, burst: row.rate_limit_burst }),
        isDemo: row.is_demo === 1,
      } satisfies Principal);
      principals.set(row, principal);
    }
    return principal;
  }

  async function lookup(hash: string, now: number): Promise<KeyRow | undefined> {
    const hit = cache.get(hash);
    if (hit && hit.until > now) return hit.row;
    const row = await keys.findBySecretHash(hash);
    if (row) {
      if (cache.size >= KEY_CACHE_MAX) cache.clear();
      cache.set(hash, { row, until: now + KEY_CACHE_TTL_MS });
    } else cache.delete(hash);
    return row;
  }

  async function resolveKey(secret: string, now: number) {
    if (!isWellFormed(secret, API_KEY_PREFIX))
      throw unauthorized('invalid_api_key', 'Invalid API key provided');
    const hash = hashSecret(secret);
    const row = await lookup(hash, now);
    if (!row || !hashesEqual(row.hash, hash))
      throw unauthorized('invalid_api_key', 'Invalid API key provided');
    const subject: AuthFailureSubject = { orgId: row.org_id, actor: { type: 'api_key', id: row.key_id } };
    if (row.revoked_at !== null) throw deniedFor('invalid_api_key', 'Invalid API key provided', subject);
    if (row.expires_at !== null && row.expires_at <= now) {
      throw deniedFor('api_key_expired', 'This API key was rotated and its grace period has ended', subject);
    }
    if (row.last_used_at === null || now - row.last_used_at >= TOUCH_EVERY_MS) {
      row.last_used_at = now;
      await keys.touch(row.key_id, now);
    }
    return row;
  }

  return {
    /** Forget cached lookups of a key (after revoke or rotate). */
    invalidate(keyId: string) {
      for (const [hash, entry] of cache) if (entry.row.key_id === keyId) cache.delete(hash);
    },

    async authenticate(authorization: string | undefined): Promise<Principal> {
      if (authorization === undefined || authorization === '') {
        throw unauthorized('missing_api_key', 'No API key provided. Send "Authorization: Bearer <key>".');
      }
      const match = /^Bearer ([\x21-\x7e]+)$/.exec(authorization);
      if (!match)
        throw unauthorized('invalid_authorization_header', 'Authorization header must be "Bearer <key>"');
      const secret = match[1];
      const now = clock.now();
      if (secret.startsWith(SESSION_TOKEN_PREFIX)) {
        if (!isWellFormed(secret, SESSION_TOKEN_PREFIX))
          throw unauthorized('invalid_token', 'Invalid session token');
        const hash = hashSecret(secret);
        const token = await tokens.findByHash(hash);
        if (!token || !hashesEqual(token.hash, hash))
          throw unauthorized('invalid_token', 'Invalid session token');
        const subject: AuthFailureSubject = {
          orgId: token.org_id,
          actor: { type: 'session_token', id: token.id },
        };
        if (token.expires_at <= now)
          throw deniedFor('token_expired', 'Session token has expired; mint a new one', subject);
        if (token.key_revoked_at !== null) {
          throw deniedFor(
            'invalid_token',
            'The API key this token was minted from has been revoked',
            subject,
          );
        }
        // A token dies with its parent key: once every secret of the key is past its deadline, so is the token.
        if (!(await keys.hasLiveSecret(token.key_id, now))) {
          throw deniedFor('invalid_token', 'The API key this token was minted from has expired', subject);
        }
        return {
          kind: 'session_token',
          orgId: token.org_id,
          keyId: token.key_id,
          tokenId: token.id,
          scopes: new Set(JSON.parse(token.scopes) as Scope[]),
          limits: limitsFor(token.plan, { rpm: token.rate_limit_rpm, burst: token.rate_limit_burst }),
          isDemo: token.is_demo === 1,
        };
      }
      return principalOf(await resolveKey(secret, now));
    },

    /** Mints a 1 h session token from an API key; scopes may only narrow the key's. */
    async mintToken(principal: Principal, requested: string[] | undefined) {
      if (principal.kind !== 'api_key')
        throw forbidden('insufficient_permissions', 'A session token cannot mint tokens');
      const base = [...principal.scopes].filter((s) => !TOKEN_FORBIDDEN_SCOPES.includes(s));
      let scopes: Scope[] = base;
      if (requested !== undefined) {
        requested.forEach((s, i) => {
          if (!isScope(s)) throw unprocessable('invalid_scope', `Unknown scope '${s}'`, `scopes[${i}]`);
          if (!base.includes(s))
            throw unprocessable('invalid_scope', `A token cannot carry '${s}'`, `scopes[${i}]`);
        });
        scopes = [...new Set(requested)] as Scope[];
      }
      const now = clock.now();
      const token = generateSecret(SESSION_TOKEN_PREFIX);
      const row = {
        hash: hashSecret(token),
        id: ids('tok'),
        org_id: principal.orgId,
        key_id: principal.keyId,
        scopes: JSON.stringify(scopes),
        created_at: now,
        expires_at: now + SESSION_TOKEN_TTL_MS,
      };
      await audited(
        audit,
        (trx) => tokens.insert(row, trx),
        () => ({
          orgId: principal.orgId,
          action: 'session_token.created',
          resource: { type: 'session_token', id: row.id },
          changes: ['scopes'],
          statusCode: 201,
        }),
      );
      return { id: row.id, object: 'session_token' as const, token, scopes, expires_at: iso(row.expires_at) };
    },
  };
}
export type AuthService = ReturnType<typeof createAuthService>;

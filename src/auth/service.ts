/**
 * Authentication: turns an `Authorization: Bearer …` header, or the browser session cookie of a
 * request without one (see cookie.ts), into a Principal.
 *
 * - API keys are looked up by SHA-256 hash (one indexed join with their organization). A rotated-out
 *   secret works until its deadline, then answers `api_key_expired`; a revoked key is `invalid_api_key`.
 * - Session tokens resolve through their parent key, so revoking or expiring the key kills them.
 * - Browser sessions are session tokens kept in an HttpOnly cookie (`bs-airmy-` secrets, kind
 *   'browser'): same expiry, same parent-key rules, same restrictions; logout deletes them.
 * - `last_used_at` is written at most once a minute per key, not on every request.
 * - The demo key (and every session made from it) is refused unless demo mode is on: a data dir
 *   first started in development still holds its row when the server restarts in production, so
 *   "not seeded" is not enough — what the database holds does not decide, the config does.
 */

import type { ApiKeyStore } from '../api-keys/store.ts';
import type { AuthFailureSubject } from '../audit/hook.ts';
import { type AuditRecorder, audited } from '../audit/service.ts';
import type { Clock } from '../clock.ts';
import { iso } from '../clock.ts';
import { ApiError, ErrorTypes, forbidden, unauthorized, unprocessable } from '../errors.ts';
import type { IdFactory } from '../ids.ts';
import { limitsFor } from '../organizations/plans.ts';
import { clearedSessionCookie, readSessionCookie } from './cookie.ts';
import type { Principal } from './principal.ts';
import { isScope, type Scope, TOKEN_FORBIDDEN_SCOPES } from './scopes.ts';
import {
  API_KEY_PREFIX,
  BROWSER_SESSION_PREFIX,
  DEMO_API_KEY,
  generateSecret,
  hashesEqual,
  hashSecret,
  isWellFormed,
  SESSION_TOKEN_PREFIX,
  USER_SESSION_PREFIX,
} from './secrets.ts';
import type { SessionKind, SessionTokenStore } from './store.ts';

export const SESSION_TOKEN_TTL_MS = 60 * 60 * 1000;
const TOUCH_EVERY_MS = 60_000;

export interface AuthServiceDeps {
  keys: ApiKeyStore;
  tokens: SessionTokenStore;
  ids: IdFactory;
  clock: Clock;
  /** audit log: token mints are recorded with the mint */
  audit?: AuditRecorder;
  /** config.demo: whether the public demo key (and sessions made from it) may authenticate */
  demo: boolean;
  /** a user's web session cookie (`us-airmy-…`, src/users/service.ts); absent: such cookies are invalid */
  resolveUserSession?: (
    secret: string,
    now: number,
    clearCookie: Record<string, string>,
  ) => Promise<Principal>;
}

/** A 401 for a credential we recognized: the audit log files it under the credential's organization. */
const deniedFor = (
  code: string,
  message: string,
  subject: AuthFailureSubject,
  headers?: Record<string, string>,
) =>
  new ApiError(401, ErrorTypes.authentication, code, message, { cause: { auditSubject: subject }, headers });

const demoDisabled = () =>
  unauthorized(
    'invalid_api_key',
    'The demo key is disabled on this server (production); use a key of your own organization',
  );

const missingKey = () =>
  unauthorized('missing_api_key', 'No API key provided. Send "Authorization: Bearer <key>".');

/** How each kind of session names its failures; a dead cookie is also cleared from the browser. */
const SESSION_KINDS = {
  token: {
    prefix: SESSION_TOKEN_PREFIX,
    invalid: 'invalid_token',
    expired: 'token_expired',
    noun: 'session token',
    expiredMessage: 'Session token has expired; mint a new one',
    headers: undefined,
  },
  browser: {
    prefix: BROWSER_SESSION_PREFIX,
    invalid: 'invalid_session',
    expired: 'session_expired',
    noun: 'browser session',
    expiredMessage: 'Browser session has expired; log in again',
    headers: { 'set-cookie': clearedSessionCookie() },
  },
} as const;

/**
 * Resolved keys are remembered briefly, so the hot path costs no query. Revocation and rotation in
 * this process forget the key at once (invalidate); other processes see it within the TTL.
 */
const KEY_CACHE_TTL_MS = 5_000;
const KEY_CACHE_MAX = 10_000;

type KeyRow = NonNullable<Awaited<ReturnType<ApiKeyStore['findBySecretHash']>>>;

export function createAuthService({
  keys,
  tokens,
  ids,
  clock,
  audit,
  demo,
  resolveUserSession,
}: AuthServiceDeps) {
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
        cookie: false,
        scopes: new Set(JSON.parse(row.scopes) as Scope[]),
        limits: limitsFor(row.plan, { rpm: row.rate_limit_rpm, burst: row.rate_limit_burst }),
        isDemo: row.is_demo === 1,
      } satisfies Principal);
      principals.set(row, principal);
    }
    return principal;
  }

  /**
   * An API key's row. A key resolved in the last few seconds answers synchronously (no promise, no
   * query): the gateway's hot path. Its hash matched a stored key's, so it needs no format check.
   */
  function resolveKey(secret: string, now: number): KeyRow | Promise<KeyRow> {
    const hash = hashSecret(secret);
    const hit = cache.get(hash);
    if (hit !== undefined && hit.until > now) return admitKey(hit.row, now);
    if (!isWellFormed(secret, API_KEY_PREFIX))
      throw unauthorized('invalid_api_key', 'Invalid API key provided');
    return keys.findBySecretHash(hash).then((row) => {
      if (!row || !hashesEqual(row.hash, hash)) {
        cache.delete(hash);
        throw unauthorized('invalid_api_key', 'Invalid API key provided');
      }
      if (cache.size >= KEY_CACHE_MAX) cache.clear();
      cache.set(hash, { row, until: now + KEY_CACHE_TTL_MS });
      return admitKey(row, now);
    });
  }

  /** Revoked and expired keys are refused; `last_used_at` is written at most once a minute. */
  function admitKey(row: KeyRow, now: number): KeyRow | Promise<KeyRow> {
    const subject: AuthFailureSubject = { orgId: row.org_id, actor: { type: 'api_key', id: row.key_id } };
    if (row.revoked_at !== null) throw deniedFor('invalid_api_key', 'Invalid API key provided', subject);
    if (row.is_demo === 1 && !demo) throw demoDisabled();
    if (row.expires_at !== null && row.expires_at <= now) {
      throw deniedFor('api_key_expired', 'This API key was rotated and its grace period has ended', subject);
    }
    if (row.last_used_at === null || now - row.last_used_at >= TOUCH_EVERY_MS) {
      row.last_used_at = now;
      return keys.touch(row.key_id, now).then(() => row);
    }
    return row;
  }

  /** A session token or browser session, through its parent key: expired or orphaned ones are 401. */
  async function resolveSession(secret: string, kind: SessionKind, now: number): Promise<Principal> {
    const k = SESSION_KINDS[kind];
    const invalid = (message: string) =>
      new ApiError(401, ErrorTypes.authentication, k.invalid, message, { headers: k.headers });
    if (!isWellFormed(secret, k.prefix)) throw invalid(`Invalid ${k.noun}`);
    const hash = hashSecret(secret);
    const token = await tokens.findByHash(hash, kind);
    if (!token || !hashesEqual(token.hash, hash)) throw invalid(`Invalid ${k.noun}`);
    const subject: AuthFailureSubject = {
      orgId: token.org_id,
      actor: { type: 'session_token', id: token.id },
    };
    if (token.is_demo === 1 && !demo)
      throw invalid(`This ${k.noun} was made from the demo key, which is disabled`);
    if (token.expires_at <= now) throw deniedFor(k.expired, k.expiredMessage, subject, k.headers);
    if (token.key_revoked_at !== null) {
      throw deniedFor(
        k.invalid,
        `The API key this ${k.noun} was created from has been revoked`,
        subject,
        k.headers,
      );
    }
    // A session dies with its parent key: once every secret of the key is past its deadline, so is the session.
    if (!(await keys.hasLiveSecret(token.key_id, now))) {
      throw deniedFor(
        k.invalid,
        `The API key this ${k.noun} was created from has expired`,
        subject,
        k.headers,
      );
    }
    return {
      kind: 'session_token',
      orgId: token.org_id,
      keyId: token.key_id,
      tokenId: token.id,
      cookie: kind === 'browser',
      scopes: new Set(JSON.parse(token.scopes) as Scope[]),
      limits: limitsFor(token.plan, { rpm: token.rate_limit_rpm, burst: token.rate_limit_burst }),
      isDemo: token.is_demo === 1,
    };
  }

  /** A new session's scopes: the key's minus TOKEN_FORBIDDEN_SCOPES, or a requested subset of those. */
  function sessionScopes(principal: Principal, requested: string[] | undefined, noun: string): Scope[] {
    if (principal.kind !== 'api_key')
      throw forbidden('insufficient_permissions', `A session token cannot create a ${noun}; use an API key`);
    const base = [...principal.scopes].filter((s) => !TOKEN_FORBIDDEN_SCOPES.includes(s));
    if (requested === undefined) return base;
    requested.forEach((s, i) => {
      if (!isScope(s)) throw unprocessable('invalid_scope', `Unknown scope '${s}'`, `scopes[${i}]`);
      if (!base.includes(s))
        throw unprocessable('invalid_scope', `A ${noun} cannot carry '${s}'`, `scopes[${i}]`);
    });
    return [...new Set(requested)] as Scope[];
  }

  async function createSession(principal: Principal, scopes: Scope[], kind: SessionKind) {
    const now = clock.now();
    const secret = generateSecret(SESSION_KINDS[kind].prefix);
    const row = {
      hash: hashSecret(secret),
      id: ids('tok'),
      org_id: principal.orgId,
      key_id: principal.keyId,
      scopes: JSON.stringify(scopes),
      created_at: now,
      expires_at: now + SESSION_TOKEN_TTL_MS,
      kind,
    };
    await audited(
      audit,
      (trx) => tokens.insert(row, trx),
      () => ({
        orgId: principal.orgId,
        action: kind === 'token' ? 'session_token.created' : 'browser_session.created',
        resource: { type: kind === 'token' ? 'session_token' : 'browser_session', id: row.id },
        changes: ['scopes'],
        statusCode: 201,
      }),
    );
    return { secret, id: row.id, expiresAt: row.expires_at };
  }

  return {
    /** Forget cached lookups of a key (after revoke or rotate). */
    invalidate(keyId: string) {
      for (const [hash, entry] of cache) if (entry.row.key_id === keyId) cache.delete(hash);
    },

    /**
     * The principal of an `Authorization` header. Synchronous (a value, or a thrown 401) for a
     * recently seen API key; a promise when it has to ask the database.
     */
    authenticate(authorization: string | undefined): Principal | Promise<Principal> {
      if (authorization === undefined || authorization === '') throw missingKey();
      const match = /^Bearer ([\x21-\x7e]+)$/.exec(authorization);
      if (!match)
        throw unauthorized('invalid_authorization_header', 'Authorization header must be "Bearer <key>"');
      const secret = match[1];
      if (secret === DEMO_API_KEY && !demo) throw demoDisabled();
      const now = clock.now();
      if (secret.startsWith(SESSION_TOKEN_PREFIX)) return resolveSession(secret, 'token', now);
      const row = resolveKey(secret, now);
      return row instanceof Promise ? row.then(principalOf) : principalOf(row);
    },

    /**
     * The principal of an API key by id, for work done later on its behalf (a schedule's tick);
     * null once the key is revoked or gone.
     */
    async principalForKey(keyId: string): Promise<Principal | null> {
      const row = await keys.findById(keyId);
      if (!row || row.revoked_at !== null) return null;
      return principalOf({ ...row, hash: '', expires_at: null });
    },

    /**
     * A request with no Authorization header but a Cookie header: the browser session cookie, or the
     * usual 401 missing_api_key when the cookie is not there. Cross-site checks are the gateway's.
     */
    async authenticateCookie(cookieHeader: string): Promise<Principal> {
      const secret = readSessionCookie(cookieHeader);
      if (secret === undefined) throw missingKey();
      if (secret.startsWith(USER_SESSION_PREFIX) && resolveUserSession)
        return resolveUserSession(secret, clock.now(), SESSION_KINDS.browser.headers);
      return resolveSession(secret, 'browser', clock.now());
    },

    /** Mints a 1 h session token from an API key; scopes may only narrow the key's. */
    async mintToken(principal: Principal, requested: string[] | undefined) {
      const scopes = sessionScopes(principal, requested, 'token');
      const { secret, id, expiresAt } = await createSession(principal, scopes, 'token');
      return { id, object: 'session_token' as const, token: secret, scopes, expires_at: iso(expiresAt) };
    },

    /**
     * Starts a 1 h browser session from an API key (the "web login"). The secret goes only into the
     * cookie the route sets; the body describes the session.
     */
    async createBrowserSession(principal: Principal, requested: string[] | undefined) {
      const scopes = sessionScopes(principal, requested, 'browser session');
      const { secret, id, expiresAt } = await createSession(principal, scopes, 'browser');
      return {
        secret,
        maxAgeSeconds: Math.floor(SESSION_TOKEN_TTL_MS / 1000),
        session: { id, object: 'browser_session' as const, scopes, expires_at: iso(expiresAt) },
      };
    },

    /** Logout: the cookie's session is deleted, so its secret is 401 from now on. */
    async endBrowserSession(principal: Principal) {
      if (!principal.cookie || principal.tokenId === null)
        throw forbidden(
          'insufficient_permissions',
          'Only a browser session (the session cookie) can log out',
        );
      const id = principal.tokenId;
      await audited(
        audit,
        (trx) => tokens.remove(principal.orgId, id, 'browser', trx),
        () => ({
          orgId: principal.orgId,
          action: 'browser_session.revoked',
          resource: { type: 'browser_session', id },
          statusCode: 204,
        }),
      );
    },
  };
}
export type AuthService = ReturnType<typeof createAuthService>;

/**
 * People and their web logins.
 *
 * - Login checks the throttle (throttle.ts) first, then the password — an unknown email against a
 *   dummy hash, so it answers the same 401 in the same time as a wrong password — and starts a
 *   session whose secret (`us-airmy-…`) only ever travels in the `__Host-airmy_session` cookie.
 * - A session dies idle (no request for AIRMY_SESSION_IDLE_TIMEOUT_S; `last_seen_at` is written at
 *   most once a minute, so idle expiry is exact to that minute) or at its absolute lifetime
 *   (AIRMY_SESSION_MAX_AGE_S), whichever comes first. It carries its user's role as scopes, read
 *   from the user's row on every request: a role change or removal applies at once (and ends the
 *   user's sessions anyway, see members/service.ts).
 * - Sudo mode: entering the password (login, POST /auth/reauthenticate) opens a 10-minute window in
 *   which the session may manage API keys (the gateway checks routes marked `sudo`).
 */

import { type AuditContext, type AuditService, audited } from '../audit/service.ts';
import type { Principal } from '../auth/principal.ts';
import { isScope } from '../auth/scopes.ts';
import {
  generateSecret,
  hashesEqual,
  hashSecret,
  isWellFormed,
  USER_SESSION_PREFIX,
} from '../auth/secrets.ts';
import type { Clock } from '../clock.ts';
import { iso } from '../clock.ts';
import { ApiError, ErrorTypes, forbidden, notFound, unauthorized, unprocessable } from '../errors.ts';
import type { IdFactory } from '../ids.ts';
import type { PageParams } from '../infra/db/paginate.ts';
import type { UserRow, UserSessionRow } from '../infra/db/schema.ts';
import { limitsFor } from '../organizations/plans.ts';
import type { OrganizationService } from '../organizations/service.ts';
import { checkPasswordStrength, createDummyHash, hashPassword, verifyPassword } from './password.ts';
import { isRole, ROLE_SCOPES, type Role, Roles, scopesOf } from './roles.ts';
import type { UserStore } from './store.ts';
import type { LoginThrottle } from './throttle.ts';

export const SUDO_WINDOW_MS = 10 * 60_000;
const TOUCH_EVERY_MS = 60_000;

export interface UserServiceDeps {
  store: UserStore;
  throttle: LoginThrottle;
  organizations: OrganizationService;
  ids: IdFactory;
  clock: Clock;
  audit: AuditService;
  /** AIRMY_SESSION_IDLE_TIMEOUT_S in ms */
  idleTimeoutMs: number;
  /** AIRMY_SESSION_MAX_AGE_S in ms */
  maxAgeMs: number;
}

/** Who is logging in from where: the audit entry's context and the sessions list's columns. */
export interface RequestMeta {
  ip: string;
  userAgent: string | null;
  requestId: string | null;
}

export const normalizeEmail = (email: string) => email.trim().toLowerCase();

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
export function checkEmail(email: string, param = 'email') {
  const e = normalizeEmail(email);
  if (!EMAIL.test(e) || e.length > 254)
    throw unprocessable('invalid_email', `'${email.slice(0, 80)}' is not an email address`, param);
  return e;
}

export function toUser(row: UserRow) {
  return {
    object: 'user' as const,
    id: row.id,
    email: row.email,
    name: row.name,
    role: row.role as Role,
    organization_id: row.org_id,
    created_at: iso(row.created_at)!,
  };
}

export const emailTaken = (email: string) =>
  new ApiError(409, ErrorTypes.conflict, 'email_taken', `A user with email ${email} already exists`);
/** The unique index on users.email decides a race between two creations of the same email. */
export const uniqueEmail = (email: string) => (err: unknown) => {
  if (/unique|duplicate/i.test(String((err as Error)?.message))) throw emailTaken(email);
  throw err;
};

const invalidCredentials = () => unauthorized('invalid_credentials', 'Incorrect email or password.');
const throttled = (retryAfterMs: number) => {
  const seconds = Math.max(1, Math.ceil(retryAfterMs / 1000));
  return new ApiError(
    429,
    ErrorTypes.rate_limit,
    'login_throttled',
    `Too many failed logins. Retry after ${seconds} s.`,
    { headers: { 'retry-after': String(seconds) } },
  );
};
/** Only a person's web session has a password, sessions of its own, a sudo window. */
const userOnly = (principal: Principal) => {
  if (principal.kind !== 'user' || !principal.user)
    throw forbidden(
      'user_session_required',
      'Only a user logged in with a password (POST /v2/auth/login) can do this',
    );
  return principal.user;
};

export function createUserService(deps: UserServiceDeps) {
  const { store, throttle, ids, clock, audit, idleTimeoutMs, maxAgeMs } = deps;
  const dummyHash = createDummyHash();
  const contextOf = (meta: RequestMeta, userId: string | null): AuditContext => ({
    actor: { type: 'user', id: userId },
    requestId: meta.requestId,
    ip: meta.ip,
    userAgent: meta.userAgent,
  });

  function sessionView(
    row: Pick<UserSessionRow, 'id' | 'expires_at' | 'last_seen_at' | 'reauthenticated_until'>,
  ) {
    return {
      id: row.id,
      expires_at: iso(row.expires_at)!,
      idle_expires_at: iso(Math.min(row.expires_at, row.last_seen_at + idleTimeoutMs))!,
      reauthenticated_until: iso(row.reauthenticated_until),
    };
  }

  /** Starts a web session for `user`; its secret goes only into the cookie the route sets. */
  async function startSession(user: UserRow, meta: RequestMeta, action: string) {
    const now = clock.now();
    const secret = generateSecret(USER_SESSION_PREFIX);
    const row: UserSessionRow = {
      id: ids('sess'),
      hash: hashSecret(secret),
      user_id: user.id,
      org_id: user.org_id,
      created_at: now,
      last_seen_at: now,
      expires_at: now + maxAgeMs,
      reauthenticated_until: now + SUDO_WINDOW_MS,
      user_agent: meta.userAgent?.slice(0, 512) ?? null,
      ip: meta.ip,
    };
    await audit.runWith(contextOf(meta, user.id), () =>
      audited(
        audit,
        (trx) => store.insertSession(row, trx),
        () => ({
          orgId: user.org_id,
          action,
          resource: { type: 'user_session', id: row.id },
          statusCode: 200,
        }),
      ),
    );
    return {
      secret,
      maxAgeSeconds: Math.floor(maxAgeMs / 1000),
      session: {
        object: 'user_session' as const,
        ...sessionView(row),
        user: toUser(user),
        scopes: [...ROLE_SCOPES[user.role as Role]],
      },
    };
  }

  /**
   * A password entered in a session (password change, sudo): throttled like a login, so a stolen
   * cookie cannot be used to guess the password.
   */
  async function checkPassword(principal: Principal, password: string, meta: RequestMeta, message: string) {
    const me = userOnly(principal);
    const user = await store.user(principal.orgId, me.id);
    if (!user) throw unauthorized('invalid_session', 'Invalid browser session');
    const now = clock.now();
    const known = await throttle.isKnownAddress(user.id, meta.ip, now);
    const check = await throttle.check(user.email, meta.ip, known, now);
    if (check.retryAfterMs > 0) throw throttled(check.retryAfterMs);
    if (!(await verifyPassword(password, user.password_hash))) {
      await throttle.fail(user.email, meta.ip, now);
      throw forbidden('invalid_credentials', message);
    }
    return { me, user };
  }

  return {
    idleTimeoutMs,
    maxAgeMs,
    startSession,

    /** A validated user row with its password hashed, not yet stored (an invitation stores it in its transaction). */
    async newUser(input: { orgId: string; email: string; name?: string; role: string; password: string }) {
      const email = checkEmail(input.email);
      if (!isRole(input.role))
        throw unprocessable('invalid_role', `Role must be one of ${Roles.join(', ')}`, 'role');
      checkPasswordStrength(input.password);
      await deps.organizations.get(input.orgId);
      if (await store.userByEmail(email)) throw emailTaken(email);
      const now = clock.now();
      const row: UserRow = {
        id: ids('usr'),
        org_id: input.orgId,
        email,
        name: (input.name ?? '').trim().slice(0, 200) || email.split('@')[0],
        role: input.role,
        password_hash: await hashPassword(input.password),
        created_at: now,
        password_changed_at: now,
      };
      return row;
    },

    /** A new user (the CLI's `airmy users create`). */
    async create(input: { orgId: string; email: string; name?: string; role: string; password: string }) {
      const row = await this.newUser(input);
      await audited(
        audit,
        (trx) => store.insertUser(row, trx).catch(uniqueEmail(row.email)),
        () => ({
          orgId: row.org_id,
          action: 'user.created',
          resource: { type: 'user', id: row.id },
          changes: ['email', 'name', 'role'],
          statusCode: 201,
        }),
      );
      return row;
    },

    list: (orgId: string) => store.allUsers(orgId),

    async login(input: { email: string; password: string }, meta: RequestMeta) {
      const email = normalizeEmail(input.email);
      const now = clock.now();
      const user = await store.userByEmail(email);
      const known = user ? await throttle.isKnownAddress(user.id, meta.ip, now) : false;
      const check = await throttle.check(email, meta.ip, known, now);
      if (check.retryAfterMs > 0) throw throttled(check.retryAfterMs);
      const ok = await verifyPassword(input.password, user?.password_hash ?? (await dummyHash()));
      if (!user || !ok) {
        const outcome = await throttle.fail(email, meta.ip, now);
        const ctx = contextOf(meta, user?.id ?? null);
        const orgId = user?.org_id ?? null;
        await audit.recordRequest(
          { orgId, action: 'user.login_failed', resource: user ? { type: 'user', id: user.id } : null },
          'denied',
          401,
          ctx,
        );
        for (const lock of outcome.locked)
          await audit.recordRequest(
            {
              orgId,
              action: 'user.locked_out',
              resource: user ? { type: 'user', id: user.id } : null,
              changes: [lock.subject.split(':')[0]],
            },
            'denied',
            429,
            ctx,
          );
        throw invalidCredentials();
      }
      await throttle.succeed(user.id, email, meta.ip, now);
      return startSession(user, meta, 'user.logged_in');
    },

    /** The principal of a `us-airmy-` cookie; dead sessions are 401 and the cookie is cleared. */
    async resolveSession(
      secret: string,
      now: number,
      clearCookie: Record<string, string>,
    ): Promise<Principal> {
      const invalid = (code: string, message: string) =>
        new ApiError(401, ErrorTypes.authentication, code, message, { headers: clearCookie });
      if (!isWellFormed(secret, USER_SESSION_PREFIX))
        throw invalid('invalid_session', 'Invalid browser session');
      const hash = hashSecret(secret);
      const row = await store.sessionByHash(hash);
      if (!row || !hashesEqual(row.hash, hash) || !isRole(row.role))
        throw invalid('invalid_session', 'Invalid browser session');
      const lastSeen = Number(row.last_seen_at);
      if (Number(row.expires_at) <= now || lastSeen + idleTimeoutMs <= now) {
        await store.deleteSession(row.user_id, row.id);
        throw new ApiError(
          401,
          ErrorTypes.authentication,
          'session_expired',
          'Your session has expired; log in again',
          {
            headers: clearCookie,
            cause: { auditSubject: { orgId: row.org_id, actor: { type: 'user', id: row.user_id } } },
          },
        );
      }
      if (now - lastSeen >= TOUCH_EVERY_MS) await store.touchSession(row.id, now);
      return {
        kind: 'user',
        orgId: row.org_id,
        keyId: row.user_id,
        tokenId: row.id,
        cookie: true,
        scopes: scopesOf(row.role),
        limits: limitsFor(row.plan, { rpm: row.rate_limit_rpm, burst: row.rate_limit_burst }),
        isDemo: false,
        user: {
          id: row.user_id,
          role: row.role,
          sessionId: row.id,
          reauthenticatedUntil: row.reauthenticated_until === null ? null : Number(row.reauthenticated_until),
        },
      };
    },

    /**
     * The principal of a user by id, for work done later on their behalf (a schedule created from
     * a web session fires with the user's current role); null once the user is removed.
     */
    async principalForUser(userId: string): Promise<Principal | null> {
      const row = await store.userWithOrg(userId);
      if (!row || !isRole(row.role)) return null;
      return {
        kind: 'user',
        orgId: row.org_id,
        keyId: row.id,
        tokenId: null,
        cookie: false,
        scopes: scopesOf(row.role),
        limits: limitsFor(row.plan, { rpm: row.rate_limit_rpm, burst: row.rate_limit_burst }),
        isDemo: false,
      };
    },

    /** GET /auth/me: who the dashboard is talking to, and what it may show them. */
    async me(principal: Principal) {
      const org = await deps.organizations.get(principal.orgId);
      const organization = { id: org.id, name: org.name, plan: org.plan };
      const scopes = [...principal.scopes].filter(isScope);
      if (principal.kind !== 'user' || !principal.user)
        return {
          object: 'principal' as const,
          kind: principal.kind === 'api_key' ? ('api_key' as const) : ('session' as const),
          scopes,
          organization,
        };
      const user = await store.user(principal.orgId, principal.user.id);
      const session = await store.session(principal.user.id, principal.user.sessionId);
      if (!user || !session) throw unauthorized('invalid_session', 'Invalid browser session');
      return { ...toUser(user), scopes, organization, session: sessionView(session) };
    },

    /** An API key or key-minted session has no web sessions: its list is empty, its ids unknown. */
    async listSessions(principal: Principal, page: PageParams) {
      if (!principal.user) return { has_more: false, data: [] };
      const me = principal.user;
      const { rows, has_more } = await store.sessionsOf(me.id, page);
      return {
        has_more,
        data: rows.map((row) => ({
          object: 'user_session' as const,
          ...sessionView(row),
          current: row.id === me.sessionId,
          user_agent: row.user_agent,
          ip: row.ip,
          created_at: iso(row.created_at)!,
          last_seen_at: iso(row.last_seen_at)!,
        })),
      };
    },

    async revokeSession(principal: Principal, id: string) {
      if (!principal.user) throw notFound('session', id, 'id');
      const me = principal.user;
      const removed = await audited(
        audit,
        (trx) => store.deleteSession(me.id, id, trx),
        (n) =>
          n === 0
            ? null
            : {
                orgId: principal.orgId,
                action: 'user_session.revoked',
                resource: { type: 'user_session', id },
                statusCode: 204,
              },
      );
      if (removed === 0) throw notFound('session', id, 'id');
    },

    /** DELETE /auth/session for a user: the session is deleted, its cookie is 401 from now on. */
    async logout(principal: Principal) {
      const me = userOnly(principal);
      await audited(
        audit,
        (trx) => store.deleteSession(me.id, me.sessionId, trx),
        () => ({
          orgId: principal.orgId,
          action: 'user.logged_out',
          resource: { type: 'user_session', id: me.sessionId },
          statusCode: 204,
        }),
      );
    },

    /** A new password; every other session of the user ends (this one stays logged in). */
    async changePassword(
      principal: Principal,
      input: { current_password: string; new_password: string },
      meta: RequestMeta,
    ) {
      userOnly(principal);
      checkPasswordStrength(input.new_password, 'new_password');
      const { me } = await checkPassword(
        principal,
        input.current_password,
        meta,
        'The current password is incorrect.',
      );
      const hash = await hashPassword(input.new_password);
      const now = clock.now();
      await audited(
        audit,
        async (trx) => {
          await store.setPassword(me.id, hash, now, trx);
          await store.deleteSessionsOf(me.id, me.sessionId, trx);
        },
        () => ({
          orgId: principal.orgId,
          action: 'user.password_changed',
          resource: { type: 'user', id: me.id },
          changes: ['password'],
          statusCode: 204,
        }),
      );
    },

    /** Sudo mode: the password again opens a 10-minute window for key management. */
    async reauthenticate(principal: Principal, password: string, meta: RequestMeta) {
      const { me } = await checkPassword(principal, password, meta, 'Incorrect password.');
      const now = clock.now();
      const until = now + SUDO_WINDOW_MS;
      await store.setReauthenticated(me.sessionId, until, now);
      return { object: 'reauthentication' as const, reauthenticated_until: iso(until)! };
    },

    /** Retention: dead sessions (see prune in resources.ts). */
    prune: async (now: number) => {
      await store.deleteExpiredSessions(now, idleTimeoutMs);
      await store.deleteExpiredInvitations(now);
      await throttle.prune(now);
    },
  };
}
export type UserService = ReturnType<typeof createUserService>;

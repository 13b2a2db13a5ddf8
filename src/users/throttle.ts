/**
 * Login throttling, per account and per address, designed so that an attacker can slow a real user
 * down but never lock them out for good (docs/users.md has the reasoning):
 *
 * - Per account (`account:<email>`, also for emails that do not exist, so a lockout reveals
 *   nothing): 10 failures within 15 min lock the account for 15 min. The lock is time-boxed and
 *   never escalates, and it does not apply to an address that logged in to that account in the
 *   last 30 days: the real user at their usual place keeps logging in while an attacker elsewhere
 *   keeps hitting the lock.
 * - Per address (`address:<ip>`, across every account): 30 failures within 15 min lock the address
 *   for 1 min, then 2, 4, 8 … up to 24 h for each further lockout; the escalation resets after 24 h
 *   without a failure. This is what stops one address guessing across many accounts (and what
 *   keeps the exempt "known address" from guessing forever).
 *
 * Each failure is one upsert with RETURNING (`failures = failures + 1`), so concurrent failures are
 * counted exactly on SQLite and Postgres, and a lock is set by a conditional update that only one
 * of them wins (that one is audited as the lockout). A success clears the account's counter, never
 * the address's: a valid login to an attacker's own account must not buy more guesses elsewhere.
 */
import { type Kysely, sql } from 'kysely';
import type { Database, LoginThrottleRow } from '../infra/db/schema.ts';

export const WINDOW_MS = 15 * 60_000;
export const ACCOUNT_MAX_FAILURES = 10;
export const ACCOUNT_LOCK_MS = 15 * 60_000;
export const ADDRESS_MAX_FAILURES = 30;
export const ADDRESS_BASE_LOCK_MS = 60_000;
export const ADDRESS_MAX_LOCK_MS = 24 * 60 * 60_000;
/** an address's lockout count starts over after this long without a failure */
export const ESCALATION_RESET_MS = 24 * 60 * 60_000;
/** a successful login exempts its address from the account's lockout for this long */
export const KNOWN_ADDRESS_MS = 30 * 24 * 60 * 60_000;

export const accountSubject = (email: string) => `account:${email}`;
export const addressSubject = (ip: string) => `address:${ip}`;

const addressLockMs = (lockouts: number) =>
  Math.min(ADDRESS_MAX_LOCK_MS, ADDRESS_BASE_LOCK_MS * 2 ** Math.min(lockouts, 30));

export interface ThrottleCheck {
  /** ms until the login may be tried again; 0 = not locked */
  retryAfterMs: number;
}

export interface FailureOutcome {
  /** which subjects this failure locked (at most one caller per lock sees it) */
  locked: Array<{ subject: string; until: number }>;
}

export function createLoginThrottle(db: Kysely<Database>) {
  async function bump(subject: string, now: number) {
    const rows = await sql<Pick<LoginThrottleRow, 'failures' | 'locked_until' | 'lockouts'>>`
INSERT INTO login_throttle (subject, failures, window_started_at, locked_until, lockouts, updated_at)
VALUES (${subject}, 1, ${now}, NULL, 0, ${now})
ON CONFLICT (subject) DO UPDATE SET
  failures = CASE WHEN login_throttle.window_started_at <= ${now - WINDOW_MS}
    OR (login_throttle.locked_until IS NOT NULL AND login_throttle.locked_until <= ${now})
    THEN 1 ELSE login_throttle.failures + 1 END,
  window_started_at = CASE WHEN login_throttle.window_started_at <= ${now - WINDOW_MS}
    OR (login_throttle.locked_until IS NOT NULL AND login_throttle.locked_until <= ${now})
    THEN ${now} ELSE login_throttle.window_started_at END,
  locked_until = CASE WHEN login_throttle.locked_until IS NOT NULL AND login_throttle.locked_until <= ${now}
    THEN NULL ELSE login_throttle.locked_until END,
  lockouts = CASE WHEN login_throttle.updated_at <= ${now - ESCALATION_RESET_MS}
    THEN 0 ELSE login_throttle.lockouts END,
  updated_at = ${now}
RETURNING failures, locked_until, lockouts`.execute(db);
    const row = rows.rows[0];
    return { failures: Number(row.failures), lockouts: Number(row.lockouts) };
  }

  /** Sets the lock unless one is already set: only one of several concurrent failures wins. */
  async function lock(subject: string, until: number, now: number) {
    const result = await db
      .updateTable('login_throttle')
      .set((eb) => ({ locked_until: until, lockouts: eb('lockouts', '+', 1) }))
      .where('subject', '=', subject)
      .where((eb) => eb.or([eb('locked_until', 'is', null), eb('locked_until', '<=', now)]))
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  return {
    /** Whether this login may be tried now. `knownAddress`: the address logged in to the account before. */
    async check(email: string, ip: string, knownAddress: boolean, now: number): Promise<ThrottleCheck> {
      const subjects = knownAddress ? [addressSubject(ip)] : [addressSubject(ip), accountSubject(email)];
      const rows = await db
        .selectFrom('login_throttle')
        .select(['locked_until'])
        .where('subject', 'in', subjects)
        .execute();
      const until = Math.max(0, ...rows.map((r) => Number(r.locked_until ?? 0)));
      return { retryAfterMs: until > now ? until - now : 0 };
    },

    /** Counts a failed login against the account and the address; locks whichever crossed its limit. */
    async fail(email: string, ip: string, now: number): Promise<FailureOutcome> {
      const locked: FailureOutcome['locked'] = [];
      const account = accountSubject(email);
      const address = addressSubject(ip);
      const a = await bump(account, now);
      if (a.failures >= ACCOUNT_MAX_FAILURES && (await lock(account, now + ACCOUNT_LOCK_MS, now)))
        locked.push({ subject: account, until: now + ACCOUNT_LOCK_MS });
      const b = await bump(address, now);
      if (b.failures >= ADDRESS_MAX_FAILURES) {
        const until = now + addressLockMs(b.lockouts);
        if (await lock(address, until, now)) locked.push({ subject: address, until });
      }
      return { locked };
    },

    /** A successful login: the account's counter starts over and the address becomes known. */
    async succeed(userId: string, email: string, ip: string, now: number) {
      await db.deleteFrom('login_throttle').where('subject', '=', accountSubject(email)).execute();
      await db
        .insertInto('login_known_addresses')
        .values({ user_id: userId, ip, last_success_at: now })
        .onConflict((oc) => oc.columns(['user_id', 'ip']).doUpdateSet({ last_success_at: now }))
        .execute();
    },

    async isKnownAddress(userId: string, ip: string, now: number) {
      const row = await db
        .selectFrom('login_known_addresses')
        .select('last_success_at')
        .where('user_id', '=', userId)
        .where('ip', '=', ip)
        .executeTakeFirst();
      return row !== undefined && Number(row.last_success_at) > now - KNOWN_ADDRESS_MS;
    },

    /** Retention: counters idle past every window and lock, and addresses no longer "known". */
    async prune(now: number) {
      await db
        .deleteFrom('login_throttle')
        .where('updated_at', '<', now - ESCALATION_RESET_MS - ADDRESS_MAX_LOCK_MS)
        .execute();
      await db
        .deleteFrom('login_known_addresses')
        .where('last_success_at', '<', now - KNOWN_ADDRESS_MS)
        .execute();
    },
  };
}
export type LoginThrottle = ReturnType<typeof createLoginThrottle>;

import type { Kysely } from 'kysely';
import { type PageParams, paginate } from '../infra/db/paginate.ts';
import type { Database, InvitationRow, UserRow, UserSessionRow } from '../infra/db/schema.ts';

/** Users, their web sessions and invitations: one function per SQL operation. */
export function createUserStore(db: Kysely<Database>) {
  return {
    insertUser: (row: UserRow, trx: Kysely<Database> = db) => trx.insertInto('users').values(row).execute(),
    /** A user with what a principal needs, by id alone (work done later on their behalf). */
    userWithOrg: (id: string) =>
      db
        .selectFrom('users as u')
        .innerJoin('organizations as o', 'o.id', 'u.org_id')
        .select(['u.id', 'u.org_id', 'u.role', 'o.plan', 'o.rate_limit_rpm', 'o.rate_limit_burst'])
        .where('u.id', '=', id)
        .executeTakeFirst(),
    userByEmail: (email: string) =>
      db.selectFrom('users').selectAll().where('email', '=', email).executeTakeFirst(),
    user: (orgId: string, id: string, trx: Kysely<Database> = db) =>
      trx.selectFrom('users').selectAll().where('org_id', '=', orgId).where('id', '=', id).executeTakeFirst(),
    listUsers: (orgId: string, page: PageParams) =>
      paginate(db.selectFrom('users').selectAll().where('org_id', '=', orgId), page),
    allUsers: (orgId: string) =>
      db.selectFrom('users').selectAll().where('org_id', '=', orgId).orderBy('id', 'asc').execute(),
    countOwners: async (orgId: string, trx: Kysely<Database> = db) =>
      Number(
        (
          await trx
            .selectFrom('users')
            .select((eb) => eb.fn.countAll<number>().as('n'))
            .where('org_id', '=', orgId)
            .where('role', '=', 'owner')
            .executeTakeFirstOrThrow()
        ).n,
      ),
    setRole: (orgId: string, id: string, role: string, trx: Kysely<Database> = db) =>
      trx.updateTable('users').set({ role }).where('org_id', '=', orgId).where('id', '=', id).execute(),
    setPassword: (id: string, hash: string, at: number, trx: Kysely<Database> = db) =>
      trx
        .updateTable('users')
        .set({ password_hash: hash, password_changed_at: at })
        .where('id', '=', id)
        .execute(),
    deleteUser: (orgId: string, id: string, trx: Kysely<Database> = db) =>
      trx.deleteFrom('users').where('org_id', '=', orgId).where('id', '=', id).execute(),

    insertSession: (row: UserSessionRow, trx: Kysely<Database> = db) =>
      trx.insertInto('user_sessions').values(row).execute(),
    /** A session with its user and organization: one indexed join, like the API key lookup. */
    sessionByHash: (hash: string) =>
      db
        .selectFrom('user_sessions as s')
        .innerJoin('users as u', 'u.id', 's.user_id')
        .innerJoin('organizations as o', 'o.id', 's.org_id')
        .select([
          's.id',
          's.hash',
          's.user_id',
          's.org_id',
          's.created_at',
          's.last_seen_at',
          's.expires_at',
          's.reauthenticated_until',
          'u.role',
          'o.plan',
          'o.rate_limit_rpm',
          'o.rate_limit_burst',
        ])
        .where('s.hash', '=', hash)
        .executeTakeFirst(),
    session: (userId: string, id: string) =>
      db
        .selectFrom('user_sessions')
        .selectAll()
        .where('user_id', '=', userId)
        .where('id', '=', id)
        .executeTakeFirst(),
    sessionsOf: (userId: string, page: PageParams) =>
      paginate(db.selectFrom('user_sessions').selectAll().where('user_id', '=', userId), page),
    touchSession: (id: string, at: number) =>
      db.updateTable('user_sessions').set({ last_seen_at: at }).where('id', '=', id).execute(),
    setReauthenticated: (id: string, until: number, at: number) =>
      db
        .updateTable('user_sessions')
        .set({ reauthenticated_until: until, last_seen_at: at })
        .where('id', '=', id)
        .execute(),
    deleteSession: async (userId: string, id: string, trx: Kysely<Database> = db) =>
      Number(
        (
          await trx
            .deleteFrom('user_sessions')
            .where('user_id', '=', userId)
            .where('id', '=', id)
            .executeTakeFirst()
        ).numDeletedRows,
      ),
    /** Ends every session of a user but `keep` (password change) or all of them (removal, role change). */
    deleteSessionsOf: (userId: string, keep: string | null, trx: Kysely<Database> = db) => {
      let q = trx.deleteFrom('user_sessions').where('user_id', '=', userId);
      if (keep !== null) q = q.where('id', '!=', keep);
      return q.execute();
    },
    /** Retention: sessions past their absolute lifetime or idle past the timeout. */
    deleteExpiredSessions: (now: number, idleMs: number) =>
      db
        .deleteFrom('user_sessions')
        .where((eb) => eb.or([eb('expires_at', '<=', now), eb('last_seen_at', '<=', now - idleMs)]))
        .execute(),

    insertInvitation: (row: InvitationRow, trx: Kysely<Database> = db) =>
      trx.insertInto('invitations').values(row).execute(),
    invitationByHash: (hash: string, trx: Kysely<Database> = db) =>
      trx.selectFrom('invitations').selectAll().where('token_hash', '=', hash).executeTakeFirst(),
    invitation: (orgId: string, id: string) =>
      db
        .selectFrom('invitations')
        .selectAll()
        .where('org_id', '=', orgId)
        .where('id', '=', id)
        .executeTakeFirst(),
    listInvitations: (orgId: string, page: PageParams) =>
      paginate(db.selectFrom('invitations').selectAll().where('org_id', '=', orgId), page),
    deleteInvitation: async (orgId: string, id: string, trx: Kysely<Database> = db) =>
      Number(
        (
          await trx
            .deleteFrom('invitations')
            .where('org_id', '=', orgId)
            .where('id', '=', id)
            .executeTakeFirst()
        ).numDeletedRows,
      ),
    deleteExpiredInvitations: (now: number) =>
      db.deleteFrom('invitations').where('expires_at', '<=', now).execute(),
  };
}
export type UserStore = ReturnType<typeof createUserStore>;

import type { Kysely } from 'kysely';
import type { Database, SessionTokenRow } from '../infra/db/schema.ts';

export type SessionKind = SessionTokenRow['kind'];

/** Session tokens (Bearer) and browser sessions (cookie) share one table, told apart by `kind`. */
export function createSessionTokenStore(db: Kysely<Database>) {
  return {
    insert: (row: SessionTokenRow, trx: Kysely<Database> = db) =>
      trx.insertInto('session_tokens').values(row).execute(),
    /** A token with its parent key and organization: one indexed join, like the key lookup. */
    findByHash: (hash: string, kind: SessionKind = 'token') =>
      db
        .selectFrom('session_tokens as t')
        .innerJoin('api_keys as k', 'k.id', 't.key_id')
        .innerJoin('organizations as o', 'o.id', 't.org_id')
        .select([
          't.hash',
          't.id',
          't.org_id',
          't.key_id',
          't.scopes',
          't.expires_at',
          'k.revoked_at as key_revoked_at',
          'k.is_demo',
          'o.plan',
          'o.rate_limit_rpm',
          'o.rate_limit_burst',
        ])
        .where('t.hash', '=', hash)
        .where('t.kind', '=', kind)
        .executeTakeFirst(),
    /** Ends a session at once (logout): its secret no longer resolves. */
    remove: async (orgId: string, id: string, kind: SessionKind, trx: Kysely<Database> = db) =>
      Number(
        (
          await trx
            .deleteFrom('session_tokens')
            .where('org_id', '=', orgId)
            .where('id', '=', id)
            .where('kind', '=', kind)
            .executeTakeFirst()
        ).numDeletedRows,
      ),
    deleteExpired: (before: number) =>
      db.deleteFrom('session_tokens').where('expires_at', '<', before).execute(),
  };
}
export type SessionTokenStore = ReturnType<typeof createSessionTokenStore>;

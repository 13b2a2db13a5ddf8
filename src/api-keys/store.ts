import type { Kysely } from 'kysely';
import { type PageParams, paginate } from '../infra/db/paginate.ts';
import type { ApiKeyRow, ApiKeySecretRow, Database } from '../infra/db/schema.ts';

export function createApiKeyStore(db: Kysely<Database>) {
  return {
    async insert(key: ApiKeyRow, secret: ApiKeySecretRow, within?: Kysely<Database>) {
      const write = async (trx: Kysely<Database>) => {
        await trx.insertInto('api_keys').values(key).execute();
        await trx.insertInto('api_key_secrets').values(secret).execute();
      };
      await (within ? write(within) : db.transaction().execute(write));
    },
    get: (orgId: string, id: string) =>
      db
        .selectFrom('api_keys')
        .selectAll()
        .where('org_id', '=', orgId)
        .where('id', '=', id)
        .executeTakeFirst(),
    list: (orgId: string, page: PageParams) =>
      paginate(db.selectFrom('api_keys').selectAll().where('org_id', '=', orgId), page),
    /** Adds the new secret and gives every older secret of the key a deadline, in one transaction. */
    async rotate(
      keyId: string,
      secret: ApiKeySecretRow,
      display: { prefix: string; last4: string },
      oldExpiresAt: number,
      within?: Kysely<Database>,
    ) {
      const write = async (trx: Kysely<Database>) => {
        await trx
          .updateTable('api_key_secrets')
          .set({ expires_at: oldExpiresAt })
          .where('key_id', '=', keyId)
          .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', oldExpiresAt)]))
          .execute();
        await trx.insertInto('api_key_secrets').values(secret).execute();
        await trx.updateTable('api_keys').set(display).where('id', '=', keyId).execute();
      };
      await (within ? write(within) : db.transaction().execute(write));
    },
    revoke: (keyId: string, at: number, trx: Kysely<Database> = db) =>
      trx
        .updateTable('api_keys')
        .set({ revoked_at: at })
        .where('id', '=', keyId)
        .where('revoked_at', 'is', null)
        .execute(),
    touch: (keyId: string, at: number) =>
      db.updateTable('api_keys').set({ last_used_at: at }).where('id', '=', keyId).execute(),
    hasLiveSecret: async (keyId: string, now: number) =>
      (await db
        .selectFrom('api_key_secrets')
        .select('hash')
        .where('key_id', '=', keyId)
        .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', now)]))
        .executeTakeFirst()) !== undefined,
    /** The authentication lookup: one indexed join from secret hash to key and organization. */
    findBySecretHash: (hash: string) =>
      db
        .selectFrom('api_key_secrets as s')
        .innerJoin('api_keys as k', 'k.id', 's.key_id')
        .innerJoin('organizations as o', 'o.id', 'k.org_id')
        .select([
          's.hash',
          's.expires_at',
          'k.id as key_id',
          'k.scopes',
          'k.revoked_at',
          'k.is_demo',
          'k.last_used_at',
          'o.id as org_id',
          'o.plan',
          'o.rate_limit_rpm',
          'o.rate_limit_burst',
        ])
        .where('s.hash', '=', hash)
        .executeTakeFirst(),
    /** A key by id with what a principal needs (no secret): for work done later on its behalf. */
    findById: (keyId: string) =>
      db
        .selectFrom('api_keys as k')
        .innerJoin('organizations as o', 'o.id', 'k.org_id')
        .select([
          'k.id as key_id',
          'k.scopes',
          'k.revoked_at',
          'k.is_demo',
          'k.last_used_at',
          'o.id as org_id',
          'o.plan',
          'o.rate_limit_rpm',
          'o.rate_limit_burst',
        ])
        .where('k.id', '=', keyId)
        .executeTakeFirst(),
  };
}
export type ApiKeyStore = ReturnType<typeof createApiKeyStore>;

import type { Kysely } from 'kysely';
import type { Database, IdempotencyRow } from '../../infra/db/schema.ts';

type Scope = Pick<IdempotencyRow, 'org_id' | 'method' | 'path' | 'key'>;

export function createIdempotencyStore(db: Kysely<Database>) {
  const where = (s: Scope) =>
    db
      .selectFrom('idempotency_keys')
      .selectAll()
      .where('org_id', '=', s.org_id)
      .where('method', '=', s.method)
      .where('path', '=', s.path)
      .where('key', '=', s.key);
  return {
    /** Claims the key atomically; false when a row (in flight or done) already holds it. */
    async claim(row: IdempotencyRow): Promise<boolean> {
      const result = await db
        .insertInto('idempotency_keys')
        .values(row)
        .onConflict((oc) => oc.columns(['org_id', 'method', 'path', 'key']).doNothing())
        .executeTakeFirst();
      return Number(result.numInsertedOrUpdatedRows ?? 0n) === 1;
    },
    get: (s: Scope) => where(s).executeTakeFirst(),
    complete: (s: Scope, status: number, body: string) =>
      db
        .updateTable('idempotency_keys')
        .set({ state: 'done', response_status: status, response_body: body })
        .where('org_id', '=', s.org_id)
        .where('method', '=', s.method)
        .where('path', '=', s.path)
        .where('key', '=', s.key)
        .execute(),
    release: (s: Scope) =>
      db
        .deleteFrom('idempotency_keys')
        .where('org_id', '=', s.org_id)
        .where('method', '=', s.method)
        .where('path', '=', s.path)
        .where('key', '=', s.key)
        .execute(),
    deleteExpired: (now: number) =>
      db.deleteFrom('idempotency_keys').where('expires_at', '<=', now).execute(),
  };
}
export type IdempotencyStore = ReturnType<typeof createIdempotencyStore>;

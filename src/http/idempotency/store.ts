/**
 * Idempotency keys and the answers stored under them. A stored answer can hold a secret shown once
 * (a new API key, a rotated one, a session token), so it is sealed at rest (AES-256-GCM, bound to
 * its key's scope): a database dump shows no answer in clear.
 */
import type { Kysely } from 'kysely';
import type { SecretBox } from '../../infra/crypto/secret-box.ts';
import type { Database, IdempotencyRow } from '../../infra/db/schema.ts';

type Scope = Pick<IdempotencyRow, 'org_id' | 'method' | 'path' | 'key'>;

const aadOf = (s: Scope) => `idempotency\u001f${s.org_id}\u001f${s.method}\u001f${s.path}\u001f${s.key}`;

export function createIdempotencyStore(db: Kysely<Database>, box: SecretBox) {
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
    async get(s: Scope) {
      const row = await where(s).executeTakeFirst();
      // answers stored before sealing (plain JSON) stay readable for their 24 h
      if (row?.response_body?.startsWith('v1.')) row.response_body = box.open(row.response_body, aadOf(s));
      return row;
    },
    complete: (s: Scope, status: number, body: string) =>
      db
        .updateTable('idempotency_keys')
        .set({ state: 'done', response_status: status, response_body: box.seal(body, aadOf(s)) })
        .where('org_id', '=', s.org_id)
        .where('method', '=', s.method)
        .where('path', '=', s.path)
        .where('key', '=', s.key)
        .execute(),
    /** Extends an in-flight claim's lease (its request is still alive). */
    renew: (s: Scope, leaseUntil: number) =>
      db
        .updateTable('idempotency_keys')
        .set({ lease_until: leaseUntil })
        .where('org_id', '=', s.org_id)
        .where('method', '=', s.method)
        .where('path', '=', s.path)
        .where('key', '=', s.key)
        .where('state', '=', 'in_flight')
        .execute(),
    /** Records what the request created (a run id), so a stale claim can be answered from it. */
    bind: (s: Scope, resourceId: string) =>
      db
        .updateTable('idempotency_keys')
        .set({ resource_id: resourceId })
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

import type { Kysely } from 'kysely';
import { type PageParams, paginate } from '../infra/db/paginate.ts';
import type { Database, GuardrailPolicyRow } from '../infra/db/schema.ts';

export function createGuardrailPolicyStore(db: Kysely<Database>) {
  const live = (orgId: string) =>
    db
      .selectFrom('guardrail_policies')
      .selectAll()
      .where('org_id', '=', orgId)
      .where('deleted_at', 'is', null);
  return {
    insert: (row: GuardrailPolicyRow, trx: Kysely<Database> = db) =>
      trx.insertInto('guardrail_policies').values(row).execute(),
    get: (orgId: string, id: string) => live(orgId).where('id', '=', id).executeTakeFirst(),
    byName: (orgId: string, name: string) => live(orgId).where('name', '=', name).executeTakeFirst(),
    list: (orgId: string, page: PageParams) => paginate(live(orgId), page),
    /** Optimistic: the update applies only to the version it was computed from. */
    update: async (row: GuardrailPolicyRow, fromVersion: number, trx: Kysely<Database> = db) => {
      const { id, org_id, created_at, ...changes } = row;
      const result = await trx
        .updateTable('guardrail_policies')
        .set(changes)
        .where('id', '=', id)
        .where('org_id', '=', org_id)
        .where('version', '=', fromVersion)
        .where('deleted_at', 'is', null)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },
    softDelete: async (orgId: string, id: string, at: number, trx: Kysely<Database> = db) => {
      const result = await trx
        .updateTable('guardrail_policies')
        .set({ deleted_at: at })
        .where('id', '=', id)
        .where('org_id', '=', orgId)
        .where('deleted_at', 'is', null)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },
  };
}
export type GuardrailPolicyStore = ReturnType<typeof createGuardrailPolicyStore>;

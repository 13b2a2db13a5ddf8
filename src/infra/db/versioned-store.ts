/**
 * The storage every user-defined, versioned, soft-deleted resource shares (agents, connectors,
 * guardrail policies): rows belong to an organization, a deleted row keeps its `deleted_at` and
 * disappears from reads, and an update applies only to the version it was computed from
 * (optimistic concurrency: the caller retries or answers 409 on false).
 */
import type { Kysely } from 'kysely';
import { type Page, type PageParams, paginate } from './paginate.ts';
import type { Database } from './schema.ts';

type VersionedTable = 'agents' | 'connectors' | 'guardrail_policies';

/** The columns every versioned table has; the others pass through untouched. */
interface Versioned {
  id: string;
  org_id: string;
  name: string;
  version: number;
  deleted_at: number | null;
  created_at: number;
  [column: string]: unknown;
}

export function createVersionedStore<T extends VersionedTable>(db: Kysely<Database>, table: T) {
  type Row = Database[T];
  // One table name chosen at run time: Kysely cannot type a query over a union of tables, so the
  // queries see only the shared columns and the rows are typed at this module's edge.
  const untyped = (k: Kysely<Database>) => k as unknown as Kysely<{ versioned: Versioned }>;
  const name = table as unknown as 'versioned';
  const live = (orgId: string) =>
    untyped(db).selectFrom(name).selectAll().where('org_id', '=', orgId).where('deleted_at', 'is', null);
  const changed = (r: { numUpdatedRows: bigint }) => Number(r.numUpdatedRows) === 1;

  return {
    insert: async (row: Row, trx: Kysely<Database> = db) => {
      await untyped(trx)
        .insertInto(name)
        .values(row as unknown as Versioned)
        .execute();
    },
    get: async (orgId: string, id: string) =>
      (await live(orgId).where('id', '=', id).executeTakeFirst()) as Row | undefined,
    byName: async (orgId: string, value: string) =>
      (await live(orgId).where('name', '=', value).executeTakeFirst()) as Row | undefined,
    getMany: async (orgId: string, ids: readonly string[]): Promise<Row[]> =>
      ids.length === 0
        ? []
        : ((await live(orgId)
            .where('id', 'in', [...ids])
            .execute()) as unknown as Row[]),
    list: (orgId: string, page: PageParams) => paginate(live(orgId), page) as unknown as Promise<Page<Row>>,
    /** Optimistic: the update applies only to the version it was computed from. */
    update: async (row: Row, fromVersion: number, trx: Kysely<Database> = db) => {
      const { id, org_id, created_at: _created, ...changes } = row as unknown as Versioned;
      const result = await untyped(trx)
        .updateTable(name)
        .set(changes)
        .where('id', '=', id)
        .where('org_id', '=', org_id)
        .where('version', '=', fromVersion)
        .where('deleted_at', 'is', null)
        .executeTakeFirst();
      return changed(result);
    },
    softDelete: async (orgId: string, id: string, at: number, trx: Kysely<Database> = db) => {
      const result = await untyped(trx)
        .updateTable(name)
        .set({ deleted_at: at })
        .where('id', '=', id)
        .where('org_id', '=', orgId)
        .where('deleted_at', 'is', null)
        .executeTakeFirst();
      return changed(result);
    },
  };
}

import type { Kysely } from 'kysely';
import type { Db } from '../infra/db/db.ts';
import { type PageParams, paginate } from '../infra/db/paginate.ts';
import type { AuditLogRow, Database } from '../infra/db/schema.ts';
import { type ChainContent, entryHash, GENESIS } from './chain.ts';

export interface AuditFilters {
  action?: string;
  actor_id?: string;
  resource_type?: string;
  resource_id?: string;
  outcome?: string;
  from?: number;
  to?: number;
}

export type NewAuditRow = Omit<AuditLogRow, 'seq' | 'prev_hash' | 'hash'>;

export function createAuditStore(db: Db) {
  const k = db.kysely;
  return {
    /**
     * Appends to the org's chain inside the caller's transaction. The head row is locked first
     * (Postgres: SELECT … FOR UPDATE; SQLite has one writer), so concurrent appends to one org
     * queue up and never fork the chain; other orgs' chains are not blocked.
     */
    async append(trx: Kysely<Database>, entry: NewAuditRow): Promise<AuditLogRow> {
      await trx
        .insertInto('audit_heads')
        .values({ org_id: entry.org_id, seq: 0, hash: GENESIS, updated_at: entry.created_at })
        .onConflict((oc) => oc.column('org_id').doNothing())
        .execute();
      let q = trx.selectFrom('audit_heads').select(['seq', 'hash']).where('org_id', '=', entry.org_id);
      if (db.dialect === 'postgres') q = q.forUpdate();
      const head = await q.executeTakeFirstOrThrow();
      const content: ChainContent = { ...entry, seq: Number(head.seq) + 1, prev_hash: head.hash };
      const row: AuditLogRow = { ...content, hash: entryHash(content) };
      await trx.insertInto('audit_logs').values(row).execute();
      await trx
        .updateTable('audit_heads')
        .set({ seq: row.seq, hash: row.hash, updated_at: row.created_at })
        .where('org_id', '=', entry.org_id)
        .execute();
      return row;
    },
    list(orgId: string, f: AuditFilters, page: PageParams) {
      let q = k.selectFrom('audit_logs').selectAll().where('org_id', '=', orgId);
      if (f.action !== undefined) q = q.where('action', '=', f.action);
      if (f.actor_id !== undefined) q = q.where('actor_id', '=', f.actor_id);
      if (f.resource_type !== undefined) q = q.where('resource_type', '=', f.resource_type);
      if (f.resource_id !== undefined) q = q.where('resource_id', '=', f.resource_id);
      if (f.outcome !== undefined) q = q.where('outcome', '=', f.outcome);
      if (f.from !== undefined) q = q.where('created_at', '>=', f.from);
      if (f.to !== undefined) q = q.where('created_at', '<', f.to);
      return paginate(q, page);
    },
    /** The chain in seq order, a batch at a time (for verification). */
    chainAfter: (orgId: string, afterSeq: number, limit: number) =>
      k
        .selectFrom('audit_logs')
        .selectAll()
        .where('org_id', '=', orgId)
        .where('seq', '>', afterSeq)
        .orderBy('seq', 'asc')
        .limit(limit)
        .execute(),
    head: (orgId: string) =>
      k.selectFrom('audit_heads').select(['seq', 'hash']).where('org_id', '=', orgId).executeTakeFirst(),
    /** Every chain that exists (by head or by entry, so a lost head row is noticed too). */
    async chains(): Promise<string[]> {
      const heads = await k.selectFrom('audit_heads').select('org_id').execute();
      const logs = await k.selectFrom('audit_logs').select('org_id').distinct().execute();
      return [...new Set([...heads, ...logs].map((r) => r.org_id))].sort();
    },
  };
}
export type AuditStore = ReturnType<typeof createAuditStore>;

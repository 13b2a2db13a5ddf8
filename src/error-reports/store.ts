/**
 * The `error_reports` table: one row per fingerprint. `record` is one INSERT … ON CONFLICT DO UPDATE,
 * so any number of concurrent identical failures (on one node or several sharing a Postgres) end as
 * one row whose count is their number: the increment happens in the database, never read-modify-write.
 * The example (ids, message, stack) is the latest one's.
 */
import { type Kysely, sql } from 'kysely';
import type { Database, ErrorReportRow } from '../infra/db/schema.ts';

export function createErrorReportStore(kysely: Kysely<Database>) {
  return {
    /** Adds `row.count` occurrences to its fingerprint (creating it), in one statement. */
    async record(row: ErrorReportRow): Promise<void> {
      await kysely
        .insertInto('error_reports')
        .values(row)
        .onConflict((oc) =>
          oc.column('fingerprint').doUpdateSet({
            count: sql`error_reports.count + excluded.count`,
            first_seen: sql`CASE WHEN excluded.first_seen < error_reports.first_seen THEN excluded.first_seen ELSE error_reports.first_seen END`,
            last_seen: sql`CASE WHEN excluded.last_seen > error_reports.last_seen THEN excluded.last_seen ELSE error_reports.last_seen END`,
            message: sql`excluded.message`,
            stack: sql`excluded.stack`,
            status_code: sql`excluded.status_code`,
            request_id: sql`excluded.request_id`,
            run_id: sql`excluded.run_id`,
            job_id: sql`excluded.job_id`,
            org_id: sql`excluded.org_id`,
            trace_id: sql`excluded.trace_id`,
          }),
        )
        .execute();
    },
    /** Most recently seen first. */
    list({ limit = 50, kind }: { limit?: number; kind?: 'request' | 'job' } = {}) {
      let q = kysely.selectFrom('error_reports').selectAll();
      if (kind) q = q.where('kind', '=', kind);
      return q.orderBy('last_seen', 'desc').orderBy('fingerprint').limit(limit).execute();
    },
    /** By fingerprint, or by a unique prefix of one (at least 4 characters). */
    async get(fingerprint: string): Promise<ErrorReportRow | undefined> {
      const exact = await kysely
        .selectFrom('error_reports')
        .selectAll()
        .where('fingerprint', '=', fingerprint)
        .executeTakeFirst();
      if (exact || fingerprint.length < 4 || !/^[0-9a-f]+$/.test(fingerprint)) return exact;
      const rows = await kysely
        .selectFrom('error_reports')
        .selectAll()
        .where('fingerprint', 'like', `${fingerprint}%`)
        .limit(2)
        .execute();
      return rows.length === 1 ? rows[0] : undefined;
    },
  };
}
export type ErrorReportStore = ReturnType<typeof createErrorReportStore>;

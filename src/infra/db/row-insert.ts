/**
 * Multi-row INSERTs for the hottest writes (a run's row and its events), compiled once per table,
 * column list and row count rather than built by Kysely's query builder on every call: building
 * and compiling the AST of a 25-column insert, and then hashing its fresh SQL text for the
 * prepared-statement cache, costs more than SQLite takes to execute it. The SQL text is the same
 * string object every time, so the statement cache hits on a pointer compare.
 *
 * The column list is fixed (and an ON CONFLICT clause may follow the values): a column a row leaves undefined is written NULL (never the column's
 * DEFAULT), so only list columns that are nullable or always set.
 */
import { CompiledQuery, type Kysely } from 'kysely';
import type { DialectName } from './db.ts';
import type { Database } from './schema.ts';

/**
 * Rows per statement at most: more are written in several statements, so there are at most this
 * many distinct texts per table, each prepared once by the driver and reused.
 */
const ROWS_PER_STATEMENT = 32;

export function rowInserter<T extends keyof Database & string>(
  dialect: DialectName,
  table: T,
  columns: readonly (keyof Database[T] & string)[],
  /** SQL after the VALUES list (an ON CONFLICT clause), without parameters */
  suffix = '',
) {
  const texts: string[] = [];
  const head = `insert into "${table}" (${columns.map((c) => `"${c}"`).join(', ')}) values `;
  const textFor = (rows: number) => {
    const tuples: string[] = [];
    for (let r = 0; r < rows; r++) {
      const marks = columns.map((_, c) => (dialect === 'postgres' ? `$${r * columns.length + c + 1}` : '?'));
      tuples.push(`(${marks.join(', ')})`);
    }
    return head + tuples.join(', ') + suffix;
  };

  return async (trx: Kysely<Database>, rows: readonly Database[T][]): Promise<void> => {
    for (let from = 0; from < rows.length; from += ROWS_PER_STATEMENT) {
      const chunk = rows.slice(from, from + ROWS_PER_STATEMENT);
      texts[chunk.length] ??= textFor(chunk.length);
      const params: unknown[] = [];
      for (const row of chunk) {
        const values = row as unknown as Record<string, unknown>;
        for (const column of columns) params.push(values[column] ?? null);
      }
      await trx.executeQuery(CompiledQuery.raw(texts[chunk.length], params));
    }
  };
}

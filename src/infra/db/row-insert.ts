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

/** Above this many rows per statement the text is built per call (rare: a long run's last flush). */
const CACHED_ROW_COUNTS = 64;

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
    if (rows.length === 0) return;
    let text = texts[rows.length];
    if (text === undefined) {
      text = textFor(rows.length);
      if (rows.length <= CACHED_ROW_COUNTS) texts[rows.length] = text;
    }
    const params: unknown[] = [];
    for (const row of rows) {
      const values = row as unknown as Record<string, unknown>;
      for (const column of columns) params.push(values[column] ?? null);
    }
    await trx.executeQuery(CompiledQuery.raw(text, params));
  };
}

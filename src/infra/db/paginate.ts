/**
 * Stripe-style cursor pagination over ULID ids (which sort by creation): newest first,
 * `starting_after` walks towards older objects, `ending_before` towards newer ones.
 */
import { type SelectQueryBuilder, sql } from 'kysely';

export interface PageParams {
  limit: number;
  starting_after?: string;
  ending_before?: string;
}

export interface Page<R> {
  rows: R[];
  has_more: boolean;
}

export async function paginate<R>(
  qb: SelectQueryBuilder<any, any, R>,
  page: PageParams,
  idColumn = 'id',
): Promise<Page<R>> {
  const id = sql.ref(idColumn);
  let q = qb;
  if (page.ending_before !== undefined) {
    q = q.where(id, '>', page.ending_before).orderBy(id, 'asc');
  } else {
    if (page.starting_after !== undefined) q = q.where(id, '<', page.starting_after);
    q = q.orderBy(id, 'desc');
  }
  const rows = await q.limit(page.limit + 1).execute();
  const has_more = rows.length > page.limit;
  if (has_more) rows.pop();
  if (page.ending_before !== undefined) rows.reverse();
  return { rows, has_more };
}

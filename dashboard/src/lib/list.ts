/**
 * A cursor-paginated list (`starting_after` / `ending_before` on the ids at the page's edges, as
 * every /v2 list takes): pages stay fast however many rows the organization has.
 */
import { useState } from 'react';
import { api, type List, query } from './api';
import { useAsync } from './ui';

type Params = Record<string, string | number | string[] | undefined | null>;

export function useCursorList<T extends { id: string }>(path: string, params: Params, limit = 20) {
  const [cursor, setCursor] = useState<{ after?: string; before?: string }>({});
  const key = JSON.stringify(params);
  const [lastKey, setLastKey] = useState(key);
  if (key !== lastKey) {
    // new filters: back to the first page
    setLastKey(key);
    setCursor({});
  }
  const result = useAsync(
    (signal) =>
      api<List<T>>(
        `${path}${query({ ...params, limit, starting_after: cursor.after, ending_before: cursor.before })}`,
        { signal },
      ),
    [path, key, cursor.after, cursor.before],
  );
  const items = result.data?.data ?? [];
  const more = result.data?.has_more ?? false;
  return {
    ...result,
    items,
    hasNext: cursor.before ? true : more,
    hasPrev: cursor.after ? true : cursor.before ? more : false,
    next: () => items.length && setCursor({ after: items[items.length - 1].id }),
    prev: () => items.length && setCursor({ before: items[0].id }),
    first: () => setCursor({}),
  };
}

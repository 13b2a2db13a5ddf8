/**
 * A small read-through cache for rows read on every request (an agent on every run, an
 * organization on every GET /organization), bounded in size and age.
 *
 * Writers call `invalidate` AFTER their transaction commits. A read that raced a write (started
 * before the commit, finished after the invalidation) is not cached: every invalidation bumps an
 * epoch, and a load whose epoch changed meanwhile returns its value without storing it. So in this
 * process a committed write is seen by the next read; other processes (cluster mode) see it within
 * `ttlMs`.
 */
export interface ReadCache<V> {
  get(key: string, load: () => Promise<V>): Promise<V>;
  invalidate(key?: string): void;
}

export function createReadCache<V>(options: { ttlMs: number; max: number; now: () => number }): ReadCache<V> {
  const entries = new Map<string, { value: V; until: number }>();
  let epoch = 0;
  return {
    async get(key, load) {
      const now = options.now();
      const hit = entries.get(key);
      if (hit && hit.until > now) return hit.value;
      const at = epoch;
      const value = await load();
      if (epoch === at) {
        if (entries.size >= options.max) entries.clear();
        entries.set(key, { value, until: now + options.ttlMs });
      }
      return value;
    },
    invalidate(key) {
      epoch++;
      if (key === undefined) entries.clear();
      else entries.delete(key);
    },
  };
}

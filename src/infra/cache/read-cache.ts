/**
 * A small read-through cache for rows read on every request (an agent on every run, an
 * organization on every GET /organization), bounded in size and age.
 *
 * Writers call `invalidate` AFTER their transaction commits. A read that raced a write (started
 * before the commit, finished after the invalidation) is not cached: every invalidation bumps an
 * epoch, and a load whose epoch changed meanwhile returns its value without storing it. So in this
 * process a committed write is seen by the next read.
 *
 * With `shared` (a bus and a topic naming the cache), `invalidate` is published on the bus, so in
 * cluster mode every process drops the entry within the bus's latency (milliseconds), not the TTL;
 * the TTL stays the bound when a message is lost (Redis pub/sub is at-most-once). The bus delivers
 * to this process synchronously, so the local semantics above are unchanged.
 */
import type { Bus } from '../bus/bus.ts';

export interface ReadCache<V> {
  get(key: string, load: () => Promise<V>): Promise<V>;
  invalidate(key?: string): void;
}

export function createReadCache<V>(options: {
  ttlMs: number;
  max: number;
  now: () => number;
  shared?: { bus: Bus; topic: string };
}): ReadCache<V> {
  const entries = new Map<string, { value: V; until: number }>();
  let epoch = 0;
  const forget = (key?: string) => {
    epoch++;
    if (key === undefined) entries.clear();
    else entries.delete(key);
  };
  const shared = options.shared;
  shared?.bus.subscribe(shared.topic, (m) => forget((m as { key?: string }).key));
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
      if (shared) shared.bus.publish(shared.topic, key === undefined ? {} : { key });
      else forget(key);
    },
  };
}

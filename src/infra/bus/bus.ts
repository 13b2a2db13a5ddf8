/**
 * The Bus port: fire-and-forget publish/subscribe by topic (run events for SSE and sync waiters,
 * cancel signals). Durable state lives in the database; the bus only wakes up listeners, so a lost
 * message costs latency, never correctness (listeners re-read the database).
 */
export type Listener = (message: unknown) => void;

export interface Bus {
  publish(topic: string, message: unknown): void;
  /**
   * Returns the unsubscribe function. `onResync`: messages may have been lost (a remote bus
   * reconnected, or a publisher somewhere could not publish for a while) — re-read the database.
   * The memory bus loses nothing and never calls it.
   */
  subscribe(topic: string, listener: Listener, onResync?: () => void): () => void;
  close(): Promise<void>;
}

export function createMemoryBus(): Bus {
  const topics = new Map<string, Set<Listener>>();
  return {
    publish(topic, message) {
      const listeners = topics.get(topic);
      if (!listeners) return;
      for (const listener of [...listeners]) listener(message);
    },
    subscribe(topic, listener) {
      let listeners = topics.get(topic);
      if (!listeners) {
        listeners = new Set();
        topics.set(topic, listeners);
      }
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
        if (listeners.size === 0) topics.delete(topic);
      };
    },
    async close() {
      topics.clear();
    },
  };
}

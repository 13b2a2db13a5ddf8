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
  /**
   * Resolves once a message published on `topic` from now on, by any process, reaches this
   * process's listeners of it (a remote bus: its subscription is confirmed). Await it before
   * making what publishes there possible — committing the job of a run one waits for — or a message
   * published meanwhile is lost and the wait falls back on its database backstop. Never rejects;
   * a remote bus that cannot confirm (disconnected) resolves anyway: the backstop then covers it.
   */
  ready(topic: string): Promise<void>;
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
    // delivery is synchronous: a listener hears everything published after it subscribed
    ready: async () => {},
    async close() {
      topics.clear();
    },
  };
}

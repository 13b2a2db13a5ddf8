/**
 * The lease sweep (infra/queue/nodes.ts): every lease/2, on the one node that claims the tick
 * (infra/queue/ticks.ts), lost nodes are struck off and every queue frees their locks, so their
 * jobs run again on the live workers. It also runs once at start, unconditionally: a node
 * restarted after a crash recovers its previous life's jobs at once.
 */
import type { NodeRegistry } from './nodes.ts';
import type { Queue } from './queue.ts';
import type { Ticks } from './ticks.ts';

export interface LeaseSweeperDeps {
  nodes: NodeRegistry;
  ticks: Ticks;
  queues: readonly Pick<Queue, 'recover'>[];
  onLost?: (nodeIds: string[]) => void;
  onError?: (err: unknown) => void;
}

export function createLeaseSweeper({ nodes, ticks, queues, onLost, onError }: LeaseSweeperDeps) {
  const intervalMs = Math.max(500, Math.floor(nodes.leaseMs / 2));
  let timer: NodeJS.Timeout | undefined;
  let running = false;

  async function sweep() {
    const lost = await nodes.sweep();
    if (lost.length) onLost?.(lost); // node ids and the queue ids they locked jobs under
    for (const q of queues) await q.recover(lost);
  }

  return {
    intervalMs,
    sweep,
    /** Registers this node's lease, sweeps once, then every interval on the node that wins the tick. */
    async start() {
      await nodes.register();
      await sweep();
      running = true;
      const loop = () => {
        timer = setTimeout(async () => {
          try {
            if (await ticks.claim('lease-sweep', intervalMs)) await sweep();
          } catch (err) {
            onError?.(err);
          }
          if (running) loop();
        }, intervalMs);
        timer.unref();
      };
      loop();
    },
    async stop() {
      running = false;
      clearTimeout(timer);
      await nodes.close();
    },
  };
}

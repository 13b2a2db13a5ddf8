/**
 * The retention sweep: rows that only ever expire (dead web sessions, used-up invitations, idle
 * login-throttle counters) are deleted every 10 minutes, once per cluster (the node that wins the
 * `retention` tick). Expired rows are already refused when read; this only keeps the tables small.
 */
import type { Clock } from '../../clock.ts';
import type { Ticks } from './ticks.ts';

export const RETENTION_INTERVAL_MS = 10 * 60_000;

export interface RetentionDeps {
  ticks: Ticks;
  clock: Clock;
  /** each gets the current time; a failing task does not stop the others */
  tasks: readonly ((now: number) => Promise<void>)[];
  onError?: (err: unknown) => void;
  intervalMs?: number;
}

export function createRetentionSweep({
  ticks,
  clock,
  tasks,
  onError,
  intervalMs = RETENTION_INTERVAL_MS,
}: RetentionDeps) {
  let timer: NodeJS.Timeout | undefined;
  let running = false;
  async function sweep() {
    for (const task of tasks) {
      try {
        await task(clock.now());
      } catch (err) {
        onError?.(err);
      }
    }
  }
  return {
    sweep,
    start() {
      running = true;
      const loop = () => {
        timer = setTimeout(async () => {
          try {
            if (await ticks.claim('retention', intervalMs)) await sweep();
          } catch (err) {
            onError?.(err);
          }
          if (running) loop();
        }, intervalMs);
        timer.unref();
      };
      loop();
    },
    stop() {
      running = false;
      clearTimeout(timer);
    },
  };
}
export type RetentionSweep = ReturnType<typeof createRetentionSweep>;

/**
 * Queue timeouts on time (issue 19, bug 5). A run accepted with `queue_timeout_ms` that no worker
 * has started by `created_at + queue_timeout_ms` ends `expired` at that deadline, whatever the
 * workers are busy with, and its sync caller is answered then (the terminal event wakes it).
 *
 * The deadline lives in the run row (an index on `created_at + queue_timeout_ms` over queued runs,
 * migration 12), so the sweep is durable and cluster-wide: any node's sweep may expire any run,
 * and the write is conditional (`queued` → `expired`, executor.finishQueued), so two sweeps, or a
 * sweep and a worker's own check at pick-up, never both end a run. One timer per process is armed
 * for the earliest deadline known: the next one in the database after each sweep, or an earlier
 * one `watch`ed at accept; a fallback sweep every `pollMs` catches runs other nodes accepted.
 * A run whose job a worker has claimed is left to that worker (it checks the deadline itself when
 * it picks the job up), so a run that started in time is never expired under it.
 *
 * Precision: the timer fires at the deadline; the expiry lands one sweep query and one group
 * commit later (milliseconds on an idle machine). A run accepted on another node is expired within
 * `pollMs` (1 s) of its deadline at worst.
 */
import { sql } from 'kysely';
import type { Clock } from '../clock.ts';
import type { RunExecutor } from '../engine/run-executor.ts';
import type { Db } from '../infra/db/db.ts';
import type { RunStore } from './store.ts';

const BATCH = 100;

export interface QueueExpiryDeps {
  db: Db;
  store: RunStore;
  executor: RunExecutor;
  clock: Clock;
  pollMs?: number;
  onError?: (err: unknown) => void;
}

export function createQueueExpiry({ db, store, executor, clock, pollMs = 1_000, onError }: QueueExpiryDeps) {
  const deadline = sql<number>`created_at + queue_timeout_ms`;
  let running = false;
  let timer: NodeJS.Timeout | undefined;
  let armedFor = Number.POSITIVE_INFINITY;
  let sweeping: Promise<void> | null = null;
  let again = false;

  const queued = () =>
    db.kysely
      .selectFrom('runs')
      .where('status', '=', 'queued')
      .where('queue_timeout_ms', 'is not', null)
      .where(({ not, exists, selectFrom }) =>
        not(
          exists(
            selectFrom('jobs')
              .select('jobs.id')
              .whereRef('jobs.ref_id', '=', 'runs.id')
              .where('jobs.locked_by', 'is not', null),
          ),
        ),
      );

  function arm(at: number) {
    if (!running || at >= armedFor) return;
    clearTimeout(timer);
    armedFor = at;
    timer = setTimeout(
      () => {
        armedFor = Number.POSITIVE_INFINITY;
        void sweep();
      },
      Math.max(0, at - clock.now()),
    );
    timer.unref();
  }

  async function sweepOnce() {
    for (;;) {
      const now = clock.now();
      const due = await queued()
        .selectAll()
        .where(deadline, '<=', now)
        .orderBy(deadline)
        .limit(BATCH)
        .execute();
      for (const run of due) {
        const seq = (await store.lastSeq(run.id)) + 1;
        await executor.finishQueued(
          run,
          'expired',
          {
            error: JSON.stringify({
              code: 'queue_timeout',
              message: `No worker started this run within ${run.queue_timeout_ms} ms`,
            }),
          },
          seq,
        );
      }
      if (due.length < BATCH) break;
    }
    const next = await queued()
      .select(sql<number | null>`MIN(created_at + queue_timeout_ms)`.as('at'))
      .executeTakeFirst();
    const at = next?.at == null ? null : Number(next.at);
    arm(Math.min(at ?? Number.POSITIVE_INFINITY, clock.now() + pollMs));
  }

  function sweep(): Promise<void> {
    if (!running) return Promise.resolve();
    if (sweeping) {
      again = true;
      return sweeping;
    }
    sweeping = (async () => {
      try {
        do {
          again = false;
          await sweepOnce();
        } while (again && running);
      } catch (err) {
        onError?.(err);
        arm(clock.now() + pollMs);
      } finally {
        sweeping = null;
      }
    })();
    return sweeping;
  }

  return {
    /** A run was accepted with a queue timeout: make sure a sweep comes at its deadline. */
    watch(at: number) {
      arm(at);
    },
    /** Sweeps at once (what start-up found overdue), then at each deadline. */
    async start() {
      running = true;
      await sweep();
    },
    async stop() {
      running = false;
      clearTimeout(timer);
      armedFor = Number.POSITIVE_INFINITY;
      await sweeping;
    },
    sweep,
  };
}
export type QueueExpiry = ReturnType<typeof createQueueExpiry>;

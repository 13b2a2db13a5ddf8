/**
 * Group commit: many small, independent write units share one transaction.
 *
 * A run's terminal write is a handful of tiny statements; on SQLite the COMMIT (writing every
 * touched page to the WAL) costs more than all of them, and on Postgres the round trips and the
 * commit's flush do. Units submitted while a transaction is being written (or in the same turn of
 * the event loop) wait for the next one and commit together: under load one COMMIT serves dozens
 * of runs, idle it adds no delay (the batch starts on the next `setImmediate`).
 *
 * Failure isolation is optimistic: if any unit throws, the whole transaction rolls back and each
 * unit of the batch is retried in a transaction of its own, so only the failing unit's `submit`
 * rejects. A unit must therefore only write through `trx` (it may run twice). A unit's promise
 * resolves only after the COMMIT, so a caller never announces what is not durable. `end` runs once
 * per transaction, last, with what the units put into its context (e.g. the rollups of every run
 * that finished in it, folded into one write).
 */
import type { Kysely } from 'kysely';
import type { Database } from './schema.ts';

export type WriteUnit<T, C> = (trx: Kysely<Database>, context: C) => Promise<T>;

export interface GroupCommitOptions<C> {
  /** a fresh per-batch context */
  begin: () => C;
  /** once per batch, after every unit, inside the transaction */
  end?: (trx: Kysely<Database>, context: C) => Promise<void>;
  /** units per transaction at most */
  maxBatch?: number;
  /**
   * Transactions in flight at once (default 1). SQLite has one writer anyway; on Postgres a few
   * let round trips overlap, and units of different transactions commit in any order.
   */
  concurrency?: number;
}

interface Pending<C> {
  work: WriteUnit<unknown, C>;
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
}

export function createGroupCommit<C>(kysely: Kysely<Database>, options: GroupCommitOptions<C>) {
  const maxBatch = options.maxBatch ?? 256;
  const concurrency = options.concurrency ?? 1;
  const queue: Pending<C>[] = [];
  const writing = new Set<Promise<void>>();
  let scheduled = false;

  /** One transaction for the batch: every unit's result, or the first error (all rolled back). */
  async function attempt(batch: Pending<C>[]): Promise<unknown[]> {
    return kysely.transaction().execute(async (trx) => {
      const context = options.begin();
      const results: unknown[] = [];
      for (const unit of batch) results.push(await unit.work(trx, context));
      await options.end?.(trx, context);
      return results;
    });
  }

  async function writeBatch(batch: Pending<C>[]) {
    try {
      const results = await attempt(batch);
      for (const [i, unit] of batch.entries()) unit.resolve(results[i]);
    } catch (err) {
      if (batch.length === 1) {
        batch[0].reject(err);
        return;
      }
      // someone's unit failed: find out whose, one transaction per unit
      for (const unit of batch) {
        await attempt([unit]).then(
          ([result]) => unit.resolve(result),
          (e: unknown) => unit.reject(e),
        );
      }
    }
  }

  function drain() {
    scheduled = false;
    while (writing.size < concurrency && queue.length > 0) {
      const batch = queue.splice(0, maxBatch);
      const done: Promise<void> = writeBatch(batch).finally(() => {
        writing.delete(done);
        if (queue.length) schedule();
      });
      writing.add(done);
    }
  }

  function schedule() {
    if (scheduled) return;
    scheduled = true;
    setImmediate(drain);
  }

  return {
    /** Runs `work` in the next group transaction; resolves with its result once committed. */
    submit<T>(work: WriteUnit<T, C>): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        queue.push({ work: work as WriteUnit<unknown, C>, resolve: resolve as (v: unknown) => void, reject });
        if (writing.size < concurrency) schedule();
      });
    },
    /** Resolves when everything submitted so far is written (or failed). */
    async flush(): Promise<void> {
      while (writing.size || queue.length) {
        if (writing.size) await Promise.all(writing);
        else drain();
      }
    },
  };
}
export type GroupCommit<C> = ReturnType<typeof createGroupCommit<C>>;

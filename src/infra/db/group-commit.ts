/**
 * Group commit: many small, independent write units share one transaction.
 *
 * A run's terminal write is a handful of tiny statements; on SQLite the COMMIT (writing every
 * touched page to the WAL) costs more than all of them, and on Postgres the round trips and the
 * commit's flush do. Units submitted while a transaction is being written (or in the same turn of
 * the event loop) wait for the next one and commit together: under load one COMMIT serves dozens
 * of runs, idle it adds no delay (the batch starts on the next `setImmediate`).
 *
 * Each unit runs inside its own SAVEPOINT, so a unit that throws is rolled back alone and only
 * its `submit` rejects; the others commit. A unit's promise resolves only after the COMMIT, so a
 * caller never announces what is not durable. `end` runs once per batch, last, in the same
 * transaction, with what the units put into the batch's context (e.g. the rollups of every run
 * that finished in it, folded into one write).
 */
import { type Kysely, sql } from 'kysely';
import type { Database } from './schema.ts';

export type WriteUnit<T, C> = (trx: Kysely<Database>, context: C) => Promise<T>;

export interface GroupCommitOptions<C> {
  /** a fresh per-batch context */
  begin: () => C;
  /** once per batch, after every unit, inside the transaction */
  end?: (trx: Kysely<Database>, context: C) => Promise<void>;
  /** units per transaction at most */
  maxBatch?: number;
}

interface Pending<C> {
  work: WriteUnit<unknown, C>;
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
}

export function createGroupCommit<C>(kysely: Kysely<Database>, options: GroupCommitOptions<C>) {
  const maxBatch = options.maxBatch ?? 256;
  const queue: Pending<C>[] = [];
  let writing: Promise<void> | null = null;
  let scheduled = false;

  async function writeBatch(batch: Pending<C>[]) {
    const outcomes: { ok: boolean; value: unknown }[] = [];
    try {
      await kysely.transaction().execute(async (trx) => {
        outcomes.length = 0;
        const context = options.begin();
        const alone = batch.length === 1;
        for (const unit of batch) {
          if (alone) {
            // one unit: the transaction itself is its savepoint
            outcomes.push({ ok: true, value: await unit.work(trx, context) });
            continue;
          }
          await sql`SAVEPOINT group_unit`.execute(trx);
          try {
            const value = await unit.work(trx, context);
            await sql`RELEASE SAVEPOINT group_unit`.execute(trx);
            outcomes.push({ ok: true, value });
          } catch (err) {
            await sql`ROLLBACK TO SAVEPOINT group_unit`.execute(trx);
            await sql`RELEASE SAVEPOINT group_unit`.execute(trx);
            outcomes.push({ ok: false, value: err });
          }
        }
        await options.end?.(trx, context);
      });
    } catch (err) {
      for (const unit of batch) unit.reject(err);
      return;
    }
    batch.forEach((unit, i) => {
      const outcome = outcomes[i];
      if (outcome.ok) unit.resolve(outcome.value);
      else unit.reject(outcome.value);
    });
  }

  function drain() {
    scheduled = false;
    if (writing || queue.length === 0) return;
    const batch = queue.splice(0, maxBatch);
    writing = writeBatch(batch).finally(() => {
      writing = null;
      if (queue.length) schedule();
    });
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
        if (!writing) schedule();
      });
    },
    /** Resolves when everything submitted so far is written (or failed). */
    async flush(): Promise<void> {
      while (writing || queue.length) {
        if (writing) await writing;
        else drain();
      }
    },
  };
}
export type GroupCommit<C> = ReturnType<typeof createGroupCommit<C>>;

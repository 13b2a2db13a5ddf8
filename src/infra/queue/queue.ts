/**
 * The Queue port, embedded adapter: durable jobs in the `jobs` table of the same database, run by an
 * in-process worker pool.
 *
 * - Durability: a job is inserted in the caller's transaction (with the run it executes), so a run
 *   exists iff its job does; the handler deletes the job in the transaction that ends the work.
 * - No polling delay: `notify()` after commit wakes the pool at once. A slow fallback poll (1 s)
 *   only matters for jobs enqueued by another process (the CLI) or scheduled for later.
 * - Hand-off: a job enqueued with `enqueueClaimed` while the pool has a free slot is inserted
 *   already locked by this pool, and `run(job)` after the commit starts it: no claim query, no
 *   empty poll. Crash-safe like any claimed job (its lock names this node: see Recovery).
 *   `reserve`/`reserveWithin` take the slot without storing the job yet (inline sync runs store
 *   it only if they outlive a few ms); a freed slot goes to a `reserveWithin` waiter or to a
 *   stored job, alternately, so neither can starve the other.
 * - Claiming is one UPDATE … RETURNING of the oldest ready unlocked job (FOR UPDATE SKIP LOCKED on
 *   Postgres), so several pools on one Postgres never take the same job.
 * - Recovery: a lock names the node holding it (`locked_by` = the node id, infra/queue/nodes.ts).
 *   `recover()` frees only the locks of nodes without a live lease — at start and on every lease
 *   sweep — so a node starting next to others on one Postgres never takes their in-flight jobs;
 *   handlers decide what a re-run means (see the run executor).
 * - Stop: no new claims; in-flight handlers get `graceMs` to finish, then their signal aborts.
 * - Pools: several queues may share the table, each claiming (and recovering) only its kinds
 *   (`only` / `except`): webhook deliveries run on a pool of their own, so a slow receiver never
 *   takes a run's slot.
 */
import { type Kysely, sql } from 'kysely';
import type { Clock } from '../../clock.ts';
import type { IdFactory } from '../../ids.ts';
import type { Db } from '../db/db.ts';
import type { Database, JobRow } from '../db/schema.ts';
import type { NodeRegistry } from './nodes.ts';

export type JobHandler = (job: JobRow, signal: AbortSignal) => Promise<void>;
/**
 * Called once a job's handler has failed MAX_HANDLER_FAILURES times: brings the work it stood for
 * to a terminal state (e.g. the run `failed`), so nothing accepted stays pending forever because of
 * a bug or a lasting fault. If it throws too, the job is tried again later.
 */
export type GiveUp = (job: JobRow) => Promise<void>;

export interface Queue {
  /** Inserts a job inside the caller's transaction. */
  enqueue(trx: Kysely<Database>, job: { kind: string; ref_id: string; run_at?: number }): Promise<string>;
  /**
   * Inserts a job claimed by this pool when it has a free slot (returns the row: pass it to `run`
   * after the transaction commits, or to `abandon` if it rolled back), else enqueues it for any
   * worker (returns null: call `notify`).
   */
  enqueueClaimed(trx: Kysely<Database>, job: { kind: string; ref_id: string }): Promise<JobRow | null>;
  /**
   * The two halves of `enqueueClaimed`: `reserve` takes a free slot and returns the job row locked
   * by this pool, not yet stored (null: no free slot); `insertClaimed` stores it, in any later
   * transaction. `run` starts it either way; `abandon` gives the slot back if it never runs.
   */
  reserve(job: { kind: string; ref_id: string }): JobRow | null;
  /** `reserve`, waiting up to `ms` for a slot to free (then null) */
  reserveWithin(job: { kind: string; ref_id: string }, ms: number): Promise<JobRow | null>;
  insertClaimed(trx: Kysely<Database>, job: JobRow): Promise<void>;
  /** Starts a job from `enqueueClaimed` once its transaction committed. */
  run(job: JobRow): void;
  /** Gives back the slot of a job from `enqueueClaimed` whose transaction rolled back. */
  abandon(job: JobRow): void;
  /** Call after the enqueuing transaction commits: wakes the pool now. */
  notify(): void;
  /** Deletes a finished job (inside the handler's final transaction). */
  complete(trx: Kysely<Database>, jobId: string): Promise<void>;
  start(handlers: Record<string, JobHandler>, giveUps?: Record<string, GiveUp>): Promise<void>;
  /**
   * Frees the locks held by nodes without a live lease (their rows are gone from `airmy_nodes`:
   * NodeRegistry.sweep; `lost`: the owner ids that sweep just struck off), so their jobs run
   * again; returns how many were freed.
   */
  recover(lost?: readonly string[]): Promise<number>;
  /** Moves a pending (not running) job of `kind` for `ref_id` to now: its wait is over. */
  wake(kind: string, refId: string): Promise<void>;
  stop(graceMs: number): Promise<void>;
  depth(): Promise<number>;
  readonly active: number;
}

export interface QueueOptions {
  db: Db;
  /** this process's worker lease: its id is the owner written into every lock it takes */
  nodes: Pick<NodeRegistry, 'id'>;
  ids: IdFactory;
  clock: Clock;
  concurrency: number;
  pollMs?: number;
  /**
   * A handler that threw (each attempt), a give-up that threw, a failed claim (`{id: 'claim'}`).
   * `stopping`: the handler was aborted by `stop` past the grace period (expected, not a bug).
   */
  onError?: (err: unknown, job: JobRow, info?: { stopping: boolean }) => void;
  /** Claim (and recover) only jobs of these kinds: a pool of their own (webhook deliveries). */
  only?: readonly string[];
  /** Never claim (nor recover) jobs of these kinds: another pool runs them. */
  except?: readonly string[];
}

const RETRY_BACKOFF_MS = 1_000;
const MAX_RETRY_BACKOFF_MS = 60_000;
const MAX_HANDLER_FAILURES = 5;

export function createDbQueue({
  db,
  nodes,
  ids,
  clock,
  concurrency,
  pollMs = 1_000,
  onError,
  only,
  except,
}: QueueOptions): Queue {
  const kysely = db.kysely;
  // the kinds this pool takes, as a condition on `jobs` (several pools may share the table)
  const kindFilter = only?.length
    ? sql`AND kind IN (${sql.join([...only])})`
    : except?.length
      ? sql`AND kind NOT IN (${sql.join([...except])})`
      : sql``;
  const workerId = nodes.id;
  let handlers: Record<string, JobHandler> = {};
  let giveUps: Record<string, GiveUp> = {};
  let running = false;
  let pumping = false;
  let again = false;
  // Whether the table may hold a ready job we have not seen: set by notify() and the fallback poll,
  // cleared when a claim comes back empty. Saves an empty claim query every time a job finishes.
  let dirty = true;
  let timer: NodeJS.Timeout | undefined;
  const inflight = new Map<string, { promise: Promise<void>; abort: AbortController }>();
  // Slots promised to jobs from enqueueClaimed whose transactions have not committed yet.
  let reserved = 0;
  // reserveWithin callers waiting for a slot, oldest first
  const waiters: { job: { kind: string; ref_id: string }; give: (row: JobRow | null) => void }[] = [];
  // alternates freed slots between waiters and stored jobs, so neither starves the other
  let waiterTurn = true;

  function claimedRow(job: { kind: string; ref_id: string }): JobRow {
    const now = clock.now();
    reserved++;
    return {
      id: ids('job'),
      kind: job.kind,
      ref_id: job.ref_id,
      run_at: now,
      locked_by: workerId,
      locked_at: now,
      attempts: 0,
      created_at: now,
    };
  }

  /** A slot freed: a waiting `reserveWithin` gets it, or (every other time, if any) a stored job. */
  function slotFreed() {
    if (!running) return;
    const toWaiter = waiters.length > 0 && (waiterTurn || !dirty);
    waiterTurn = !waiterTurn;
    if (toWaiter && inflight.size + reserved < concurrency) {
      const w = waiters.shift()!;
      w.give(claimedRow(w.job));
    }
    void pump();
  }

  async function claim(): Promise<JobRow | undefined> {
    const now = clock.now();
    const lock = db.dialect === 'postgres' ? sql`FOR UPDATE SKIP LOCKED` : sql``;
    const result = await sql<JobRow>`
      UPDATE jobs SET locked_by = ${workerId}, locked_at = ${now}
      WHERE id = (SELECT id FROM jobs WHERE locked_by IS NULL AND run_at <= ${now} ${kindFilter} ORDER BY run_at, id LIMIT 1 ${lock})
      RETURNING *`.execute(kysely);
    return result.rows[0];
  }

  function schedule(ms: number) {
    if (!running) return;
    clearTimeout(timer);
    timer = setTimeout(() => {
      dirty = true;
      void pump();
    }, ms);
    timer.unref();
  }

  async function pump(): Promise<void> {
    if (!running) return;
    if (pumping) {
      again = true;
      return;
    }
    pumping = true;
    try {
      do {
        again = false;
        while (running && dirty && inflight.size + reserved < concurrency) {
          const job = await claim();
          if (!job) {
            dirty = false;
            break;
          }
          execute(job);
        }
      } while (again && running);
    } catch (err) {
      onError?.(err, { id: 'claim' } as JobRow);
    } finally {
      pumping = false;
    }
    schedule(pollMs);
  }

  function execute(job: JobRow) {
    const abort = new AbortController();
    const handler = handlers[job.kind];
    const promise = (async () => {
      try {
        if (!handler) throw new Error(`no handler for job kind '${job.kind}'`);
        await handler(job, abort.signal);
      } catch (err) {
        onError?.(err, job, { stopping: abort.signal.aborted });
        await release(job).catch((e) => onError?.(e, job));
      } finally {
        inflight.delete(job.id);
        slotFreed();
      }
    })();
    inflight.set(job.id, { promise, abort });
  }

  /** A handler that threw: retry later, a bounded number of times. */
  async function release(job: JobRow) {
    if (job.attempts + 1 >= MAX_HANDLER_FAILURES) {
      try {
        await giveUps[job.kind]?.(job);
        await kysely.deleteFrom('jobs').where('id', '=', job.id).execute();
        return;
      } catch (err) {
        onError?.(err, job); // could not end it either: try the job again later
      }
    }
    await kysely
      .updateTable('jobs')
      .set({
        locked_by: null,
        locked_at: null,
        attempts: job.attempts + 1,
        run_at: clock.now() + Math.min(RETRY_BACKOFF_MS * 2 ** job.attempts, MAX_RETRY_BACKOFF_MS),
      })
      .where('id', '=', job.id)
      .execute();
  }

  return {
    get active() {
      return inflight.size;
    },
    async enqueue(trx, job) {
      const id = ids('job');
      const now = clock.now();
      await trx
        .insertInto('jobs')
        .values({
          id,
          kind: job.kind,
          ref_id: job.ref_id,
          run_at: job.run_at ?? now,
          locked_by: null,
          locked_at: null,
          attempts: 0,
          created_at: now,
        })
        .execute();
      return id;
    },
    reserve(job) {
      if (!running || inflight.size + reserved >= concurrency) return null;
      return claimedRow(job);
    },
    reserveWithin(job, ms) {
      const now = this.reserve(job);
      if (now || !running) return Promise.resolve(now);
      return new Promise((resolve) => {
        const waiter = { job, give: (row: JobRow | null) => resolve(row) };
        const timer = setTimeout(() => {
          waiters.splice(waiters.indexOf(waiter), 1);
          resolve(null);
        }, ms);
        waiter.give = (row) => {
          clearTimeout(timer);
          resolve(row);
        };
        waiters.push(waiter);
      });
    },
    async insertClaimed(trx, job) {
      await trx.insertInto('jobs').values(job).execute();
    },
    async enqueueClaimed(trx, job) {
      const row = this.reserve(job);
      if (!row) {
        await this.enqueue(trx, job);
        return null;
      }
      try {
        await this.insertClaimed(trx, row);
      } catch (err) {
        reserved--;
        throw err;
      }
      return row;
    },
    run(job) {
      reserved--;
      // Stopped meanwhile: the job stays locked, and the next start runs it (locks are cleared).
      if (running) execute(job);
    },
    abandon() {
      reserved--;
      slotFreed();
    },
    notify() {
      dirty = true;
      if (running) queueMicrotask(() => void pump());
    },
    async complete(trx, jobId) {
      await trx.deleteFrom('jobs').where('id', '=', jobId).execute();
    },
    async recover() {
      const r = await sql`UPDATE jobs SET locked_by = NULL, locked_at = NULL
        WHERE locked_by IS NOT NULL ${kindFilter} AND locked_by <> ${workerId}
          AND locked_by NOT IN (SELECT id FROM airmy_nodes)`.execute(kysely);
      const freed = Number(r.numAffectedRows ?? 0);
      if (freed > 0) this.notify();
      return freed;
    },
    async wake(kind, refId) {
      await kysely
        .updateTable('jobs')
        .set({ run_at: clock.now() })
        .where('kind', '=', kind)
        .where('ref_id', '=', refId)
        .where('locked_by', 'is', null)
        .execute();
      this.notify();
    },
    async start(h, g = {}) {
      handlers = h;
      giveUps = g;
      await this.recover();
      running = true;
      dirty = true;
      void pump();
    },
    async stop(graceMs) {
      running = false;
      for (const w of waiters.splice(0)) w.give(null);
      clearTimeout(timer);
      const all = [...inflight.values()];
      const drained = Promise.allSettled(all.map((i) => i.promise));
      const timeout = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), graceMs).unref());
      if ((await Promise.race([drained, timeout])) === 'timeout') {
        for (const i of all) i.abort.abort(new Error('worker stopping'));
        await Promise.race([drained, new Promise((r) => setTimeout(r, 2_000).unref())]);
      }
    },
    async depth() {
      const row = await kysely
        .selectFrom('jobs')
        .select((eb) => eb.fn.countAll().as('n'))
        .executeTakeFirstOrThrow();
      return Number(row.n);
    },
  };
}

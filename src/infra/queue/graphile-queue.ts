/**
 * The Queue port, cluster adapter: graphile-worker (jobs in Postgres, LISTEN/NOTIFY wake-ups,
 * SKIP LOCKED claims) run by a pool in every worker process. Loaded only in cluster mode (a dynamic
 * import in resources.ts): embedded `npm start` never pays for it.
 *
 * - Same transaction: `enqueue` is `SELECT graphile_worker.add_job(...)` through the caller's Kysely
 *   transaction, so a run (a deployment, a webhook delivery…) exists iff its job does — a rolled-back
 *   accept leaves no job, a committed one is run (graphile's insert trigger NOTIFYs every pool).
 * - Job keys where work must not be doubled (`keyedKinds`: runs, deployment checks, schedule
 *   fires): `<kind>:<ref_id>`, graphile's `replace` mode — at most one pending job per thing; a
 *   key added while that job runs makes a new job (a re-check it scheduled for itself).
 * - Completion: graphile deletes a job when its task resolves. `complete(trx, id)` is therefore a
 *   no-op: a crash between the handler's final commit and graphile's delete runs the job again,
 *   and every handler sees its work already done (the conditional writes it already needs for
 *   embedded recovery). Retries: a handler that throws is retried with graphile's backoff; after
 *   MAX_ATTEMPTS the give-up runs and the job ends (as the embedded queue does).
 * - Embedded-only fast paths: `reserve`/`reserveWithin` answer "no slot" (null), so `enqueueClaimed`
 *   is a plain enqueue and `run`/`abandon` are never reached: an API node cannot hand a job to a pool
 *   of its own process without a round-trip through the table (a sync run on a cluster is executed
 *   by whichever worker takes it; the API node waits on the bus, with a database backstop).
 * - Crashed workers: graphile itself unlocks a dead worker's jobs only after 4 hours. Each pool id
 *   is recorded under this node's lease (infra/queue/nodes.ts); `recover(lost)` force-unlocks the
 *   jobs of lost nodes' pools at the lease sweep, and of pools no live node claims (a node that died
 *   before it recorded its pool) once their lock is older than the lease.
 * - Stop: graphile stops fetching at once; in-flight handlers get `graceMs`, then their signal
 *   aborts (the run executor ends such a run `server_shutdown`).
 * - Periodic work is not graphile's crontab (one-minute granularity): see infra/queue/ticks.ts.
 */
import { EventEmitter } from 'node:events';
import { Logger, type Runner, run, runMigrations, type Task } from 'graphile-worker';
import { type Kysely, sql } from 'kysely';
import pg from 'pg';
import type { Clock } from '../../clock.ts';
import type { Db } from '../db/db.ts';
import type { Database, JobRow } from '../db/schema.ts';
import { isDatabaseUnavailable } from '../db/unavailable.ts';
import type { NodeRegistry } from './nodes.ts';
import type { GiveUp, JobHandler, Queue } from './queue.ts';

/** Handler failures before the give-up (the embedded queue's MAX_HANDLER_FAILURES). */
const MAX_ATTEMPTS = 5;
const MIGRATE_LOCK = 7235502;

export interface GraphileQueueOptions {
  db: Db;
  /** the Postgres URL (graphile-worker keeps its own small pool: LISTEN needs a held connection) */
  connectionString: string;
  /** graphile-worker's schema (default `graphile_worker`; tests use one per suite) */
  schema?: string;
  nodes: Pick<NodeRegistry, 'addQueueId' | 'owners' | 'leaseMs'>;
  clock: Clock;
  concurrency: number;
  /** kinds whose jobs carry a job key `<kind>:<ref_id>` (work that must not be doubled) */
  keyedKinds?: readonly string[];
  only?: readonly string[];
  except?: readonly string[];
  pollMs?: number;
  /**
   * graphile-worker's batching (its performance page): `localSize` > 1 fetches and locks that many
   * jobs per query and hands them to the pool's slots from memory; `completeBatchMs` deletes finished
   * (and fails failed) jobs together after that delay. A worker killed meanwhile holds those locks
   * a little longer: the lease sweep frees them like any other (`recover`), and a finished job run
   * again finds its work done. Off by default (docs/cluster.md#performance says what they measured).
   */
  batching?: { localSize: number; completeBatchMs: number | null };
  onError?: (err: unknown, job: JobRow) => void;
}

function schemaName(schema: string | undefined): string {
  const s = schema ?? 'graphile_worker';
  if (!/^[a-z_][a-z0-9_]*$/.test(s)) throw new Error(`invalid graphile-worker schema name: ${s}`);
  return s;
}

/** graphile-worker logs through this: errors and warnings to stderr as JSON lines, nothing else. */
const quietLogger = new Logger(() => (level, message) => {
  if (level === 'error' || level === 'warning')
    process.stderr.write(`${JSON.stringify({ level, msg: `graphile-worker: ${message}` })}\n`);
});

/**
 * graphile-worker records a job's end (completeJob, failJob) without awaiting it, and retries only
 * the error codes it knows to be transient (57P03 cannot_connect_now, ETIMEDOUT…). A connection
 * terminated under that write (57P01 from pg_terminate_backend or a restart, "Connection terminated
 * unexpectedly"), or refused (53300 too many clients), was rejected unhandled: the worker process died, and the job stayed locked until
 * this node's lease lapsed (issue 14). So a query that met a lost connection fails here with the
 * code graphile retries (the original is kept as `lostCode`): the write is tried again on a fresh
 * connection (the pool drops the dead one) with graphile's backoff, until Postgres answers. Both
 * writes are single idempotent statements, so a retry after a commit whose answer was lost is safe.
 */
function retriedWhenLost(err: unknown): never {
  if (isDatabaseUnavailable(err) && typeof err === 'object' && err !== null) {
    const e = err as { code?: string; lostCode?: string };
    if (e.code !== RETRIED_CODE) Object.assign(e, { lostCode: e.code, code: RETRIED_CODE });
  }
  throw err;
}

/** Every query of the pool's clients, and the pool's own connect, fail that way (see above). */
function retriedPool(pool: pg.Pool) {
  const connect = pool.connect.bind(pool) as (...args: unknown[]) => unknown;
  // with a callback (pg-pool's own `query` uses that form) it stays as it is
  (pool as unknown as { connect: (...args: unknown[]) => unknown }).connect = (...args) =>
    args.length ? connect(...args) : (connect() as Promise<unknown>).catch(retriedWhenLost);
  pool.on('connect', (client) => {
    const query = client.query.bind(client) as (...args: unknown[]) => unknown;
    (client as unknown as { query: (...args: unknown[]) => unknown }).query = (...args) => {
      const result = query(...args);
      return result instanceof Promise ? result.catch(retriedWhenLost) : result;
    };
  });
}
/** one of graphile-worker's RETRYABLE_ERROR_CODES: cannot_connect_now */
const RETRIED_CODE = '57P03';

/** A dropped connection (Postgres restarted, backend terminated) is an event, not a crash. */
function quietPool(pool: pg.Pool, onError: (err: unknown) => void = () => {}) {
  pool.on('error', onError);
  pool.on('connect', (client) => client.on('error', onError));
  retriedPool(pool);
}

/**
 * Installs or upgrades graphile-worker's schema, once even when several nodes start together (its
 * own migrations may race: an advisory lock makes the nodes take turns, like ours in db.ts).
 */
export async function installGraphileSchema(connectionString: string, schema?: string): Promise<void> {
  const client = new pg.Client({ connectionString });
  await client.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATE_LOCK]);
    const pool = new pg.Pool({ connectionString, max: 1 });
    quietPool(pool);
    try {
      await runMigrations({ pgPool: pool, schema: schemaName(schema), logger: quietLogger });
    } finally {
      await pool.end();
    }
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [MIGRATE_LOCK]).catch(() => {});
    await client.end();
  }
}

/**
 * Jobs by kind (graphile's task identifier) and state, for the queue-depth gauge: `running` is a job
 * a worker locked (in a local queue too), `queued` one that is not locked yet — waiting to run now,
 * or later (a retry's backoff, a schedule), like the embedded `jobs` table counts it. A job past its
 * last attempt (a give-up that threw too: graphile keeps it, failed, for an operator) waits for
 * nothing and is not counted.
 */
export async function graphileQueueDepth(
  db: Db,
  schema?: string,
): Promise<{ kind: string; state: 'queued' | 'running'; n: number }[]> {
  const gw = sql.raw(`"${schemaName(schema)}"`);
  const r = await sql<{ kind: string; state: 'queued' | 'running'; n: number }>`
    SELECT task_identifier AS kind, CASE WHEN locked_at IS NULL THEN 'queued' ELSE 'running' END AS state,
      count(*)::int AS n
    FROM ${gw}.jobs WHERE attempts < max_attempts OR locked_at IS NOT NULL
    GROUP BY 1, 2`.execute(db.kysely);
  return r.rows.map((row) => ({ ...row, n: Number(row.n) }));
}

export function createGraphileQueue(options: GraphileQueueOptions): Queue {
  const { db, connectionString, nodes, clock, concurrency, only, except, pollMs = 1_000, onError } = options;
  const batching = options.batching ?? { localSize: 0, completeBatchMs: null };
  const schema = schemaName(options.schema);
  const gw = sql.raw(`"${schema}"`);
  const keyed = new Set(options.keyedKinds ?? []);
  let runner: Runner | null = null;
  let pool: pg.Pool | null = null;
  let running = false;
  const inflight = new Map<string, { promise: Promise<void>; abort: AbortController }>();

  const takes = (kind: string) =>
    only?.length ? only.includes(kind) : except?.length ? !except.includes(kind) : true;

  function taskFor(kind: string, handler: JobHandler, giveUp: GiveUp | undefined): Task {
    return async (payload, helpers) => {
      const j = helpers.job;
      const job: JobRow = {
        id: `gw_${j.id}`,
        kind,
        ref_id: String((payload as { ref_id?: unknown }).ref_id),
        run_at: new Date(j.run_at).getTime(),
        locked_by: j.locked_by,
        locked_at: j.locked_at ? new Date(j.locked_at).getTime() : clock.now(),
        attempts: j.attempts - 1, // graphile counts the attempt being made
        created_at: new Date(j.created_at).getTime(),
      };
      const abort = new AbortController();
      let done!: () => void;
      const promise = new Promise<void>((r) => {
        done = r;
      });
      inflight.set(job.id, { promise, abort });
      try {
        await handler(job, abort.signal);
      } catch (err) {
        onError?.(err, job);
        if (j.attempts >= j.max_attempts && giveUp) {
          // what the job stood for ends failed; if that throws too, graphile keeps the job (failed)
          await giveUp(job);
          return;
        }
        throw err;
      } finally {
        inflight.delete(job.id);
        done();
      }
    };
  }

  async function enqueue(trx: Kysely<Database>, job: { kind: string; ref_id: string; run_at?: number }) {
    const runAt = job.run_at === undefined ? sql`NULL` : sql`to_timestamp(${job.run_at}::float8 / 1000)`;
    const key = keyed.has(job.kind) ? `${job.kind}:${job.ref_id}` : null;
    const r = await sql<{ id: string }>`
      SELECT (${gw}.add_job(${job.kind}, json_build_object('ref_id', ${job.ref_id}::text),
        run_at => ${runAt}, max_attempts => ${MAX_ATTEMPTS}, job_key => ${key}::text)).id AS id`.execute(trx);
    return `gw_${r.rows[0].id}`;
  }

  return {
    get active() {
      return inflight.size;
    },
    enqueue,
    // embedded-only fast paths: never a slot here (see the top of this file)
    reserve: () => null,
    reserveWithin: async () => null,
    async insertClaimed(trx, job) {
      await enqueue(trx, job);
    },
    async enqueueClaimed(trx, job) {
      await enqueue(trx, job);
      return null;
    },
    run() {},
    abandon() {},
    // graphile's insert trigger NOTIFYs the pools: nothing to wake by hand
    notify() {},
    async complete() {},
    async wake(kind, refId) {
      if (!keyed.has(kind)) return;
      await sql`SELECT ${gw}.reschedule_jobs(
        ARRAY(SELECT id FROM ${gw}.jobs WHERE key = ${`${kind}:${refId}`} AND locked_at IS NULL),
        run_at => now())`.execute(db.kysely);
    },
    async recover(lost = []) {
      const owners = await nodes.owners();
      const cutoff = clock.now() - nodes.leaseMs;
      const locks = await sql<{ locked_by: string; locked_at: Date }>`
        SELECT locked_by, min(locked_at) AS locked_at FROM ${gw}.jobs
        WHERE locked_by IS NOT NULL GROUP BY locked_by`.execute(db.kysely);
      const stale = locks.rows
        .filter(
          (l) =>
            lost.includes(l.locked_by) ||
            (!owners.has(l.locked_by) && new Date(l.locked_at).getTime() < cutoff),
        )
        .map((l) => l.locked_by);
      if (stale.length === 0) return 0;
      await sql`SELECT ${gw}.force_unlock_workers(${stale}::text[])`.execute(db.kysely);
      return stale.length;
    },
    async start(handlers, giveUps = {}) {
      const taskList: Record<string, Task> = {};
      for (const [kind, handler] of Object.entries(handlers))
        if (takes(kind)) taskList[kind] = taskFor(kind, handler, giveUps[kind]);
      pool = new pg.Pool({ connectionString, max: Math.min(concurrency, 8) + 2 });
      quietPool(pool, (err) => onError?.(err, { id: 'pool' } as JobRow));
      const events = new EventEmitter();
      // the pool's id is the owner of its job locks: recorded under this node's lease
      events.on('pool:create', ({ workerPool }: { workerPool: { id: string } }) => {
        nodes.addQueueId(workerPool.id).catch((err) => onError?.(err, { id: 'lease' } as JobRow));
      });
      runner = await run({
        pgPool: pool,
        schema,
        concurrency,
        pollInterval: pollMs,
        noHandleSignals: true,
        taskList,
        logger: quietLogger,
        events: events as never,
        // our own grace period aborts handlers (stop); graphile's must not come first
        gracefulShutdownAbortTimeout: 24 * 3600 * 1000,
        preset: {
          worker: {
            ...(batching.localSize > 1 && { localQueue: { size: batching.localSize } }),
            ...(batching.completeBatchMs !== null && {
              completeJobBatchDelay: batching.completeBatchMs,
              failJobBatchDelay: batching.completeBatchMs,
            }),
          },
        },
      });
      running = true;
    },
    async stop(graceMs) {
      if (!running || !runner) return;
      running = false;
      const stopping = runner.stop();
      const all = [...inflight.values()];
      const drained = Promise.allSettled(all.map((i) => i.promise));
      const timeout = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), graceMs).unref());
      if ((await Promise.race([drained, timeout])) === 'timeout') {
        for (const i of all) i.abort.abort(new Error('worker stopping'));
      }
      await Promise.race([
        stopping.catch(() => {}),
        new Promise((r) => setTimeout(r, graceMs + 5_000).unref()),
      ]);
      await pool?.end().catch(() => {});
    },
    async depth() {
      const r = await sql<{ n: number }>`SELECT count(*)::int AS n FROM ${gw}.jobs`.execute(db.kysely);
      return Number(r.rows[0].n);
    },
  };
}

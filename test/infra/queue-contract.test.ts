/**
 * The Queue port's contract, passed by both adapters: the embedded queue (on SQLite and on
 * Postgres) and graphile-worker (cluster mode). A job enqueued in a transaction that rolls back
 * never runs; a committed one runs once; no more than `concurrency` handlers run at once; stop
 * lets in-flight handlers finish within the grace period and aborts them past it; a job locked by
 * a lost node is run again after recovery. The embedded-only fast paths (`reserve`) are allowed to
 * answer "no slot": graphile's always does.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { systemClock } from '../../src/clock.ts';
import { createIdFactory } from '../../src/ids.ts';
import { createDb, type Db } from '../../src/infra/db/db.ts';
import type { JobRow } from '../../src/infra/db/schema.ts';
import { createGraphileQueue, installGraphileSchema } from '../../src/infra/queue/graphile-queue.ts';
import { createNodeRegistry, type NodeRegistry } from '../../src/infra/queue/nodes.ts';
import { createDbQueue, type JobHandler, type Queue } from '../../src/infra/queue/queue.ts';
import { PG_URL, probePostgres } from '../support/harness.ts';

type Adapter = 'embedded-sqlite' | 'embedded-postgres' | 'graphile';

async function admin(sqlText: string) {
  const c = new pg.Client({ connectionString: PG_URL });
  await c.connect();
  try {
    await c.query(sqlText);
  } finally {
    await c.end();
  }
}

async function until(cond: () => boolean | Promise<boolean>, what: string, ms = 30_000) {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function contract(adapter: Adapter) {
  const ids = createIdFactory();
  const schema = `qc_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
  let db: Db;
  let nodes: NodeRegistry;
  const queues: Queue[] = [];

  before(async () => {
    if (adapter === 'embedded-sqlite') db = createDb('sqlite::memory:');
    else {
      await admin(`CREATE SCHEMA ${schema}`);
      db = createDb(PG_URL, { schema, poolSize: 5 });
    }
    await db.migrate();
    if (adapter === 'graphile') await installGraphileSchema(PG_URL, `gw_${schema}`);
    nodes = createNodeRegistry({
      db,
      clock: systemClock,
      id: ids('job').replace('job_', 'wrk_'),
      role: 'test',
      leaseMs: 15_000,
    });
    await nodes.register();
  });
  after(async () => {
    for (const q of queues) await q.stop(0);
    await nodes.close();
    await db.close();
    if (adapter !== 'embedded-sqlite') {
      await admin(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await admin(`DROP SCHEMA IF EXISTS gw_${schema} CASCADE`);
    }
  });

  /** A started queue of this adapter taking `kinds` (each test its own kinds: pools never mix). */
  async function startQueue(handlers: Record<string, JobHandler>, concurrency = 4): Promise<Queue> {
    const only = Object.keys(handlers);
    const q =
      adapter === 'graphile'
        ? createGraphileQueue({
            db,
            connectionString: PG_URL,
            schema: `gw_${schema}`,
            nodes,
            clock: systemClock,
            concurrency,
            only,
            pollMs: 100,
          })
        : createDbQueue({ db, nodes, ids, clock: systemClock, concurrency, only, pollMs: 100 });
    await q.start(handlers);
    queues.push(q);
    return q;
  }

  const enqueue = (q: Queue, kind: string, ref: string) =>
    db.kysely.transaction().execute((trx) => q.enqueue(trx, { kind, ref_id: ref }));

  /** A handler that records each ref and ends its job in a transaction of its own, as real ones do. */
  function recorder(
    q: () => Queue,
    seen: string[],
    work?: (job: JobRow, signal: AbortSignal) => Promise<void>,
  ) {
    return async (job: JobRow, signal: AbortSignal) => {
      await work?.(job, signal);
      seen.push(job.ref_id);
      await db.kysely.transaction().execute((trx) => q().complete(trx, job.id));
    };
  }

  test('a job enqueued in a rolled-back transaction never runs; a committed one runs once', async () => {
    const seen: string[] = [];
    let q!: Queue;
    q = await startQueue({ c_once: recorder(() => q, seen) });
    await assert.rejects(
      db.kysely.transaction().execute(async (trx) => {
        await q.enqueue(trx, { kind: 'c_once', ref_id: 'rolled-back' });
        throw new Error('rollback');
      }),
      /rollback/,
    );
    for (let i = 0; i < 20; i++) await enqueue(q, 'c_once', `r${i}`);
    q.notify();
    await until(() => seen.length >= 20, 'every committed job ran');
    // a sentinel enqueued last ran too: anything enqueued before it had its chance
    await enqueue(q, 'c_once', 'sentinel');
    q.notify();
    await until(() => seen.includes('sentinel'), 'the sentinel ran');
    await until(async () => (await q.depth()) === 0, 'no job left');
    assert.equal(seen.includes('rolled-back'), false);
    assert.deepEqual(
      seen.filter((r) => r !== 'sentinel').sort(),
      Array.from({ length: 20 }, (_, i) => `r${i}`).sort(),
      'each committed job ran exactly once',
    );
  });

  test('no more than `concurrency` handlers at once', async () => {
    const seen: string[] = [];
    let active = 0;
    let peak = 0;
    let q!: Queue;
    q = await startQueue(
      {
        c_conc: recorder(
          () => q,
          seen,
          async () => {
            active++;
            peak = Math.max(peak, active);
            await new Promise((r) => setTimeout(r, 150));
            active--;
          },
        ),
      },
      2,
    );
    for (let i = 0; i < 6; i++) await enqueue(q, 'c_conc', `c${i}`);
    q.notify();
    await until(() => seen.length === 6, 'all six ran');
    assert.equal(peak, 2);
  });

  test('the embedded-only fast path may answer "no slot"; enqueueClaimed then enqueues', async () => {
    const seen: string[] = [];
    let q!: Queue;
    q = await startQueue({ c_claim: recorder(() => q, seen) });
    const slot = q.reserve({ kind: 'c_claim', ref_id: 'x' });
    if (slot) q.abandon(slot);
    if (adapter === 'graphile') assert.equal(slot, null);
    const claimed = await db.kysely
      .transaction()
      .execute((trx) => q.enqueueClaimed(trx, { kind: 'c_claim', ref_id: 'claimed' }));
    if (claimed) q.run(claimed);
    else q.notify();
    await until(() => seen.includes('claimed'), 'the claimed job ran');
  });

  test('stop lets an in-flight handler finish within the grace period, aborts it past it', async () => {
    let finished = false;
    let aborted = false;
    let started = 0;
    let q!: Queue;
    q = await startQueue({
      c_stop: async (job, signal) => {
        started++;
        const ms = job.ref_id === 'short' ? 300 : 20_000;
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, ms);
          signal.addEventListener('abort', () => {
            clearTimeout(t);
            aborted = true;
            resolve();
          });
        });
        if (!signal.aborted) finished = true;
        await db.kysely.transaction().execute((trx) => q.complete(trx, job.id));
      },
    });
    await enqueue(q, 'c_stop', 'short');
    q.notify();
    await until(() => started === 1, 'the job started');
    await q.stop(10_000);
    assert.equal(finished, true, 'drained');
    assert.equal(aborted, false);

    let q2!: Queue;
    let started2 = false;
    let aborted2 = false;
    q2 = await startQueue({
      c_stop2: async (job, signal) => {
        started2 = true;
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, 20_000);
          signal.addEventListener('abort', () => {
            clearTimeout(t);
            aborted2 = true;
            resolve();
          });
        });
        await db.kysely.transaction().execute((trx) => q2.complete(trx, job.id));
      },
    });
    await enqueue(q2, 'c_stop2', 'long');
    q2.notify();
    await until(() => started2, 'the long job started');
    await q2.stop(100);
    assert.equal(aborted2, true, 'aborted past the grace period');
  });

  if (adapter !== 'graphile')
    test('a job locked by a node without a lease runs again after recover(); a live node’s lock is left alone', async () => {
      const seen: string[] = [];
      let q!: Queue;
      q = await startQueue({ c_rec: recorder(() => q, seen) });
      const now = Date.now();
      const row = (id: string, lockedBy: string) => ({
        id,
        kind: 'c_rec',
        ref_id: id,
        run_at: now,
        locked_by: lockedBy,
        locked_at: now,
        attempts: 0,
        created_at: now,
      });
      await db.kysely
        .insertInto('jobs')
        .values([row(ids('job'), 'wrk_gone'), row(ids('job'), nodes.id)])
        .execute();
      assert.equal(await q.recover([]), 1);
      await until(() => seen.length === 1, 'the lost node’s job ran');
      const left = await db.kysely
        .selectFrom('jobs')
        .select('locked_by')
        .where('kind', '=', 'c_rec')
        .execute();
      assert.deepEqual(
        left.map((r) => r.locked_by),
        [nodes.id],
      );
    });
}

describe('queue contract [embedded-sqlite]', () => contract('embedded-sqlite'));
describe('queue contract [embedded-postgres]', async () => {
  if (!(await probePostgres())) {
    if (process.env.CI) throw new Error(`Postgres at ${PG_URL} is unreachable`);
    return;
  }
  contract('embedded-postgres');
});
describe('queue contract [graphile-worker]', async () => {
  if (!(await probePostgres())) {
    if (process.env.CI) throw new Error(`Postgres at ${PG_URL} is unreachable`);
    return;
  }
  contract('graphile');
});

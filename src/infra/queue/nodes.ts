/**
 * Worker leases: every process that executes jobs registers itself in `airmy_nodes` and renews
 * its row (the heartbeat) every lease/3. A job lock names the node holding it (`jobs.locked_by`,
 * or graphile-worker's worker id, which is the node id too), so recovery can tell a lock whose
 * owner is alive from one whose owner died:
 *
 * - a node is **lost** when its heartbeat is older than the lease (AIRMY_RUN_LEASE_MS, 15 s), or at
 *   once when it ran on this very machine (same boot id and pid namespace) and its pid is gone —
 *   kill -9 followed by a restart on the same host costs no wait;
 * - `sweep()` deletes lost nodes' rows and returns their ids: the queue then frees their locks, and
 *   the jobs run again elsewhere (the run executor decides what a re-run means: a run that was
 *   marked running ends `failed worker_lost`, one never started just runs);
 * - a node that was declared lost while it was only slow (a long GC pause, a network partition)
 *   finds its row gone at its next heartbeat (`onLost`): its late writes are refused anyway (every
 *   run transition is conditional on the run's status and attempt), and it registers again.
 *
 * The bound: a dead worker's job is free again at most lease + sweep interval (lease/2) after its
 * last heartbeat, i.e. ≤ 1.5 × lease (22.5 s with the default) plus the time a free worker needs to
 * take it. Clocks: heartbeats are written with each node's clock; keep nodes NTP-synced (a skew of
 * a few seconds only shortens or lengthens the lease by as much).
 *
 * This replaces "every lock is stale at start" (true only for one process alone on its database):
 * with it, a second server started against the same Postgres cleared the first one's locks and all
 * of its in-flight runs ended `worker_lost` (issue 14).
 */
import { readFileSync, readlinkSync } from 'node:fs';
import { hostname } from 'node:os';
import type { Clock } from '../../clock.ts';
import type { Db } from '../db/db.ts';

export interface NodeRegistry {
  readonly id: string;
  readonly leaseMs: number;
  register(): Promise<void>;
  /** Records another id this node locks jobs under (a graphile-worker pool's). */
  addQueueId(queueId: string): Promise<void>;
  /**
   * Deletes the rows of lost nodes; returns every id they locked jobs under (node ids and their
   * queue ids): those locks are to be freed.
   */
  sweep(): Promise<string[]>;
  /** Every id live nodes lock jobs under (node ids and queue ids, this node's included). */
  owners(): Promise<Set<string>>;
  close(): Promise<void>;
}

export interface NodeRegistryOptions {
  db: Db;
  clock: Clock;
  id: string;
  role: string;
  leaseMs: number;
  /** this node's row was gone at a heartbeat: it had been declared lost */
  onLost?: () => void;
  onError?: (err: unknown) => void;
}

/** Boot id + pid namespace: two processes with the same value see each other's pids. */
function machineIdentity(): string {
  try {
    const boot = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    const ns = readlinkSync('/proc/self/ns/pid');
    return `${boot}/${ns}`;
  } catch {
    // no /proc: pids cannot be checked; such nodes are judged by their heartbeat alone
    return `${hostname()}/unknown/${Math.random().toString(36).slice(2)}`;
  }
}

function pidGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

export function createNodeRegistry({
  db,
  clock,
  id,
  role,
  leaseMs,
  onLost,
  onError,
}: NodeRegistryOptions): NodeRegistry {
  const k = db.kysely;
  const machine = machineIdentity();
  const checkable = !machine.includes('/unknown/');
  let timer: NodeJS.Timeout | undefined;
  let registered = false;
  const queueIds: string[] = [];

  async function insert() {
    const now = clock.now();
    const queues = queueIds.join(',');
    await k
      .insertInto('airmy_nodes')
      .values({ id, role, machine, pid: process.pid, started_at: now, heartbeat_at: now, queues })
      .onConflict((oc) => oc.column('id').doUpdateSet({ heartbeat_at: now, queues }))
      .execute();
  }

  async function beat() {
    const r = await k
      .updateTable('airmy_nodes')
      .set({ heartbeat_at: clock.now() })
      .where('id', '=', id)
      .executeTakeFirst();
    if (Number(r.numUpdatedRows) === 0) {
      onLost?.();
      await insert();
    }
  }

  return {
    id,
    leaseMs,
    async register() {
      await insert();
      registered = true;
      const every = Math.max(250, Math.floor(leaseMs / 3));
      const tick = () => {
        timer = setTimeout(() => {
          beat()
            .catch((err) => onError?.(err))
            .finally(() => {
              if (registered) tick();
            });
        }, every);
        timer.unref();
      };
      tick();
    },
    async addQueueId(queueId) {
      queueIds.push(queueId);
      await k
        .updateTable('airmy_nodes')
        .set({ queues: queueIds.join(',') })
        .where('id', '=', id)
        .execute();
    },
    async sweep() {
      const now = clock.now();
      const rows = await k
        .selectFrom('airmy_nodes')
        .select(['id', 'machine', 'pid', 'heartbeat_at', 'queues'])
        .execute();
      const lost = rows.filter((r) => {
        if (r.id === id) return false;
        const here = checkable && r.machine === machine;
        // another resource set of this very process (tests) is alive, whatever its clock says
        if (here && Number(r.pid) === process.pid) return false;
        return r.heartbeat_at < now - leaseMs || (here && pidGone(Number(r.pid)));
      });
      if (lost.length)
        await k
          .deleteFrom('airmy_nodes')
          .where(
            'id',
            'in',
            lost.map((r) => r.id),
          )
          .execute();
      return lost.flatMap((r) => [r.id, ...r.queues.split(',').filter(Boolean)]);
    },
    async owners() {
      const rows = await k.selectFrom('airmy_nodes').select(['id', 'queues']).execute();
      return new Set(rows.flatMap((r) => [r.id, ...r.queues.split(',').filter(Boolean)]));
    },
    async close() {
      registered = false;
      clearTimeout(timer);
      // a clean stop: nothing of ours is locked any more, the row can go now
      await k
        .deleteFrom('airmy_nodes')
        .where('id', '=', id)
        .execute()
        .catch((err) => onError?.(err));
    },
  };
}

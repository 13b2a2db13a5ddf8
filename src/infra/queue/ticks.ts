/**
 * Once-per-cluster periodic work. Every node that runs a periodic task (lease sweeps, alert
 * evaluation) calls `claim(name, intervalMs)` on its own timer; the claim is one conditional upsert
 * on `airmy_ticks` that moves the task's due time forward only if it has passed, so of all the
 * nodes asking within one interval exactly one gets `true` and runs the task. A node that dies
 * after claiming costs that one tick; the next is claimed by whoever asks first.
 *
 * Why not graphile-worker's crontab: its granularity is one minute, and alert intervals and lease
 * sweeps are seconds; why not keyed jobs: a job key dedupes only while the job exists, so a node
 * late by one tick would add it again after the first one ran.
 */
import { sql } from 'kysely';
import type { Clock } from '../../clock.ts';
import type { Db } from '../db/db.ts';

export interface Ticks {
  /** true: this node runs `name` now (and nobody else until `intervalMs` has passed) */
  claim(name: string, intervalMs: number): Promise<boolean>;
}

export function createTicks(db: Db, clock: Clock): Ticks {
  return {
    async claim(name, intervalMs) {
      const now = clock.now();
      // a small margin: timers of different nodes firing "at the same tick" never both win
      const due = now + intervalMs - Math.min(250, Math.floor(intervalMs / 10));
      const r = await sql<{ name: string }>`
        INSERT INTO airmy_ticks (name, due_at) VALUES (${name}, ${due})
        ON CONFLICT (name) DO UPDATE SET due_at = excluded.due_at WHERE airmy_ticks.due_at <= ${now}
        RETURNING name`.execute(db.kysely);
      return r.rows.length === 1;
    },
  };
}

/**
 * Writes rollups as things finish.
 *
 * Runs and pipeline runs are counted inside the very transaction that stores their terminal state
 * (the run executor's `onFinishBatch`, folding every run its group commit ends, and the pipeline
 * engine's `onTerminalTrx`): the rollups can never disagree with
 * the runs table, even across a crash. Refused requests (429) and calls to deprecated surface have no transaction of their own and
 * happen in bursts, so they are counted in memory and flushed about once a second (and before any
 * metrics query in this process, and on shutdown); a crash loses at most that second.
 */
import type { Kysely } from 'kysely';
import type { Clock } from '../clock.ts';
import type { Db } from '../infra/db/db.ts';
import type { Database, PipelineRunRow, RunRow } from '../infra/db/schema.ts';
import { keyCountDelta, pipelineRunDelta, RollupBatch, runDelta } from './rollup.ts';
import { createBatchWriter } from './store.ts';

const FLUSH_MS = 1000;
type KeyCountKind = 'rate_limited' | 'deprecated_call';
const SERIES_ID_CACHE = 50_000;

export interface MetricsWriterDeps {
  db: Db;
  clock: Clock;
  onError?: (err: unknown) => void;
}

export function createMetricsWriter({ db, clock, onError }: MetricsWriterDeps) {
  /** `${kind}\u001f${orgId}\u001f${keyId}\u001f${status}\u001f${minute}` → counts not yet stored */
  let pending = new Map<string, number>();
  let timer: NodeJS.Timeout | undefined;
  let flushing: Promise<void> = Promise.resolve();
  const writeBatch = createBatchWriter(db.kysely, db.dialect);
  // series ids are hashes of their dimensions: computed once per process, not once per batch
  const seriesIds = new Map<string, string>();

  async function flushNow(): Promise<void> {
    if (timer) clearTimeout(timer);
    timer = undefined;
    if (pending.size === 0) return;
    const taken = pending;
    pending = new Map();
    const batch = new RollupBatch();
    for (const [key, count] of taken) {
      const [kind, orgId, keyId, status, minute] = key.split('\u001f');
      batch.add(keyCountDelta(kind as KeyCountKind, orgId, keyId, status, Number(minute), count));
    }
    try {
      await db.kysely.transaction().execute((trx) => writeBatch(trx, batch));
    } catch (err) {
      // keep the counts for the next flush rather than lose them
      for (const [key, count] of taken) pending.set(key, (pending.get(key) ?? 0) + count);
      throw err;
    }
  }

  function count(kind: KeyCountKind, orgId: string, keyId: string, status: string) {
    const now = clock.now();
    const key = `${kind}\u001f${orgId}\u001f${keyId}\u001f${status}\u001f${now - (now % 60_000)}`;
    pending.set(key, (pending.get(key) ?? 0) + 1);
    if (!timer) {
      timer = setTimeout(() => void flush().catch((err) => onError?.(err)), FLUSH_MS);
      timer.unref();
    }
  }

  /** Flushes are serialised so two never write the same counts. */
  function flush(): Promise<void> {
    flushing = flushing.catch(() => {}).then(flushNow);
    return flushing;
  }

  return {
    /** In the transaction storing these runs' terminal states (run executor `onFinishBatch`). */
    async recordRuns(trx: Kysely<Database>, runs: RunRow[]): Promise<void> {
      if (seriesIds.size > SERIES_ID_CACHE) seriesIds.clear();
      const batch = new RollupBatch(seriesIds);
      for (const run of runs) batch.add(runDelta(run));
      await writeBatch(trx, batch);
    },
    /** In the pipeline run's terminal transaction (pipeline engine `onTerminalTrx`). */
    async recordPipelineRun(trx: Kysely<Database>, row: PipelineRunRow): Promise<void> {
      const batch = new RollupBatch();
      batch.add(pipelineRunDelta(row));
      await writeBatch(trx, batch);
    },
    /** A request refused 429 (the gateway's `onRateLimited`). */
    rateLimited(orgId: string, keyId: string): void {
      count('rate_limited', orgId, keyId, '');
    },
    /** A call that used deprecated surface `surface` (src/http/lifecycle). */
    deprecatedCall(orgId: string, keyId: string, surface: string): void {
      count('deprecated_call', orgId, keyId, surface);
    },
    flush,
    /** Stores what is still buffered; call before closing the database. */
    async close(): Promise<void> {
      await flush().catch((err) => onError?.(err));
    },
  };
}
export type MetricsWriter = ReturnType<typeof createMetricsWriter>;

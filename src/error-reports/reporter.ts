/**
 * Errors reported automatically: every unexpected 5xx answer and every unhandled failure in a
 * worker is recorded once, under a fingerprint that groups its repeats (fingerprint.ts), in the
 * `error_reports` table the operator reads with `airmy errors`; counted in Prometheus
 * (`airmy_errors_reported_total{kind,route}`) and logged with the fingerprint. Call sites add the
 * OpenTelemetry exception event with the redacted facts `report` returns.
 *
 * - Once: a failure is reported the first time any hook hands it in (error handler, queue onError,
 *   run executor…); later hands return null. A failure is the error object within its occurrence
 *   (the request, the job attempt) when the caller names one: the same object thrown again by
 *   another request (a cached rejected promise) is another occurrence, counted again.
 * - Never in the way: `report` never throws, and `stored` never rejects. It settles when the row is
 *   committed, or after STORE_WAIT_MS if the database is slow. The error handler waits for it before
 *   answering, so a report is durable once its 500 is sent (a kill -9 right after loses nothing).
 * - Database down (the likely cause of a 5xx storm): the row joins an in-memory table of unsaved
 *   reports, merged by fingerprint and bounded (MAX_UNSAVED fingerprints; beyond that occurrences
 *   are only counted as dropped), written back on a timer and after the next successful write. The
 *   log line and the Prometheus counter do not depend on the database at all.
 * - Secrets: never a request body or header; messages and stacks are redacted (fingerprint.ts).
 */
import type { Clock } from '../clock.ts';
import type { ErrorReportRow } from '../infra/db/schema.ts';
import { type ErrorFacts, errorFacts, fingerprint } from './fingerprint.ts';
import type { ErrorReportStore } from './store.ts';

/** How long an answer waits for its report to be committed before going out anyway. */
const STORE_WAIT_MS = 1_000;
/** Fingerprints kept in memory while the database refuses writes. */
const MAX_UNSAVED = 256;
const RETRY_MS = 5_000;

export interface ErrorContext {
  kind: 'request' | 'job';
  /** the route pattern (`POST /v2/runs`) or the job kind / background task (`run`, `pipeline.advance`) */
  route: string;
  statusCode?: number;
  requestId?: string;
  runId?: string;
  jobId?: string;
  orgId?: string;
  traceId?: string;
}

export interface Reported {
  fingerprint: string;
  facts: ErrorFacts;
  /** settles (never rejects) once committed, kept unsaved in memory, or STORE_WAIT_MS passed */
  stored: Promise<void>;
}

type Log = { error(obj: object, msg: string): void; warn(obj: object, msg: string): void };

export interface ErrorReporterDeps {
  store: ErrorReportStore;
  clock: Clock;
  /** every report, before and whatever the database does (Prometheus) */
  onReported?: (kind: string, route: string) => void;
  /** a report the database refused (kept in memory meanwhile) */
  onStoreFailure?: () => void;
  storeWaitMs?: number;
}

export function createErrorReporter({
  store,
  clock,
  onReported,
  onStoreFailure,
  storeWaitMs = STORE_WAIT_MS,
}: ErrorReporterDeps) {
  // error → true (reported, no occurrence named) or the occurrences it was reported in
  const seen = new WeakMap<object, WeakSet<object> | true>();
  function firstTime(err: unknown, occurrence: object | undefined): boolean {
    if (typeof err !== 'object' || err === null) return true;
    const entry = seen.get(err);
    if (entry === true) return false;
    if (!occurrence) {
      seen.set(err, true);
      return entry === undefined;
    }
    const within = entry ?? new WeakSet<object>();
    if (within.has(occurrence)) return false;
    within.add(occurrence);
    seen.set(err, within);
    return true;
  }
  const unsaved = new Map<string, ErrorReportRow>();
  let dropped = 0;
  let log: Log | null = null;
  let timer: NodeJS.Timeout | undefined;
  let flushing: Promise<void> | null = null;

  function keep(row: ErrorReportRow) {
    const had = unsaved.get(row.fingerprint);
    if (had) {
      unsaved.set(row.fingerprint, {
        ...row,
        count: had.count + row.count,
        first_seen: Math.min(had.first_seen, row.first_seen),
        last_seen: Math.max(had.last_seen, row.last_seen),
      });
    } else if (unsaved.size < MAX_UNSAVED) unsaved.set(row.fingerprint, row);
    else dropped += row.count;
    if (!timer) {
      timer = setTimeout(() => {
        timer = undefined;
        void flush();
      }, RETRY_MS);
      timer.unref();
    }
  }

  function write(row: ErrorReportRow, first: boolean): Promise<void> {
    let attempt: Promise<void>;
    try {
      attempt = store.record(row);
    } catch (err) {
      attempt = Promise.reject(err);
    }
    return attempt.then(
      () => {
        if (first && unsaved.size > 0) void flush();
      },
      (err: unknown) => {
        // one warn line per fingerprint entering memory, not one per occurrence of a storm
        const known = unsaved.has(row.fingerprint);
        keep(row);
        onStoreFailure?.();
        if (first && !known)
          log?.warn(
            { fingerprint: row.fingerprint, err: { message: errorFacts(err).message } },
            'error report kept in memory: the database refused it (retried every 5 s)',
          );
      },
    );
  }

  /** Writes the reports the database refused earlier; they stay in memory if it still does. */
  function flush(): Promise<void> {
    flushing ??= (async () => {
      const rows = [...unsaved.values()];
      unsaved.clear();
      await Promise.all(rows.map((row) => write(row, false)));
    })().finally(() => {
      flushing = null;
    });
    return flushing;
  }

  return {
    /** Where reports are logged (the app's logger; none in the CLI). */
    useLog(logger: Log) {
      log = logger;
    },
    /**
     * Records `err` (null when this failure was reported already). `occurrence`: the request or job
     * row it happened in; `logTo`: the request's logger, so the line carries its bindings.
     */
    report(
      err: unknown,
      ctx: ErrorContext,
      { occurrence, logTo }: { occurrence?: object; logTo?: Log } = {},
    ): Reported | null {
      try {
        if (!firstTime(err, occurrence)) return null;
        const facts = errorFacts(err);
        const fp = fingerprint(ctx.kind, ctx.route, facts);
        const now = clock.now();
        onReported?.(ctx.kind, ctx.route);
        (logTo ?? log)?.error(
          {
            fingerprint: fp,
            kind: ctx.kind,
            route: ctx.route,
            ...(ctx.requestId && { request_id: ctx.requestId }),
            ...(ctx.runId && { run_id: ctx.runId }),
            ...(ctx.jobId && { job_id: ctx.jobId }),
            err: { type: facts.name, message: facts.message, stack: facts.stack },
          },
          ctx.kind === 'request' ? 'internal error (reported)' : 'worker failure (reported)',
        );
        const row: ErrorReportRow = {
          fingerprint: fp,
          kind: ctx.kind,
          route: ctx.route.slice(0, 200),
          error_name: facts.name,
          message: facts.message,
          stack: facts.stack,
          status_code: ctx.statusCode ?? null,
          count: 1,
          first_seen: now,
          last_seen: now,
          request_id: ctx.requestId ?? null,
          run_id: ctx.runId ?? null,
          job_id: ctx.jobId ?? null,
          org_id: ctx.orgId ?? null,
          trace_id: ctx.traceId ?? null,
        };
        const written = write(row, true);
        let wait: NodeJS.Timeout | undefined;
        const stored = Promise.race([
          written,
          new Promise<void>((resolve) => {
            wait = setTimeout(resolve, storeWaitMs);
            wait.unref();
          }),
        ]).finally(() => clearTimeout(wait));
        return { fingerprint: fp, facts, stored };
      } catch {
        return null; // reporting must never be what fails
      }
    },
    flush,
    /** Unsaved fingerprints in memory, and occurrences dropped beyond the bound. */
    stats: () => ({ unsaved: unsaved.size, dropped }),
    /** At shutdown: one last attempt at what the database refused. */
    async close() {
      clearTimeout(timer);
      timer = undefined;
      if (unsaved.size) await flush();
    },
  };
}
export type ErrorReporter = ReturnType<typeof createErrorReporter>;
